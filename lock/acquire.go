package lock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"berth/ent"
	entlock "berth/ent/lock"
)

// Acquire polls a busy key with jittered exponential backoff between these.
// Waiters of the same Manager are also woken by its releases at once.
const (
	minBackoff = 20 * time.Millisecond
	maxBackoff = 500 * time.Millisecond
)

// maxReads bounds how often take rereads a free row whose CAS others keep
// winning before it calls the key busy.
const maxReads = 4

// TryAcquire takes all keys for h, or none. If a key is held by someone else
// and that holder's lease has not expired, it gives back the keys it took in
// this attempt and returns a *BusyError (unwrapped) naming the holder. A key
// whose lease expired is taken over. Locks are not reentrant: a key held
// under the same holder ID is busy too.
func (m *Manager) TryAcquire(ctx context.Context, h Holder, keys []string) (*Lease, error) {
	keys, err := normalize(h, keys)
	if err != nil {
		return nil, err
	}
	return m.tryAcquire(ctx, h, keys)
}

// Acquire is TryAcquire that waits while a key is busy, until it has all the
// keys or ctx ends; in that case it holds none of them. onWait, if not nil,
// is called from Acquire's goroutine with the key it waits for each time the
// key or its holder changes, e.g. to set a task's message to "waiting for
// app:7, held by task_01.. (pid 123 on host x)".
//
// Waiters poll; nothing is fair about who gets a key next.
func (m *Manager) Acquire(ctx context.Context, h Holder, keys []string, onWait func(*BusyError)) (*Lease, error) {
	keys, err := normalize(h, keys)
	if err != nil {
		return nil, err
	}
	var reported *BusyError
	backoff := minBackoff
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		// Taken before the attempt, so that a release during it is not missed.
		released := m.releasedSignal()
		l, err := m.tryAcquire(ctx, h, keys)
		var busy *BusyError
		if !errors.As(err, &busy) {
			return l, err
		}
		// Wait until the busy key looks free. Reading it is cheaper than
		// another attempt, which would take and give back the keys before it
		// and so disturb their other waiters.
		for busy != nil {
			if onWait != nil && !busy.sameHolder(reported) {
				onWait(busy)
			}
			reported = busy
			timer.Reset(jitter(backoff))
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("acquire %s: %w while waiting: %v", keyList(keys), ctx.Err(), busy)
			case <-released:
				timer.Stop()
				backoff = minBackoff
			case <-timer.C:
				backoff = min(2*backoff, maxBackoff)
			}
			released = m.releasedSignal()
			next, err := m.peek(ctx, busy.Key)
			if err != nil {
				return nil, fmt.Errorf("acquire %s: %w", keyList(keys), err)
			}
			if next != nil && !next.sameHolder(busy) {
				// The key changes hands: look again soon.
				backoff = minBackoff
			}
			busy = next
		}
	}
}

// jitter spreads waiters out: a duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2)
}

func (m *Manager) tryAcquire(ctx context.Context, h Holder, keys []string) (*Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("acquire %s: %w", keyList(keys), err)
	}
	now := m.clock()
	l := &Lease{Holder: h, Tokens: make(map[string]int64, len(keys)), expiresAt: now.Add(m.lease)}
	for _, key := range keys {
		token, err := m.take(ctx, h, key, now, l.expiresAt)
		if err == nil {
			l.Tokens[key] = token
			continue
		}
		if token != 0 {
			// The CAS itself failed (ctx may have ended while it ran), so
			// it may have been applied: give that key back too. Freeing a
			// key one does not hold does nothing.
			l.Tokens[key] = token
		}
		gctx, cancel := detach(ctx)
		m.giveBack(gctx, l)
		cancel()
		var busy *BusyError
		if errors.As(err, &busy) {
			return nil, busy
		}
		return nil, fmt.Errorf("acquire %s: %w", key, err)
	}
	return l, nil
}

