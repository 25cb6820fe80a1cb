package docker

import (
	"bytes"
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// DefaultOutputCap is the per-stream output cap Exec uses when given none.
const DefaultOutputCap = 1 << 20

// execPollInterval is how often Exec asks for the exit code once the output
// has ended: the engine can close the stream a moment before it records the
// exit.
const execPollInterval = 20 * time.Millisecond

// ExecResult is the outcome of one command run in a container.
type ExecResult struct {
	ExitCode              int
	Stdout, Stderr        string
	Truncated             bool // some output was dropped past the cap
	StartedAt, FinishedAt time.Time
}

// Exec runs cmd in the running container (docker exec) with the extra
// environment env ("K=V") and waits for it, keeping at most outputCap bytes
// of stdout and of stderr each (outputCap <= 0 means DefaultOutputCap); the
// rest is read and dropped, so the command never blocks on a full pipe.
// A command that cannot be started inside the container (not found, not
// executable) is a result with the shell's exit codes 127 or 126, not an
// error. If ctx ends first, Exec returns its error; the engine has no way to
// kill an exec, so the command may run on.
func (c *Client) Exec(ctx context.Context, id string, cmd []string, env []string, outputCap int) (*ExecResult, error) {
	if len(cmd) == 0 {
		return nil, fmt.Errorf("docker: exec in %s: %w: empty command", id, ErrInvalidSpec)
	}
	in, err := c.inspectOwned(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("docker: exec in %s: %w", id, err)
	}
	if in.State == nil || !in.State.Running {
		return nil, fmt.Errorf("docker: exec in %s: %w", displayName(in), ErrNotRunning)
	}
	res, err := c.exec(ctx, in.ID, cmd, env, outputCap)
	if err != nil {
		return nil, fmt.Errorf("docker: exec %q in %s: %w", cmd[0], displayName(in), err)
	}
	c.log.DebugContext(ctx, "exec finished", "id", shortID(in.ID), "cmd", cmd[0], "exit_code", res.ExitCode,
		"duration", res.FinishedAt.Sub(res.StartedAt))
	return res, nil
}

func (c *Client) exec(ctx context.Context, id string, cmd, env []string, outputCap int) (*ExecResult, error) {
	if outputCap <= 0 {
		outputCap = DefaultOutputCap
	}
	res := &ExecResult{StartedAt: time.Now()}
	created, err := c.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		switch {
		case cerrdefs.IsNotFound(err):
			return nil, ErrNotFound
		case cerrdefs.IsConflict(err): // stopped or paused since the check
			return nil, fmt.Errorf("%w: %w", ErrNotRunning, err)
		}
		return nil, fmt.Errorf("create: %w", classify(err))
	}
	// Attaching to an exec starts it.
	hijacked, err := c.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("start: %w", classify(err))
	}
	// The hijacked connection ignores ctx once established; closing it is
	// what ends a read blocked on a quiet command.
	stop := context.AfterFunc(ctx, hijacked.Close)
	defer stop()
	defer hijacked.Close()

	stdout, stderr := &capBuffer{limit: outputCap}, &capBuffer{limit: outputCap}
	if _, err := stdcopy.StdCopy(stdout, stderr, hijacked.Reader); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("read output: %w", classify(err))
	}
	for {
		ins, err := c.api.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return nil, fmt.Errorf("inspect: %w", classify(err))
		}
		if !ins.Running {
			res.ExitCode = ins.ExitCode
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(execPollInterval):
		}
	}
	res.FinishedAt = time.Now()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	res.Truncated = stdout.truncated || stderr.truncated
	return res, nil
}

// capBuffer keeps the first limit bytes written to it and counts the rest
// as dropped, always reporting success so that the copy goes on draining.
type capBuffer struct {
	buf       bytes.Buffer
	limit     int
	truncated bool
}

func (b *capBuffer) Write(p []byte) (int, error) {
	room := b.limit - b.buf.Len()
	if len(p) > room {
		b.truncated = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

// String returns what was kept. When the cut split a multi-byte rune, its
// start is dropped too, so that text output stays valid UTF-8.
func (b *capBuffer) String() string {
	out := b.buf.Bytes()
	if b.truncated {
		for i := len(out) - 1; i >= 0 && i >= len(out)-utf8.UTFMax; i-- {
			if utf8.RuneStart(out[i]) {
				if !utf8.FullRune(out[i:]) {
					out = out[:i]
				}
				break
			}
		}
	}
	return string(out)
}
