package lock_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"berth/ent"
	entlock "berth/ent/lock"
	"berth/lock"
	"berth/storage"
	"berth/storage/storagetest"
)

var (
	holderA = lock.Holder{ID: "task_A", PID: 101, Host: "host-a"}
	holderB = lock.Holder{ID: "task_B", PID: 202, Host: "host-b"}
	holderC = lock.Holder{ID: "task_C"}
)

// testClock is a clock tests move by hand; it stands still otherwise.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newManager(db *storage.DB, clk *testClock, opts ...lock.Option) *lock.Manager {
	opts = append([]lock.Option{lock.WithLogger(quietLog())}, opts...)
	if clk != nil {
		opts = append(opts, lock.WithClock(clk.Now))
	}
	return lock.NewManager(db.Client, opts...)
}

func mustAcquire(t *testing.T, m *lock.Manager, h lock.Holder, keys ...string) *lock.Lease {
	t.Helper()
	l, err := m.TryAcquire(context.Background(), h, keys)
	if err != nil {
		t.Fatalf("%s acquire %v: %v", h.ID, keys, err)
	}
	return l
}

// holders returns the holder of each key ("" when free or missing).
func holders(t *testing.T, db *storage.DB, keys ...string) map[string]string {
	t.Helper()
	rows, err := db.Client.Lock.Query().Where(entlock.KeyIn(keys...)).All(context.Background())
	if err != nil {
		t.Fatalf("read locks: %v", err)
	}
	got := map[string]string{}
	for _, k := range keys {
		got[k] = ""
	}
	for _, r := range rows {
		got[r.Key] = r.Holder
	}
	return got
}

func wantHolders(t *testing.T, db *storage.DB, want map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	got := holders(t, db, keys...)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("holder of %s = %q, want %q", k, got[k], w)
		}
	}
}

// counter is a one-row table that holders of a lock read and then write
// under it: a lost update reveals two holders at once.
type counter struct{ db *storage.DB }

func newCounter(t testing.TB, db *storage.DB) counter {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE lock_test_counter (name VARCHAR(64) NOT NULL PRIMARY KEY, n BIGINT NOT NULL)",
		"INSERT INTO lock_test_counter (name, n) VALUES ('c', 0)",
	} {
		if _, err := db.SQL.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return counter{db}
}

func (c counter) get(ctx context.Context) (int64, error) {
	var n int64
	err := c.db.SQL.QueryRowContext(ctx, "SELECT n FROM lock_test_counter WHERE name = 'c'").Scan(&n)
	return n, err
}

// set writes n through the transaction of a Fenced call.
func setInTx(ctx context.Context, n int64) error {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		return errors.New("no transaction in the context of a fenced write")
	}
	_, err := tx.ExecContext(ctx, "UPDATE lock_test_counter SET n = ? WHERE name = 'c'", n)
	return err
}

func TestTryAcquire(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		tests := []struct {
			name       string
			setup      func(t *testing.T, m *lock.Manager, key func(string) string)
			holder     lock.Holder
			keys       []string
			wantTokens map[string]int64
			wantBusy   *lock.BusyError // only Key, Holder, HolderPID, HolderHost compared
			wantErr    string
			wantHeld   map[string]string // holders afterwards
		}{
			{
				name:       "new keys are created, sorted and deduplicated",
				holder:     holderA,
				keys:       []string{"b", "a", "b"},
				wantTokens: map[string]int64{"a": 1, "b": 1},
				wantHeld:   map[string]string{"a": "task_A", "b": "task_A"},
			},
			{
				name: "all or none: one busy key gives back the others",
				setup: func(t *testing.T, m *lock.Manager, key func(string) string) {
					mustAcquire(t, m, holderA, key("b"))
				},
				holder:   holderB,
				keys:     []string{"a", "b", "c"},
				wantBusy: &lock.BusyError{Key: "b", Holder: "task_A", HolderPID: 101, HolderHost: "host-a"},
				wantHeld: map[string]string{"a": "", "b": "task_A", "c": ""},
			},
			{
				name: "not reentrant: a key held under the same ID is busy",
				setup: func(t *testing.T, m *lock.Manager, key func(string) string) {
					mustAcquire(t, m, holderA, key("a"))
				},
				holder:   holderA,
				keys:     []string{"a"},
				wantBusy: &lock.BusyError{Key: "a", Holder: "task_A", HolderPID: 101, HolderHost: "host-a"},
				wantHeld: map[string]string{"a": "task_A"},
			},
			{
				name: "a released key is taken again with the next token",
				setup: func(t *testing.T, m *lock.Manager, key func(string) string) {
					l := mustAcquire(t, m, holderA, key("a"))
					if err := m.Release(context.Background(), l); err != nil {
						t.Fatal(err)
					}
				},
				holder:     holderC,
				keys:       []string{"a"},
				wantTokens: map[string]int64{"a": 2},
				wantHeld:   map[string]string{"a": "task_C"},
			},
			{name: "holder without ID", holder: lock.Holder{}, keys: []string{"a"}, wantErr: "lock holder ID"},
			{name: "no keys", holder: holderA, wantErr: "no lock keys"},
			{name: "empty key", holder: holderA, keys: []string{"a", ""}, wantErr: `lock key ""`},
			{name: "key too long", holder: holderA, keys: []string{strings.Repeat("k", 192)}, wantErr: "want 1 to 191 bytes"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// Each case has keys of its own in the shared database.
				pre := func(k string) string {
					if k == "" || len(k) > 100 {
						return k // invalid as given
					}
					return tt.name + "/" + k
				}
				m := newManager(db, nil)
				if tt.setup != nil {
					// Another Manager, as if another process held the keys.
					tt.setup(t, newManager(db, nil), pre)
				}
				keys := make([]string, len(tt.keys))
				for i, k := range tt.keys {
					keys[i] = pre(k)
				}
				l, err := m.TryAcquire(context.Background(), tt.holder, keys)
				var busy *lock.BusyError
				switch {
				case tt.wantErr != "":
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.As(err, &busy) {
						t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
					}
				case tt.wantBusy != nil:
					if !errors.As(err, &busy) {
						t.Fatalf("err = %v, want *BusyError", err)
					}
					want := *tt.wantBusy
					want.Key = pre(want.Key)
					got := *busy
					if got.ExpiresAt.IsZero() {
						t.Errorf("BusyError.ExpiresAt is zero")
					}
					got.ExpiresAt = time.Time{}
					if got != want {
						t.Errorf("busy = %+v, want %+v", got, want)
					}
					if l != nil {
						t.Errorf("got a lease with a busy key")
					}
				default:
					if err != nil {
						t.Fatalf("acquire: %v", err)
					}
					want := map[string]int64{}
					for k, v := range tt.wantTokens {
						want[pre(k)] = v
					}
					if !equalTokens(l.Tokens, want) {
						t.Errorf("tokens = %v, want %v", l.Tokens, want)
					}
					if l.Holder != tt.holder {
						t.Errorf("lease holder = %v, want %v", l.Holder, tt.holder)
					}
				}
				held := map[string]string{}
				for k, v := range tt.wantHeld {
					held[pre(k)] = v
				}
				wantHolders(t, db, held)
			})
		}
	})
}

func equalTokens(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