// take acquires key for h by compare-and-set and returns the new version,
// the fencing token. For a key this Manager saw free that is one UPDATE;
// otherwise the row is read (and created if missing) first. When the CAS
// statement itself fails, take returns the token it would have given
// together with the error, because its outcome is then unknown.
func (m *Manager) take(ctx context.Context, h Holder, key string, now, expires time.Time) (int64, error) {
	version, known := m.knownFree(key)
	var row *ent.Lock // as last read; nil if not read
	for reads := 0; ; reads++ {
		if known {
			ok, err := m.cas(ctx, h, key, version, now, expires)
			if err != nil {
				return version + 1, fmt.Errorf("compare-and-set at version %d: %w", version, err)
			}
			if ok {
				m.forget(key)
				if row != nil && row.Holder != "" {
					m.log.WarnContext(ctx, "took over lock whose lease had expired",
						"key", key, "holder", h.ID, "previous_holder", row.Holder,
						"previous_pid", row.HolderPid, "previous_host", row.HolderHost,
						"expired_at", row.ExpiresAt)
				}
				return version + 1, nil
			}
		}
		if reads == maxReads {
			// Others keep winning the CAS: the key is as good as busy.
			return 0, busyError(key, row)
		}
		r, err := m.client.Lock.Query().Where(entlock.Key(key)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			if err := m.create(ctx, key, now); err != nil {
				return 0, err
			}
			row, version, known = nil, 0, true
			continue
		case err != nil:
			return 0, fmt.Errorf("read: %w", err)
		}
		row = r
		if held(row, now) {
			m.forget(key)
			return 0, busyError(key, row)
		}
		version, known = row.Version, true
	}
}

// cas takes key for h if it is still at version and free (or its lease has
// expired). It always changes the row (the version), so the affected-row
// count means the same on MySQL, which counts changed rows, and on SQLite,
// which counts matched ones.
func (m *Manager) cas(ctx context.Context, h Holder, key string, version int64, now, expires time.Time) (bool, error) {
	var pid any // NULL when unknown
	if h.PID != 0 {
		pid = h.PID
	}
	n, err := exec(ctx, m.client, sqlTake, version+1, h.ID, pid, h.Host, now, expires, now, key, version, now)
	return n == 1, err
}

// create inserts key's row, free at version 0. Another process may have
// created it first; then the unique key refuses ours, which is as good.
func (m *Manager) create(ctx context.Context, key string, now time.Time) error {
	err := m.client.Lock.Create().SetKey(key).SetCreatedAt(now).SetUpdatedAt(now).Exec(ctx)
	if err != nil && !ent.IsConstraintError(err) {
		return fmt.Errorf("create row: %w", err)
	}
	return nil
}

// peek reads key and returns who holds it, or nil if it is free.
func (m *Manager) peek(ctx context.Context, key string) (*BusyError, error) {
	row, err := m.client.Lock.Query().Where(entlock.Key(key)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read lock %s: %w", key, err)
	}
	if held(row, m.clock()) {
		return busyError(key, row), nil
	}
	if row.Holder == "" {
		// An expired lease is not remembered as free: taking it over
		// goes through take's read, which logs the takeover.
		m.sawFree(key, row.Version)
	}
	return nil, nil
}

// held reports whether row is held by a lease that has not expired at now;
// the negation of the CAS condition in cas.
func held(row *ent.Lock, now time.Time) bool {
	return row.Holder != "" && row.ExpiresAt != nil && row.ExpiresAt.After(now)
}

func busyError(key string, row *ent.Lock) *BusyError {
	e := &BusyError{Key: key}
	if row == nil {
		return e
	}
	e.Holder, e.HolderHost = row.Holder, row.HolderHost
	if row.HolderPid != nil {
		e.HolderPID = *row.HolderPid
	}
	if row.ExpiresAt != nil {
		e.ExpiresAt = *row.ExpiresAt
	}
	return e
}
