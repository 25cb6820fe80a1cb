package lock_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"entgo.io/ent/dialect"

	"berth/lock"
	"berth/storage"
	"berth/storage/storagetest"
)

// statements counts the statements an ent driver runs.
type statements struct {
	mu            sync.Mutex
	reads, writes int
}

func (s *statements) log(_ context.Context, v ...any) {
	msg, _ := v[0].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.HasPrefix(msg, "driver.Query"):
		s.reads++
	case strings.HasPrefix(msg, "driver.Exec"):
		s.writes++
	}
}

func (s *statements) take() (reads, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reads, writes = s.reads, s.writes
	s.reads, s.writes = 0, 0
	return reads, writes
}

// The common path costs one statement to acquire a key and one to release
// it; the benchmarks' own-key figures rest on that.
func TestStatementsPerOperation(t *testing.T) {
	count := &statements{}
	wrap := storagetest.WrapDriver(func(d dialect.Driver) dialect.Driver { return dialect.DebugWithContext(d, count.log) })
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		m, other := newManager(db, nil), newManager(db, nil)
		var l *lock.Lease
		acquire := func(m *lock.Manager) func(t *testing.T) {
			return func(t *testing.T) { l = mustAcquire(t, m, holderA, "k") }
		}
		release := func(m *lock.Manager) func(t *testing.T) {
			return func(t *testing.T) {
				if err := m.Release(ctx, l); err != nil {
					t.Fatal(err)
				}
			}
		}
		count.take()
		steps := []struct {
			name                  string
			do                    func(t *testing.T)
			wantReads, wantWrites int
		}{
			{"first use: read, create, take", acquire(m), 1, 2},
			{"release", release(m), 0, 1},
			{"a key this manager saw free: take", acquire(m), 0, 1},
			{"release again", release(m), 0, 1},
			{"taken and released elsewhere", func(t *testing.T) { acquire(other)(t); release(other)(t) }, 1, 2},
			{"a key that moved on: failed take, read, take", acquire(m), 1, 2},
		}
		for _, s := range steps {
			s.do(t)
			if r, w := count.take(); r != s.wantReads || w != s.wantWrites {
				t.Errorf("%s: %d reads and %d writes, want %d and %d", s.name, r, w, s.wantReads, s.wantWrites)
			}
		}
	}, wrap)
}
