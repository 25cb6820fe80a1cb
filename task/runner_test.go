package task_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"berth/command"
	"berth/ent"
	entcommand "berth/ent/command"
	entlock "berth/ent/lock"
	enttask "berth/ent/task"
	"berth/gid"
	"berth/lock"
	"berth/storage"
	"berth/storage/storagetest"
	"berth/task"
)

// The test binary doubles as `berth task run ID`: the runner under test
// starts it as its subprocess.
func TestMain(m *testing.M) {
	task.SubprocessFromEnv(func(string) (task.Handlers, error) {
		return task.Handlers{enttask.TypeDiagnostic: task.Diagnostic}, nil
	})
	os.Exit(m.Run())
}

// env is a runner with its database.
type env struct {
	db     *storage.DB
	svc    *task.Service
	queue  *command.Queue
	feed   *task.Feed
	runner *task.Runner
	logDir string
}

func startRunner(t *testing.T, db *storage.DB, cfg storage.Config, limit int) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{db: db, queue: command.NewQueue(db.Client, nil), feed: task.NewFeed(db.Client, log), logDir: t.TempDir()}
	e.runner = task.NewRunner(task.RunnerConfig{
		Client: db.Client,
		Locks:  lock.NewManager(db.Client),
		Queue:  e.queue,
		Feed:   e.feed,
		Exe:    os.Args[0],
		Env:    append(os.Environ(), "BERTH_DB="+cfg.URL, "BERTH_DATA="+cfg.DataDir),
		LogDir: e.logDir,
		Host:   "testhost",
		Limit:  limit,
		Grace:  2 * time.Second,
		Tick:   100 * time.Millisecond,
		Log:    log,
	})
	e.svc = task.NewService(db.Client, nil, e.runner.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.runner.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
	})
	return e
}

// each runs f on both dialects with a running runner.
func each(t *testing.T, limit int, f func(t *testing.T, e *env)) {
	for _, d := range storagetest.Dialects {
		t.Run(d, func(t *testing.T) {
			cfg := storagetest.Config(t, d)
			if cfg.DataDir == "" {
				cfg.DataDir = t.TempDir()
			}
			db, err := storage.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			f(t, startRunner(t, db, cfg, limit))
		})
	}
}

func (e *env) diagnostic(t *testing.T, steps, stepMillis int, keys ...string) *ent.Task {
	t.Helper()
	return e.create(t, task.Spec{
		Type:     enttask.TypeDiagnostic,
		Args:     map[string]any{"steps": steps, "stepMillis": stepMillis},
		LockKeys: keys,
	})
}

func (e *env) create(t *testing.T, spec task.Spec) *ent.Task {
	t.Helper()
	tk, err := e.svc.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// wait returns the task once cond holds for it.
func (e *env) wait(t *testing.T, id gid.ID, what string, cond func(*ent.Task) bool) *ent.Task {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tk, err := e.db.Client.Task.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(tk) {
			return tk
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s not %s after 30s: state %s, message %q, error %+v", id, what, tk.State, tk.Message, tk.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) finished(t *testing.T, id gid.ID) *ent.Task {
	t.Helper()
	return e.wait(t, id, "finished", func(tk *ent.Task) bool { return task.Terminal(tk.State) })
}

func (e *env) heldBy(t *testing.T, id gid.ID) int {
	t.Helper()
	n, err := e.db.Client.Lock.Query().Where(entlock.Holder(id.String())).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDiagnosticTask(t *testing.T) {
	tests := []struct {
		name      string
		args      map[string]any
		wantState enttask.State
		wantCode  string
	}{
		{"succeeds", map[string]any{"steps": 4, "stepMillis": 10}, enttask.StateSucceeded, ""},
		{"fails", map[string]any{"steps": 2, "stepMillis": 10, "fail": true}, enttask.StateFailed, task.CodeFailed},
		{"crashes", map[string]any{"steps": 4, "stepMillis": 10, "crash": true}, enttask.StateCrashed, task.CodeCrashed},
	}
	each(t, 10, func(t *testing.T, e *env) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tk := e.create(t, task.Spec{Type: enttask.TypeDiagnostic, Args: tt.args, LockKeys: []string{"diag:" + tt.name}})
				tk = e.finished(t, tk.ID)
				if tk.State != tt.wantState {
					t.Fatalf("state = %s (%+v), want %s", tk.State, tk.Error, tt.wantState)
				}
				if tt.wantCode == "" {
					if tk.Percent != 100 || tk.Result["steps"] != float64(4) || tk.StartedAt == nil || tk.FinishedAt == nil {
						t.Fatalf("succeeded task = %+v", tk)
					}
				} else if tk.Error == nil || tk.Error.Code != tt.wantCode {
					t.Fatalf("error = %+v, want code %s", tk.Error, tt.wantCode)
				}
				if n := e.heldBy(t, tk.ID); n != 0 {
					t.Fatalf("%d locks still held by a finished task", n)
				}
				lines, err := task.ReadLog(e.logDir, tk.ID, 0, func(task.LogLine) error { return nil })
				if err != nil || lines == 0 || lines != tk.LogLines {
					t.Fatalf("log: %d lines (%v), task says %d", lines, err, tk.LogLines)
				}
			})
		}
	})
}

