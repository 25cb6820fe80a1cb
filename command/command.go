// Package command is the command queue (design problem 3): every state
// change of a running task or an active app is requested by enqueueing a
// Command; only the worker holding the target's lock consumes them, in
// order, marking each consumed in the same transaction as the change it
// causes. So each target has exactly one writer however many ask.
package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"berth/ent"
	entcommand "berth/ent/command"
	"berth/fault"
	"berth/gid"
)

// Names of the commands.
const (
	Abort   = "abort"   // stop a task: SIGTERM, then SIGKILL
	Start   = "start"   // start an app
	Stop    = "stop"    // stop an app
	Restart = "restart" // restart an app
)

// runState are the commands of which only the last one counts: a stop
// followed by a start is a start.
var runState = map[string]bool{Start: true, Stop: true, Restart: true}

// ErrRaced means another consumer marked some of the commands consumed
// first: the caller is not the target's only writer, which is a bug.
var ErrRaced = errors.New("commands consumed by another worker")

// Queue enqueues and consumes commands.
type Queue struct {
	client *ent.Client
	now    func() time.Time
}

// NewQueue returns a Queue over client. now may be nil for the wall clock.
func NewQueue(client *ent.Client, now func() time.Time) *Queue {
	if now == nil {
		now = time.Now
	}
	return &Queue{client: client, now: now}
}

func (q *Queue) db(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return q.client
}

// Enqueue adds a command for target. It takes part in the transaction of
// ctx, if any.
func (q *Queue) Enqueue(ctx context.Context, author, target, name string, props map[string]any) (*ent.Command, error) {
	if target == "" {
		return nil, fault.Input("target", "must not be empty")
	}
	if name == "" {
		return nil, fault.Input("command", "must not be empty")
	}
	c, err := q.db(ctx).Command.Create().
		SetAuthor(author).
		SetTarget(target).
		SetCommand(name).
		SetProperties(props).
		SetCreatedAt(q.now().UTC()).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s for %s: %w", name, target, err)
	}
	return c, nil
}

// Pending returns target's unconsumed commands, oldest first.
func (q *Queue) Pending(ctx context.Context, target string) ([]*ent.Command, error) {
	return q.db(ctx).Command.Query().
		Where(entcommand.Target(target), entcommand.IsConsumed(false)).
		Order(entcommand.ByCreatedAt(), entcommand.ByID()).
		All(ctx)
}

// PendingTargets returns the targets that have unconsumed commands.
func (q *Queue) PendingTargets(ctx context.Context) ([]string, error) {
	return q.db(ctx).Command.Query().
		Where(entcommand.IsConsumed(false)).
		Unique(true).
		Select(entcommand.FieldTarget).
		Strings(ctx)
}

// Consume hands target's pending commands, oldest first, to apply and marks
// them consumed in one transaction with whatever apply writes through the
// client in its context. If apply fails, nothing is written and the commands
// stay pending. Only the holder of the target's lock may call it. It
// returns how many commands it consumed.
func (q *Queue) Consume(ctx context.Context, target string, apply func(ctx context.Context, cmds []*ent.Command) error) (int, error) {
	tx, err := q.client.Tx(ctx)
	if err != nil {
		return 0, fmt.Errorf("consume %s: %w", target, err)
	}
	ctx = ent.NewTxContext(ent.NewContext(ctx, tx.Client()), tx)
	n, err := q.consume(ctx, tx, target, apply)
	if err != nil {
		return 0, errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("consume %s: commit: %w", target, err)
	}
	return n, nil
}

func (q *Queue) consume(ctx context.Context, tx *ent.Tx, target string, apply func(context.Context, []*ent.Command) error) (int, error) {
	cmds, err := q.Pending(ctx, target)
	if err != nil || len(cmds) == 0 {
		return 0, err
	}
	if err := apply(ctx, cmds); err != nil {
		return 0, err
	}
	ids := make([]gid.ID, len(cmds))
	for i, c := range cmds {
		ids[i] = c.ID
	}
	n, err := tx.Command.Update().
		Where(entcommand.IDIn(ids...), entcommand.IsConsumed(false)).
		SetIsConsumed(true).
		SetConsumedAt(q.now().UTC()).
		Save(ctx)
	if err != nil {
		return 0, fmt.Errorf("mark commands of %s consumed: %w", target, err)
	}
	if n != len(cmds) {
		return 0, fmt.Errorf("consume %s: %w", target, ErrRaced)
	}
	return n, nil
}

// Effective folds a target's commands into those that still matter, in
// order: repeated commands count once, and of start, stop and restart only
// the last counts (a stop then a start is a start).
func Effective(cmds []*ent.Command) []*ent.Command {
	lastRunState := -1
	for i, c := range cmds {
		if runState[c.Command] {
			lastRunState = i
		}
	}
	seen := map[string]bool{}
	var out []*ent.Command
	for i, c := range cmds {
		if runState[c.Command] && i != lastRunState {
			continue
		}
		if seen[c.Command] {
			continue
		}
		seen[c.Command] = true
		out = append(out, c)
	}
	return out
}
