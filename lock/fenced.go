package lock

import (
	"context"
	"fmt"

	"berth/ent"
)

// Fenced runs fn in a database transaction that commits only if l still
// holds key, and returns an error wrapping ErrLost, without running fn, if
// it does not (the lease was taken over after it expired, or ReleaseHolder
// freed it). fn must write through the transaction, which it finds in its
// context: ent.FromContext(ctx) is the transactional client and
// ent.TxFromContext(ctx) the *ent.Tx (for OnCommit hooks or raw SQL via
// ExecContext). Writes through any other client are not fenced, and on
// SQLite they would wait for this very transaction until the busy timeout.
// fn's error is returned as is, after rolling back.
//
// Why the write cannot land after a takeover: the transaction first touches
// key's row with an UPDATE conditioned on l's token and holder. A takeover is
// itself an UPDATE of that row (the CAS that moves the version on), so the
// two are serialised by the database:
//   - MySQL/MariaDB (InnoDB): the touch holds the row's exclusive lock until
//     commit. A takeover issued meanwhile waits for it, and then evaluates
//     its WHERE on the committed row, so it happens after fn's writes, when
//     they were made by the rightful holder. If the takeover committed first,
//     the touch sees another version and fn never runs.
//   - SQLite: storage opens it with _txlock=immediate, so a transaction
//     takes the database's write lock when it begins and keeps it to the
//     end; no other write, takeover included, interleaves with it.
//
// Keep fn short: while it runs, a takeover (on SQLite, every writer) waits,
// and so does the holder's own Renew of key.
func (m *Manager) Fenced(ctx context.Context, l *Lease, key string, fn func(ctx context.Context) error) error {
	token, ok := l.Tokens[key]
	if !ok {
		return fmt.Errorf("fenced write under %s: key not in the lease of %s", key, l.Holder.ID)
	}
	tx, err := m.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("fenced write under %s: begin: %w", key, err)
	}
	defer func() {
		if v := recover(); v != nil {
			_ = tx.Rollback()
			panic(v)
		}
	}()
	rollback := func(err error) error {
		if rerr := tx.Rollback(); rerr != nil {
			m.log.WarnContext(ctx, "roll back fenced write", "key", key, "err", rerr)
		}
		return err
	}
	n, err := exec(ctx, tx.Client(), sqlTouch, m.clock(), key, token, l.Holder.ID)
	if err != nil {
		return rollback(fmt.Errorf("fenced write under %s: touch lock: %w", key, err))
	}
	if n == 0 {
		// Within the transaction: if the UPDATE matched, the row is locked
		// and reads as ours; if it did not, it is not ours any more.
		ok, err := stillHeld(ctx, tx.Client(), l.Holder.ID, key, token)
		if err != nil {
			return rollback(fmt.Errorf("fenced write under %s: %w", key, err))
		}
		if !ok {
			return rollback(fmt.Errorf("fenced write under %s at version %d: %w", key, token, ErrLost))
		}
	}
	if err := fn(ent.NewTxContext(ent.NewContext(ctx, tx.Client()), tx)); err != nil {
		return rollback(err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("fenced write under %s: commit: %w", key, err)
	}
	return nil
}
