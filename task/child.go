package task

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"berth/ent"
	"berth/ent/schematype"
	enttask "berth/ent/task"
	"berth/gid"
	"berth/lock"
	"berth/storage"
)

// Handler does the work of one task type inside the subprocess. It returns
// the task's result, or an error: a *schematype.Failure keeps its code,
// anything else fails the task with CodeFailed.
type Handler func(ctx context.Context, run *Run) (map[string]any, error)

// Handlers maps task types to their handlers.
type Handlers map[enttask.Type]Handler

// Run is what a handler gets: the task, progress reporting, its log and
// the lease on its locks (to fence writes with).
type Run struct {
	Task   *ent.Task
	Client *ent.Client
	Lease  *lock.Lease
	Locks  *lock.Manager
	Log    *slog.Logger
	rep    *reporter
}

// Progress reports how far the task is.
func (r *Run) Progress(percent int, format string, args ...any) error {
	percent = min(max(percent, 0), 100)
	return r.rep.send(message{Kind: kindProgress, Percent: &percent, Text: fmt.Sprintf(format, args...)})
}

// Logf adds a line to the task log.
func (r *Run) Logf(format string, args ...any) error {
	return r.rep.send(message{Kind: kindLog, Text: fmt.Sprintf(format, args...)})
}

// ChildConfig is what RunChild needs besides the task.
type ChildConfig struct {
	Client   *ent.Client
	Locks    *lock.Manager
	Handlers Handlers
	Host     string
	// Out receives the messages for the runner (the process's stdout).
	Out io.Writer
	Log *slog.Logger
}

// RunChild runs task id in this process: the body of `berth task run ID`.
// SIGTERM cancels the work; the locks are released on the way out. It
// returns an error only when it could not report to the runner.
func RunChild(ctx context.Context, id gid.ID, cfg ChildConfig) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	rep := newReporter(cfg.Out)
	fail := func(f *schematype.Failure) error { return rep.send(message{Kind: kindFailed, Error: f}) }

	t, err := cfg.Client.Task.Get(ctx, id)
	if err != nil {
		return fail(failure(CodeFailed, "load task %s: %v", id, err))
	}
	h := cfg.Handlers[t.Type]
	if h == nil {
		return fail(failure(CodeFailed, "no handler for %s tasks", t.Type))
	}

	holder := lock.Holder{ID: string(t.ID), PID: os.Getpid(), Host: cfg.Host}
	var lease *lock.Lease
	if len(t.LockKeys) > 0 {
		lease, err = cfg.Locks.Acquire(ctx, holder, t.LockKeys, func(busy *lock.BusyError) {
			msg := waitingMessage(ctx, cfg.Client, busy)
			_ = rep.send(message{Kind: kindState, State: string(enttask.StateWaiting), Text: msg})
		})
		if err != nil {
			return fail(failure(CodeFailed, "acquire locks: %v", err))
		}
		defer func() {
			// The work's context may be cancelled; release regardless.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := cfg.Locks.Release(rctx, lease); err != nil {
				cfg.Log.Warn("release locks", "task", t.ID, "err", err)
			}
		}()
		var lost <-chan error
		ctx, lost = keepLease(ctx, cfg.Locks, lease)
		defer func() {
			select {
			case err := <-lost:
				cfg.Log.Error("lease lost", "task", t.ID, "err", err)
			default:
			}
		}()
	}
	if err := rep.send(message{Kind: kindState, State: string(enttask.StateRunning), Text: "running"}); err != nil {
		return err
	}
	result, err := h(ctx, &Run{Task: t, Client: cfg.Client, Lease: lease, Locks: cfg.Locks, Log: cfg.Log, rep: rep})
	if err != nil {
		var f *schematype.Failure
		if !errors.As(err, &f) && !errors.As(context.Cause(ctx), &f) {
			if ctx.Err() != nil {
				f = failure(CodeCancelled, "stopped on request")
			} else {
				f = failure(CodeFailed, "%v", err)
			}
		}
		return fail(f)
	}
	return rep.send(message{Kind: kindDone, Result: result})
}

// waitingMessage says what a task waits for, e.g. "waiting for app:app_01…,
// held by task_01… (backup)".
func waitingMessage(ctx context.Context, client *ent.Client, b *lock.BusyError) string {
	msg := "waiting for " + b.Key
	if b.Holder == "" {
		return msg
	}
	msg += ", held by " + b.Holder
	if id := gid.ID(b.Holder); id.Prefix() == "task" {
		if t, err := client.Task.Get(ctx, id); err == nil {
			msg += " (" + string(t.Type) + ")"
		}
	} else if b.HolderHost != "" {
		msg += " on " + b.HolderHost
	}
	return msg
}

// keepLease renews lease until ctx ends. If the lease is lost (taken over
// after it expired) the returned context is cancelled, so the work stops
// instead of carrying on unfenced, and the error is sent on lost.
func keepLease(ctx context.Context, locks *lock.Manager, lease *lock.Lease) (context.Context, <-chan error) {
	ctx, cancel := context.WithCancelCause(ctx)
	lost := make(chan error, 1)
	every := locks.LeaseDuration() / 3
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := locks.Renew(ctx, lease); err != nil && ctx.Err() == nil {
					if errors.Is(err, lock.ErrLost) {
						lost <- err
						cancel(failure(CodeLockLost, "lost lock lease: %v", err))
						return
					}
					// A transient database error: try again next tick,
					// the lease has two more periods to go.
				}
			}
		}
	}()
	return ctx, lost
}

// Subprocess is the whole of `berth task run ID`: it opens the database of
// cfg (the runner already migrated it) and runs the task with handlers,
// reporting on stdout and logging to stderr.
func Subprocess(ctx context.Context, cfg storage.Config, id gid.ID, handlers Handlers, stdout, stderr io.Writer) error {
	cfg.SkipMigrate = true
	db, err := storage.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	host, _ := os.Hostname()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	return RunChild(ctx, id, ChildConfig{
		Client:   db.Client,
		Locks:    lock.NewManager(db.Client, lock.WithLogger(log)),
		Handlers: handlers,
		Host:     host,
		Out:      stdout,
		Log:      log,
	})
}

// SubprocessFromEnv runs `task run ID` if those are the process's
// arguments, with the database in BERTH_DB and BERTH_DATA and the handlers
// handlers makes for that data directory, and exits. Test binaries call it
// first thing in TestMain so that a Runner under test can use them as its
// berth binary.
func SubprocessFromEnv(handlers func(dataDir string) (Handlers, error)) {
	if len(os.Args) != 4 || os.Args[1] != "task" || os.Args[2] != "run" {
		return
	}
	cfg := storage.Config{URL: os.Getenv("BERTH_DB"), DataDir: os.Getenv("BERTH_DATA")}
	h, err := handlers(cfg.DataDir)
	if err == nil {
		err = Subprocess(context.Background(), cfg, gid.ID(os.Args[3]), h, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