// Tasks on different apps overlap in time; tasks on one app never do, and
// run in order of creation.
func TestParallelism(t *testing.T) {
	each(t, 10, func(t *testing.T, e *env) {
		a1 := e.diagnostic(t, 4, 100, "app:a")
		b := e.diagnostic(t, 4, 100, "app:b")
		a2 := e.diagnostic(t, 4, 100, "app:a")
		a3 := e.diagnostic(t, 1, 10, "app:a")
		var got []*ent.Task
		for _, tk := range []*ent.Task{a1, b, a2, a3} {
			tk = e.finished(t, tk.ID)
			if tk.State != enttask.StateSucceeded {
				t.Fatalf("%s: %s %+v", tk.ID, tk.State, tk.Error)
			}
			got = append(got, tk)
		}
		overlap := func(x, y *ent.Task) bool {
			return x.StartedAt.Before(*y.FinishedAt) && y.StartedAt.Before(*x.FinishedAt)
		}
		if !overlap(got[0], got[1]) {
			t.Errorf("tasks on different apps did not overlap: %v-%v and %v-%v", got[0].StartedAt, got[0].FinishedAt, got[1].StartedAt, got[1].FinishedAt)
		}
		for _, pair := range [][2]int{{0, 2}, {2, 3}} {
			x, y := got[pair[0]], got[pair[1]]
			if overlap(x, y) || !x.FinishedAt.Before(*y.StartedAt) {
				t.Errorf("same-app tasks %s and %s overlap or ran out of order", x.ID, y.ID)
			}
		}
	})
}

// kill -9 of a running subprocess: the task is crashed and its locks free
// at once, not after the lease.
func TestKilledSubprocess(t *testing.T) {
	each(t, 10, func(t *testing.T, e *env) {
		tk := e.diagnostic(t, 100, 100, "app:k")
		tk = e.wait(t, tk.ID, "running", func(tk *ent.Task) bool { return tk.State == enttask.StateRunning && tk.Pid != nil })
		if e.heldBy(t, tk.ID) != 1 {
			t.Fatalf("running task holds no lock")
		}
		killed := time.Now()
		if err := syscall.Kill(*tk.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		tk = e.finished(t, tk.ID)
		if tk.State != enttask.StateCrashed || e.heldBy(t, tk.ID) != 0 {
			t.Fatalf("after kill -9: state %s, %d locks held", tk.State, e.heldBy(t, tk.ID))
		}
		if d := time.Since(killed); d > time.Second {
			t.Errorf("crash noticed after %v, want within a second", d)
		}
	})
}

// Fifty concurrent cancels abort the task once and are all consumed.
func TestCancel(t *testing.T) {
	each(t, 10, func(t *testing.T, e *env) {
		ctx := context.Background()
		running := e.diagnostic(t, 100, 100, "app:c")
		e.wait(t, running.ID, "running", func(tk *ent.Task) bool { return tk.State == enttask.StateRunning })
		queued := e.diagnostic(t, 1, 10, "app:c") // behind the first
		e.wait(t, queued.ID, "queued", func(tk *ent.Task) bool { return tk.Message != "queued" })

		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, err := e.queue.Enqueue(ctx, "test", running.ID.String(), command.Abort, nil); err != nil {
					t.Error(err)
				}
			})
		}
		if _, err := e.queue.Enqueue(ctx, "test", queued.ID.String(), command.Abort, nil); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		e.runner.Wake()
		for _, id := range []gid.ID{running.ID, queued.ID} {
			tk := e.finished(t, id)
			if tk.State != enttask.StateCancelled || tk.Error == nil || tk.Error.Code != task.CodeCancelled {
				t.Fatalf("%s: state %s %+v, want cancelled", id, tk.State, tk.Error)
			}
			if e.heldBy(t, id) != 0 {
				t.Fatalf("cancelled task still holds locks")
			}
		}
		if tk, _ := e.db.Client.Task.Get(ctx, queued.ID); tk.StartedAt != nil {
			t.Errorf("the queued task ran before it was cancelled")
		}
		e.wait(t, running.ID, "all commands consumed", func(*ent.Task) bool {
			n := e.db.Client.Command.Query().Where(entcommand.IsConsumed(false)).CountX(ctx)
			return n == 0
		})
		if n := e.db.Client.Command.Query().CountX(ctx); n != 51 {
			t.Fatalf("%d commands, want 51", n)
		}
	})
}

