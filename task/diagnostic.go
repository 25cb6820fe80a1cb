package task

import (
	"context"
	"os"
	"time"
)

// DiagnosticArgs are the inputs of a diagnostic task: a built-in task that
// walks through its steps reporting progress, for health checks, demos and
// benchmarks. It holds its lock keys while it runs.
type DiagnosticArgs struct {
	Steps      int  `json:"steps"`
	StepMillis int  `json:"stepMillis"`
	Fail       bool `json:"fail"`  // fail after the last step
	Crash      bool `json:"crash"` // die without a result half-way
}

// Diagnostic is the handler of diagnostic tasks.
func Diagnostic(ctx context.Context, run *Run) (map[string]any, error) {
	a, err := DecodeArgs[DiagnosticArgs](run.Task.Args)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for i := 1; i <= a.Steps; i++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(a.StepMillis) * time.Millisecond):
		}
		if a.Crash && i > a.Steps/2 {
			// Exit without a result, as a panic or the OOM killer would.
			_ = run.Logf("crashing on purpose at step %d", i)
			os.Exit(3)
		}
		if err := run.Progress(i*100/a.Steps, "step %d of %d", i, a.Steps); err != nil {
			return nil, err
		}
		if err := run.Logf("step %d of %d done", i, a.Steps); err != nil {
			return nil, err
		}
	}
	if a.Fail {
		return nil, failure(CodeFailed, "failed on purpose after %d steps", a.Steps)
	}
	return map[string]any{"steps": a.Steps, "millis": time.Since(start).Milliseconds()}, nil
}
