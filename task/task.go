// Package task runs berth's long operations. A Task row is created pending;
// the Runner of a `berth serve` claims it and runs it as a subprocess
// (`berth task run ID`, see RunChild) in its own process group; the
// subprocess takes the task's locks, does the work and reports progress on
// its stdout; the runner records it, streams the log and publishes every
// change to subscribers. The runner is the only writer of a claimed task.
package task

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"berth/ent"
	"berth/ent/schematype"
	enttask "berth/ent/task"
	"berth/fault"
	"berth/gid"
)

// Priorities: what a person started goes before what a schedule started.
const (
	PriorityScheduled = 0
	PriorityUser      = 10
)

// Error codes of failed, cancelled and crashed tasks.
const (
	CodeFailed    = "TASK_FAILED"
	CodeTimeout   = "TIMEOUT"
	CodeCancelled = "CANCELLED"
	CodeCrashed   = "CRASHED"
	CodeLockLost  = "LOCK_LOST"
)

// defaultTimeouts bound every task: past its deadline it is stopped and
// failed, so that nothing stays queued or running forever.
var defaultTimeouts = map[enttask.Type]time.Duration{
	enttask.TypeInstall:    30 * time.Minute,
	enttask.TypeConfigure:  15 * time.Minute,
	enttask.TypeStart:      5 * time.Minute,
	enttask.TypeStop:       5 * time.Minute,
	enttask.TypeRestart:    10 * time.Minute,
	enttask.TypeUpdate:     time.Hour,
	enttask.TypeUninstall:  30 * time.Minute,
	enttask.TypeBackup:     6 * time.Hour,
	enttask.TypeRestore:    6 * time.Hour,
	enttask.TypeClone:      6 * time.Hour,
	enttask.TypeUnarchive:  6 * time.Hour,
	enttask.TypeFullBackup: 12 * time.Hour,
	enttask.TypeExec:       time.Hour,
	enttask.TypeDiagnostic: time.Hour,
}

// singletonTypes run one at a time on the whole installation (they hold
// type:<type>).
var singletonTypes = map[enttask.Type]bool{
	enttask.TypeFullBackup: true,
}

// Spec describes a task to create.
type Spec struct {
	Type enttask.Type
	// App is the app the task works on; the task then holds app:<id>.
	App *gid.ID
	// Args are the operation's inputs, read by the subprocess.
	Args map[string]any
	// LockKeys are held in addition to those the type and app imply.
	LockKeys []string
	Priority int
	// Timeout overrides the type's default.
	Timeout   time.Duration
	CreatedBy *gid.ID
}

// AppKey is the lock key of an app: one operation on an app at a time.
func AppKey(app gid.ID) string { return "app:" + app.String() }

// TypeKey is the lock key of a task type that runs one at a time.
func TypeKey(t enttask.Type) string { return "type:" + string(t) }

// Keys returns the sorted lock keys a task of spec holds.
func (s Spec) Keys() []string {
	keys := slices.Clone(s.LockKeys)
	if s.App != nil {
		keys = append(keys, AppKey(*s.App))
	}
	if singletonTypes[s.Type] {
		keys = append(keys, TypeKey(s.Type))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// Service creates tasks. Creation takes part in the transaction of ctx (a
// GraphQL mutation); the runner is woken once it commits.
type Service struct {
	client *ent.Client
	now    func() time.Time
	// wake tells the local runner that a task is waiting; nil without one.
	wake func()
}

// NewService returns a Service. wake may be nil.
func NewService(client *ent.Client, now func() time.Time, wake func()) *Service {
	if now == nil {
		now = time.Now
	}
	if wake == nil {
		wake = func() {}
	}
	return &Service{client: client, now: now, wake: wake}
}

func (s *Service) db(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return s.client
}

// ValidateLockKey checks a lock key given by a client.
func ValidateLockKey(field, key string) error {
	if key == "" || len(key) > 191 || strings.TrimSpace(key) != key {
		return fault.Input(field, "lock key %q: must be 1-191 characters without surrounding space", key)
	}
	return nil
}

// Create stores a pending task.
func (s *Service) Create(ctx context.Context, spec Spec) (*ent.Task, error) {
	if err := enttask.TypeValidator(spec.Type); err != nil {
		return nil, fault.Input("type", "%v", err)
	}
	for _, k := range spec.LockKeys {
		if err := ValidateLockKey("lockKeys", k); err != nil {
			return nil, err
		}
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = defaultTimeouts[spec.Type]
	}
	now := s.now().UTC()
	create := s.db(ctx).Task.Create().
		SetType(spec.Type).
		SetArgs(spec.Args).
		SetLockKeys(spec.Keys()).
		SetPriority(spec.Priority).
		SetDeadline(now.Add(timeout)).
		SetMessage("queued").
		SetCreatedAt(now).
		SetUpdatedAt(now).
		SetNillableAppID(spec.App).
		SetNillableCreatedByID(spec.CreatedBy)
	t, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create %s task: %w", spec.Type, err)
	}
	afterCommit(ent.TxFromContext(ctx), s.wake)
	return t, nil
}

// afterCommit runs fn once tx commits, or at once when there is no tx.
func afterCommit(tx *ent.Tx, fn func()) {
	if tx == nil {
		fn()
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				fn()
			}
			return err
		})
	})
}

// DecodeArgs reads a task argument, stored as JSON, into T.
func DecodeArgs[T any](v any) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		return out, fmt.Errorf("task arguments: %w", err)
	}
	return out, nil
}

// Terminal reports whether a task in state st is finished.
func Terminal(st enttask.State) bool {
	switch st {
	case enttask.StateSucceeded, enttask.StateFailed, enttask.StateCancelled, enttask.StateCrashed:
		return true
	}
	return false
}

// ActiveStates are the states of unfinished tasks.
var ActiveStates = []enttask.State{enttask.StatePending, enttask.StateWaiting, enttask.StateRunning}

func failure(code, format string, args ...any) *schematype.Failure {
	return &schematype.Failure{Code: code, Message: fmt.Sprintf(format, args...)}
}

// truncate keeps a message within the column.
func truncate(s string) string {
	r := []rune(s)
	if len(r) <= 255 {
		return s
	}
	return string(r[:254]) + "…"
}