func TestTimeout(t *testing.T) {
	each(t, 10, func(t *testing.T, e *env) {
		tk := e.create(t, task.Spec{
			Type:    enttask.TypeDiagnostic,
			Args:    map[string]any{"steps": 100, "stepMillis": 100},
			Timeout: 700 * time.Millisecond,
		})
		tk = e.finished(t, tk.ID)
		if tk.State != enttask.StateFailed || tk.Error == nil || tk.Error.Code != task.CodeTimeout {
			t.Fatalf("state %s %+v, want failed with %s", tk.State, tk.Error, task.CodeTimeout)
		}
	})
}

// When every slot is busy, what a person started goes before what a
// schedule started, whatever their order of creation.
func TestPriority(t *testing.T) {
	each(t, 1, func(t *testing.T, e *env) {
		busy := e.diagnostic(t, 5, 100, "app:busy")
		e.wait(t, busy.ID, "running", func(tk *ent.Task) bool { return tk.State == enttask.StateRunning })
		scheduled := e.create(t, task.Spec{Type: enttask.TypeDiagnostic, Args: map[string]any{"steps": 1, "stepMillis": 1},
			Priority: task.PriorityScheduled})
		person := e.create(t, task.Spec{Type: enttask.TypeDiagnostic, Args: map[string]any{"steps": 1, "stepMillis": 1},
			Priority: task.PriorityUser})
		queued := e.wait(t, scheduled.ID, "told why it waits", func(tk *ent.Task) bool { return tk.Message != "queued" })
		if queued.Message != "queued: all 1 task slots busy" {
			t.Errorf("queued message = %q", queued.Message)
		}
		s, p := e.finished(t, scheduled.ID), e.finished(t, person.ID)
		if !p.StartedAt.Before(*s.StartedAt) {
			t.Fatalf("the scheduled task started at %v, before the person's at %v", s.StartedAt, p.StartedAt)
		}
	})
}

// A second berth (another process or host on the same database) sees the
// changes this one makes through its change feed.
func TestFeedAcrossProcesses(t *testing.T) {
	for _, d := range storagetest.Dialects {
		t.Run(d, func(t *testing.T) {
			cfg := storagetest.Config(t, d)
			open := func() *storage.DB {
				db, err := storage.Open(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			here, there := open(), open()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			feed := task.NewFeed(there.Client, log)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			changes := feed.Tasks.Subscribe(ctx, nil)
			go feed.Poll(ctx, 50*time.Millisecond)

			created, err := task.NewService(here.Client, nil, nil).Create(ctx, task.Spec{Type: enttask.TypeDiagnostic})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-changes:
				if got.ID != created.ID {
					t.Fatalf("feed published %s, want %s", got.ID, created.ID)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the other berth did not see the new task")
			}
		})
	}
}
