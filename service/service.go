// Package service supervises berth's built-in services (the file-access
// endpoint, the metrics collector): it lists them with their status and
// restarts or rebuilds one on request. A restart stops and starts the
// service as it is; only a rebuild recreates what it is built from.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Service is a long-running part of berth.
type Service interface {
	// Name identifies the service, e.g. "fileaccess".
	Name() string
	// Run serves until ctx ends; an error return means the service failed.
	Run(ctx context.Context) error
}

// Rebuilder is a Service that can recreate what it is built from.
type Rebuilder interface {
	Rebuild(ctx context.Context) error
}

// States of a service.
const (
	StateRunning = "running"
	StateStopped = "stopped"
	StateFailed  = "failed"
)

// Status is a service's state.
type Status struct {
	Name      string
	State     string
	Error     string
	StartedAt time.Time
	Restarts  int
}

// ErrUnknown is returned for a name no service has.
var ErrUnknown = errors.New("no such service")

// Manager runs services.
type Manager struct {
	log *slog.Logger

	mu      sync.Mutex
	ctx     context.Context // the manager's lifetime; nil until Start
	entries map[string]*entry
}

type entry struct {
	svc    Service
	status Status
	cancel context.CancelFunc
	done   chan struct{}
}

// NewManager returns a Manager of svcs.
func NewManager(log *slog.Logger, svcs ...Service) *Manager {
	m := &Manager{log: log, entries: map[string]*entry{}}
	for _, s := range svcs {
		m.entries[s.Name()] = &entry{svc: s, status: Status{Name: s.Name(), State: StateStopped}}
	}
	return m
}

// Start starts every service; they stop when ctx ends.
func (m *Manager) Start(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ctx = ctx
	for _, e := range m.entries {
		m.startLocked(e)
	}
}

func (m *Manager) startLocked(e *entry) {
	ctx, cancel := context.WithCancel(m.ctx)
	e.cancel, e.done = cancel, make(chan struct{})
	e.status.State, e.status.Error, e.status.StartedAt = StateRunning, "", time.Now().UTC()
	done := e.done
	go func() {
		defer close(done)
		err := e.svc.Run(ctx)
		m.mu.Lock()
		defer m.mu.Unlock()
		switch {
		case ctx.Err() != nil:
			e.status.State = StateStopped
		case err != nil:
			e.status.State, e.status.Error = StateFailed, err.Error()
			m.log.Error("service failed", "service", e.svc.Name(), "err", err)
		default:
			e.status.State = StateStopped
		}
	}()
}

// stop stops a service and waits for it.
func (m *Manager) stop(e *entry) {
	m.mu.Lock()
	cancel, done := e.cancel, e.done
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// List returns the services' status, by name.
func (m *Manager) List() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.entries))
	for _, e := range m.entries {
		out = append(out, e.status)
	}
	slices.SortFunc(out, func(a, b Status) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// Restart stops the service and starts it again, unchanged.
func (m *Manager) Restart(ctx context.Context, name string) (Status, error) {
	return m.restart(ctx, name, false)
}

// Rebuild recreates what the service is built from, then restarts it.
func (m *Manager) Rebuild(ctx context.Context, name string) (Status, error) {
	return m.restart(ctx, name, true)
}

func (m *Manager) restart(ctx context.Context, name string, rebuild bool) (Status, error) {
	m.mu.Lock()
	e, ok := m.entries[name]
	started := m.ctx != nil
	m.mu.Unlock()
	if !ok {
		return Status{}, fmt.Errorf("%w %q", ErrUnknown, name)
	}
	if !started {
		return Status{}, errors.New("services are not started")
	}
	m.stop(e)
	if rebuild {
		if r, ok := e.svc.(Rebuilder); ok {
			if err := r.Rebuild(ctx); err != nil {
				m.mu.Lock()
				e.status.State, e.status.Error = StateFailed, err.Error()
				m.mu.Unlock()
				return e.status, fmt.Errorf("rebuild %s: %w", name, err)
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e.status.Restarts++
	m.startLocked(e)
	return e.status, nil
}

// New makes a Service of functions; rebuild may be nil.
func New(name string, run, rebuild func(ctx context.Context) error) Service {
	if rebuild == nil {
		return funcService{name, run}
	}
	return rebuildable{funcService{name, run}, rebuild}
}

type funcService struct {
	name string
	run  func(context.Context) error
}

func (f funcService) Name() string                  { return f.name }
func (f funcService) Run(ctx context.Context) error { return f.run(ctx) }

type rebuildable struct {
	funcService
	rebuild func(context.Context) error
}

func (r rebuildable) Rebuild(ctx context.Context) error { return r.rebuild(ctx) }
