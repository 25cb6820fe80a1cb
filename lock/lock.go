// Package lock implements named locks shared by every berth process on
// every host that uses the database: "app:<id>", "type:<taskType>",
// "update".
//
// Each key is one row of the locks table, created free on first use. A row
// is only ever changed by a compare-and-set: an UPDATE whose WHERE clause
// names the state the writer expects (the version, and the holder once held;
// ReleaseHolder names the holder only), judged by the number of rows it
// changed. No SQL lock outlives a statement (the
// one exception is the row lock of a Fenced transaction), so a process that
// dies cannot leave the database locked. What it leaves are rows naming it
// as holder: the task runner frees them with ReleaseHolder, and anyone may
// take them over once their lease has expired.
//
// The version counts acquisitions. Every acquire increments it, and the
// version a holder acquired is its fencing token: Renew, Release and Fenced
// succeed only while the row still carries the holder's token and ID, so a
// holder whose lease ran out and was taken over can do none of them.
//
// Why rows and not the design this replaces (one row with a JSON blob of all
// locks and a version): with the blob, every acquire and release anywhere
// conflicts with every other one and loses the CAS; with a row per key only
// holders of the same key meet. See bench_test.go for the figures.
package lock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"berth/ent"
)

// DefaultLease is how long an acquired lock stays held without Renew.
const DefaultLease = 30 * time.Second

// Lengths of the key column (MySQL's index limit for utf8mb4) and of the
// holder column.
const (
	maxKeyLen    = 191
	maxHolderLen = 255
)

// ErrLost reports that a lease no longer holds one of its keys: it expired
// and was taken over, or ReleaseHolder freed it. The holder must stop doing
// work that relies on the lock.
var ErrLost = errors.New("lock lost")

// Holder identifies who holds a lock. PID and Host only make messages such as
// "held by task_01.. (pid 123 on host x)" useful; ID is what counts.
type Holder struct {
	ID   string // the task ID; ReleaseHolder frees by it
	PID  int    // 0 when unknown
	Host string
}

func (h Holder) String() string {
	return describe(h.ID, h.PID, h.Host)
}

func describe(id string, pid int, host string) string {
	switch {
	case pid != 0 && host != "":
		return fmt.Sprintf("%s (pid %d on host %s)", id, pid, host)
	case pid != 0:
		return fmt.Sprintf("%s (pid %d)", id, pid)
	case host != "":
		return fmt.Sprintf("%s (on host %s)", id, host)
	}
	return id
}

// BusyError reports that a key is held by someone else. TryAcquire returns
// it unwrapped; Acquire hands it to its onWait callback.
type BusyError struct {
	Key        string
	Holder     string // empty if the key changed hands too often to name one
	HolderPID  int
	HolderHost string
	ExpiresAt  time.Time // end of the holder's lease, unless renewed
}

func (e *BusyError) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("lock %s is busy", e.Key)
	}
	return fmt.Sprintf("lock %s is held by %s", e.Key, describe(e.Holder, e.HolderPID, e.HolderHost))
}

// sameHolder reports whether e and o name the same key and holder, so that
// Acquire tells its caller only about changes.
func (e *BusyError) sameHolder(o *BusyError) bool {
	return o != nil && e.Key == o.Key && e.Holder == o.Holder &&
		e.HolderPID == o.HolderPID && e.HolderHost == o.HolderHost
}

// Lease is a set of keys held together by one holder.
type Lease struct {
	Holder Holder
	// Tokens maps each key to the version the holder acquired it at: its
	// fencing token. Read-only.
	Tokens map[string]int64

	mu        sync.Mutex // guards expiresAt: Renew may run beside readers
	expiresAt time.Time
}

// ExpiresAt returns when the lease ends unless renewed.
func (l *Lease) ExpiresAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expiresAt
}

func (l *Lease) setExpiresAt(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expiresAt = t
}

