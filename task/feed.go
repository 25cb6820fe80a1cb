package task

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"berth/ent"
	"berth/ent/hook"
	enttask "berth/ent/task"
	"berth/event"
	"berth/gid"
)

// LogLine is one line of a task's log; Line counts from 1.
type LogLine struct {
	Task gid.ID
	Line int
	Text string
}

// Feed publishes task changes and log lines to in-process subscribers.
// Changes made through this process's ent client are published when their
// transaction commits (an ent hook); changes made by other processes and
// hosts arrive through Poll, which reads the tasks table.
type Feed struct {
	Tasks *event.Hub[*ent.Task]
	Logs  *event.Hub[LogLine]

	client *ent.Client
	log    *slog.Logger

	mu   sync.Mutex
	seen map[gid.ID]time.Time // updated_at of the last published version
}

// NewFeed returns a Feed over client and registers its hook on the client.
func NewFeed(client *ent.Client, log *slog.Logger) *Feed {
	f := &Feed{
		Tasks:  event.NewHub[*ent.Task](1024),
		Logs:   event.NewHub[LogLine](4096),
		client: client,
		log:    log,
		seen:   map[gid.ID]time.Time{},
	}
	client.Task.Use(f.hook)
	return f
}

// hook publishes the tasks a mutation wrote once they are committed.
func (f *Feed) hook(next ent.Mutator) ent.Mutator {
	return hook.TaskFunc(func(ctx context.Context, m *ent.TaskMutation) (ent.Value, error) {
		var ids []gid.ID
		if m.Op().Is(ent.OpUpdate) {
			// A bulk update's predicates may no longer match afterwards.
			var err error
			if ids, err = m.IDs(ctx); err != nil {
				return nil, err
			}
		}
		v, err := next.Mutate(ctx, m)
		if err != nil {
			return v, err
		}
		var written []*ent.Task
		if t, ok := v.(*ent.Task); ok {
			written = append(written, t)
		}
		publish := func() {
			if len(ids) > 0 {
				ts, err := f.client.Task.Query().Where(enttask.IDIn(ids...)).All(context.WithoutCancel(ctx))
				if err != nil {
					f.log.Warn("task feed: read updated tasks", "err", err)
				}
				written = append(written, ts...)
			}
			for _, t := range written {
				f.Publish(t)
			}
		}
		tx, err := m.Tx()
		if err == nil {
			// Entities written in a transaction keep its client; detach
			// them before they outlive it.
			for i, t := range written {
				written[i] = detach(t)
			}
		}
		afterCommit(tx, publish)
		return v, nil
	})
}

// Publish sends t to subscribers unless this version was sent already.
func (f *Feed) Publish(t *ent.Task) {
	f.mu.Lock()
	last, ok := f.seen[t.ID]
	if ok && !t.UpdatedAt.After(last) {
		f.mu.Unlock()
		return
	}
	f.seen[t.ID] = t.UpdatedAt
	if len(f.seen) > 10000 {
		f.pruneLocked(t.UpdatedAt.Add(-10 * time.Minute))
	}
	f.mu.Unlock()
	f.Tasks.Publish(t)
}

func (f *Feed) pruneLocked(before time.Time) {
	for id, at := range f.seen {
		if at.Before(before) {
			delete(f.seen, id)
		}
	}
}

// Poll publishes the changes other processes make to the tasks table, read
// every interval, until ctx ends. The window overlaps the previous read so
// that a transaction committing late with an older timestamp is not missed;
// Publish drops what was sent already.
func (f *Feed) Poll(ctx context.Context, interval time.Duration) {
	const overlap = 2 * time.Second
	cursor := time.Now().UTC().Add(-overlap)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tasks, err := f.client.Task.Query().
			Where(enttask.UpdatedAtGTE(cursor.Add(-overlap))).
			Order(enttask.ByUpdatedAt()).
			Limit(1000).
			All(ctx)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("task feed: poll", "err", err)
			}
			continue
		}
		for _, tk := range tasks {
			f.Publish(tk)
			if tk.UpdatedAt.After(cursor) {
				cursor = tk.UpdatedAt
			}
		}
	}
}

// detach returns a copy of t bound to the client instead of the
// transaction t was written in. (Unwrap panics on an entity that another
// hook of the same client detached already.)
func detach(t *ent.Task) (out *ent.Task) {
	c := *t
	defer func() {
		if recover() != nil {
			out = &c
		}
	}()
	return c.Unwrap()
}
