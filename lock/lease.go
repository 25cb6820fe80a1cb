package lock

import (
	"context"
	"errors"
	"fmt"

	"berth/ent"
	entlock "berth/ent/lock"
)

// Renew extends the lease on all its keys to LeaseDuration from now. It
// returns an error wrapping ErrLost, naming the keys, if any key is no longer
// held under the lease's token (the other keys are still renewed, so that
// they do not lapse while the holder stops). A lease that expired but was not
// taken over is renewed: nobody else has relied on its expiry.
func (m *Manager) Renew(ctx context.Context, l *Lease) error {
	now := m.clock()
	expires := now.Add(m.lease)
	var lost []string
	for _, key := range l.Keys() {
		token := l.Tokens[key]
		n, err := exec(ctx, m.client, sqlRenew, expires, now, key, token, l.Holder.ID)
		if err != nil {
			return fmt.Errorf("renew %s: %w", key, err)
		}
		if n == 0 {
			ok, err := stillHeld(ctx, m.client, l.Holder.ID, key, token)
			if err != nil {
				return fmt.Errorf("renew %s: %w", key, err)
			}
			if !ok {
				lost = append(lost, key)
			}
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("renew %s: %w", keyList(lost), ErrLost)
	}
	l.setExpiresAt(expires)
	return nil
}

// stillHeld tells, after an UPDATE by token and holder reported no row, a
// lost lock from a row the UPDATE matched but left unchanged. MySQL counts
// only changed rows, and a renewal or touch within the same microsecond (or
// under a test clock that stands still) writes the values already there.
// Versions only grow, so a row that shows the token and holder now showed
// them at the UPDATE too.
func stillHeld(ctx context.Context, client *ent.Client, holderID, key string, token int64) (bool, error) {
	n, err := client.Lock.Query().
		Where(entlock.Key(key), entlock.Version(token), entlock.Holder(holderID)).
		Count(ctx)
	if err != nil {
		return false, fmt.Errorf("read: %w", err)
	}
	return n == 1, nil
}

// Release frees the lease's keys. It returns an error wrapping ErrLost,
// naming the keys, if some were no longer held under the lease (taken over
// or freed by ReleaseHolder); those are left alone. Release works even when
// ctx is already cancelled, so that `defer m.Release(ctx, lease)` in a task
// that was cancelled frees its keys at once instead of after the lease.
func (m *Manager) Release(ctx context.Context, l *Lease) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	var (
		lost []string
		errs []error
	)
	for _, key := range l.Keys() {
		ok, err := m.unlock(ctx, l.Holder.ID, key, l.Tokens[key])
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("release %s: %w", key, err))
		case !ok:
			lost = append(lost, key)
		}
	}
	if len(lost) > 0 {
		errs = append(errs, fmt.Errorf("release %s: %w", keyList(lost), ErrLost))
	}
	return errors.Join(errs...)
}

// giveBack frees the keys of a failed acquire. Errors are only logged: the
// keys' leases expire on their own.
func (m *Manager) giveBack(ctx context.Context, l *Lease) {
	for _, key := range l.Keys() {
		if _, err := m.unlock(ctx, l.Holder.ID, key, l.Tokens[key]); err != nil {
			m.log.WarnContext(ctx, "give back lock after failed acquire; it frees itself when its lease expires",
				"key", key, "holder", l.Holder.ID, "lease", m.lease, "err", err)
		}
	}
}

// unlock frees key if holderID holds it at token, and reports whether it
// did.
func (m *Manager) unlock(ctx context.Context, holderID, key string, token int64) (bool, error) {
	n, err := exec(ctx, m.client, sqlFree, m.clock(), key, token, holderID)
	if err != nil || n == 0 {
		return false, err
	}
	m.sawFree(key, token)
	m.signalReleased()
	return true, nil
}

// ReleaseHolder frees every lock held by holderID, whatever its version, and
// returns how many it freed. The task runner calls it when a task's process
// has died, so that its keys need not wait for their leases to expire.
// Leases of holderID still in use then fail with ErrLost.
func (m *Manager) ReleaseHolder(ctx context.Context, holderID string) (int, error) {
	if holderID == "" {
		return 0, errors.New("release holder: no holder ID")
	}
	// Each row changes (holder becomes empty), so the count is exact on
	// MySQL too.
	n, err := exec(ctx, m.client, sqlFreeHolder, m.clock(), holderID)
	if err != nil {
		return 0, fmt.Errorf("release locks of %s: %w", holderID, err)
	}
	if n > 0 {
		m.signalReleased()
		m.log.InfoContext(ctx, "released locks of holder", "holder", holderID, "count", n)
	}
	return int(n), nil
}