// Keys returns the leased keys, sorted.
func (l *Lease) Keys() []string {
	keys := make([]string, 0, len(l.Tokens))
	for k := range l.Tokens {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Manager acquires and releases locks for the processes of one host. It is
// safe for concurrent use; one per process is enough, though any number
// work (they coordinate through the database only, except that a release
// wakes the waiters of the same Manager at once).
type Manager struct {
	client *ent.Client
	now    func() time.Time
	lease  time.Duration
	log    *slog.Logger

	mu sync.Mutex
	// free remembers, per key, a version at which this Manager last saw the
	// row free (or freed it itself). The next acquire tries its CAS on that
	// state straight away: one UPDATE instead of a read and an UPDATE. A
	// stale entry costs one UPDATE that changes nothing; it is never wrong,
	// because the CAS decides.
	free map[string]int64
	// released is closed (and replaced) whenever this Manager frees a key,
	// to wake its waiters without a database poll.
	released chan struct{}
}

// maxFreeCache bounds Manager.free; it is cleared when full.
const maxFreeCache = 4096

// Option configures a Manager.
type Option func(*Manager)

// WithClock sets the clock leases are measured with (tests move time with
// it). Every host's clock must agree to well within the lease duration.
func WithClock(now func() time.Time) Option {
	return func(m *Manager) { m.now = now }
}

// WithLease sets how long an acquire or a renewal holds a lock
// (DefaultLease if d <= 0).
func WithLease(d time.Duration) Option {
	return func(m *Manager) {
		if d > 0 {
			m.lease = d
		}
	}
}

// WithLogger sets where takeovers and clean-ups are logged.
func WithLogger(l *slog.Logger) Option {
	return func(m *Manager) { m.log = l }
}

// NewManager returns a Manager over the locks table of client. Its writes are
// plain SQL run with client.ExecContext, so a driver wrapped around ent's
// (storage.Config.WrapDriver) must keep ExecContext, as dialect.Debug does.
func NewManager(client *ent.Client, opts ...Option) *Manager {
	m := &Manager{
		client:   client,
		now:      time.Now,
		lease:    DefaultLease,
		log:      slog.Default(),
		free:     map[string]int64{},
		released: make(chan struct{}),
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// LeaseDuration returns how long an acquire or a renewal holds a lock.
// Renew well within it: every third of it leaves room for two failures.
func (m *Manager) LeaseDuration() time.Duration { return m.lease }

// clock returns the current time as stored: UTC, because SQLite compares
// times as text, and in microseconds, the precision of MySQL's datetime(6),
// so that a lease's expiry reads back as it was written.
func (m *Manager) clock() time.Time {
	return m.now().UTC().Truncate(time.Microsecond)
}

// knownFree returns the version at which the key was last seen free.
func (m *Manager) knownFree(key string) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.free[key]
	return v, ok
}

// sawFree records that key was free at version.
func (m *Manager) sawFree(key string, version int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.free[key]; !ok && len(m.free) >= maxFreeCache {
		clear(m.free)
	}
	m.free[key] = version
}

// forget drops what Manager knew of key: it is no longer free.
func (m *Manager) forget(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.free, key)
}

// releasedSignal returns a channel closed by the next release through m.
func (m *Manager) releasedSignal() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.released
}

// signalReleased wakes the waiters of m.
func (m *Manager) signalReleased() {
	m.mu.Lock()
	defer m.mu.Unlock()
	close(m.released)
	m.released = make(chan struct{})
}

// normalize validates a request and returns its keys sorted and without
// duplicates. Taking keys in one global order makes two holders of
// overlapping sets meet at their first shared key, where one of them wins
// all; in any order, each could take a part, find the rest busy and give
// back, over and over.
func normalize(h Holder, keys []string) ([]string, error) {
	if h.ID == "" || len(h.ID) > maxHolderLen {
		return nil, fmt.Errorf("lock holder ID %q: want 1 to %d bytes", h.ID, maxHolderLen)
	}
	if len(keys) == 0 {
		return nil, errors.New("no lock keys")
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if k == "" || len(k) > maxKeyLen {
			return nil, fmt.Errorf("lock key %q: want 1 to %d bytes", k, maxKeyLen)
		}
		out = append(out, k)
	}
	sort.Strings(out)
	n := 1
	for _, k := range out[1:] {
		if k != out[n-1] {
			out[n] = k
			n++
		}
	}
	return out[:n], nil
}

// The writes of the package. They are plain SQL, the same on both dialects,
// rather than ent builders: they are the whole of the common path (one
// statement to acquire a key, one to release it), and building them with ent
// cost about as much CPU again as SQLite took to run them. Every one is a
// compare-and-set: it names the version (and holder) it expects.
const (
	// sqlTake acquires a key seen free at a version: it moves the version
	// on and sets the holder, if the row is still at that version and free
	// or its lease expired.
	sqlTake = "UPDATE locks SET version = ?, holder = ?, holder_pid = ?, holder_host = ?, acquired_at = ?, expires_at = ?, updated_at = ? " +
		"WHERE `key` = ? AND version = ? AND (holder = '' OR expires_at IS NULL OR expires_at <= ?)"
	// sqlFree releases a key held at a version by a holder. The version
	// stays: it counts acquisitions, and the next one moves it on.
	sqlFree = "UPDATE locks SET holder = '', holder_pid = NULL, holder_host = '', acquired_at = NULL, expires_at = NULL, updated_at = ? " +
		"WHERE `key` = ? AND version = ? AND holder = ?"
	// sqlRenew extends the lease of a key held at a version by a holder.
	sqlRenew = "UPDATE locks SET expires_at = ?, updated_at = ? WHERE `key` = ? AND version = ? AND holder = ?"
	// sqlTouch locks the row of a key held at a version by a holder, for
	// the rest of a Fenced transaction.
	sqlTouch = "UPDATE locks SET updated_at = ? WHERE `key` = ? AND version = ? AND holder = ?"
	// sqlFreeHolder releases every key of a holder, whatever its version.
	sqlFreeHolder = "UPDATE locks SET holder = '', holder_pid = NULL, holder_host = '', acquired_at = NULL, expires_at = NULL, updated_at = ? " +
		"WHERE holder = ?"
)

// exec runs a write and returns the number of rows it changed (MySQL) or
// matched (SQLite).
func exec(ctx context.Context, client *ent.Client, query string, args ...any) (int64, error) {
	res, err := client.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// attemptTimeout bounds the writes detach lets outlive their caller's
// context; it is above SQLite's busy timeout of 10 s.
const attemptTimeout = 15 * time.Second

// detach returns a context for writes that must not be cut short by the
// caller's cancellation: giving back the keys of a failed acquire, releasing
// the keys of a cancelled task. A context that can never be cancelled is
// used as it is: one with a deadline costs every statement a watch by the
// driver (modernc's SQLite starts a goroutine for each).
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Done() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), attemptTimeout)
}

// keyList names keys in messages.
func keyList(keys []string) string { return strings.Join(keys, ",") }
