package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

type fake struct {
	name     string
	runs     atomic.Int32
	rebuilds atomic.Int32
	fail     error
}

func (f *fake) Name() string { return f.name }
func (f *fake) Run(ctx context.Context) error {
	f.runs.Add(1)
	if f.fail != nil {
		return f.fail
	}
	<-ctx.Done()
	return nil
}
func (f *fake) Rebuild(context.Context) error { f.rebuilds.Add(1); return nil }

func TestManager(t *testing.T) {
	a, b := &fake{name: "a"}, &fake{name: "b", fail: errors.New("port taken")}
	m := NewManager(slog.New(slog.NewTextHandler(io.Discard, nil)), a, b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.Start(ctx)
	waitState(t, m, "b", StateFailed)
	if st := status(m, "a"); st.State != StateRunning {
		t.Fatalf("a: %+v", st)
	}
	if st := status(m, "b"); st.Error != "port taken" {
		t.Fatalf("b: %+v", st)
	}

	// A restart runs the service again without rebuilding it.
	if _, err := m.Restart(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return a.runs.Load() == 2 })
	if a.rebuilds.Load() != 0 || status(m, "a").Restarts != 1 {
		t.Fatalf("after restart: runs %d rebuilds %d", a.runs.Load(), a.rebuilds.Load())
	}
	if _, err := m.Rebuild(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return a.runs.Load() == 3 })
	if a.rebuilds.Load() != 1 {
		t.Fatalf("after rebuild: runs %d rebuilds %d", a.runs.Load(), a.rebuilds.Load())
	}
	if _, err := m.Restart(ctx, "nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown service: %v", err)
	}
	cancel()
	waitState(t, m, "a", StateStopped)
}

func status(m *Manager, name string) Status {
	for _, s := range m.List() {
		if s.Name == name {
			return s
		}
	}
	return Status{}
}

func waitState(t *testing.T, m *Manager, name, state string) {
	t.Helper()
	waitFor(t, func() bool { return status(m, name).State == state })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
