package lock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"berth/ent"
	"berth/lock"
	"berth/storage"
	"berth/storage/storagetest"
)

func TestRelease(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		tests := []struct {
			name string
			// lease returns the lease to release, given A's lease on x and y.
			lease    func(t *testing.T, m *lock.Manager, a *lock.Lease) *lock.Lease
			ctx      func() context.Context
			wantLost bool
			wantHeld map[string]string
		}{
			{
				name:     "the holder frees its keys",
				lease:    func(t *testing.T, m *lock.Manager, a *lock.Lease) *lock.Lease { return a },
				wantHeld: map[string]string{"x": "", "y": ""},
			},
			{
				name: "even with a cancelled context",
				lease: func(t *testing.T, m *lock.Manager, a *lock.Lease) *lock.Lease {
					return a
				},
				ctx: func() context.Context {
					ctx, cancel := context.WithCancel(context.Background())
					cancel()
					return ctx
				},
				wantHeld: map[string]string{"x": "", "y": ""},
			},
			{
				name: "another holder with the right tokens does nothing",
				lease: func(t *testing.T, m *lock.Manager, a *lock.Lease) *lock.Lease {
					return &lock.Lease{Holder: holderB, Tokens: a.Tokens}
				},
				wantLost: true,
				wantHeld: map[string]string{"x": "task_A", "y": "task_A"},
			},
			{
				name: "the holder with a stale token does nothing",
				lease: func(t *testing.T, m *lock.Manager, a *lock.Lease) *lock.Lease {
					stale := map[string]int64{}
					for k, v := range a.Tokens {
						stale[k] = v - 1
					}
					return &lock.Lease{Holder: holderA, Tokens: stale}
				},
				wantLost: true,
				wantHeld: map[string]string{"x": "task_A", "y": "task_A"},
			},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := newManager(db, nil)
				x, y := string(rune('a'+i))+":x", string(rune('a'+i))+":y"
				// Acquire twice so that the tokens are 2 and a stale one exists.
				first := mustAcquire(t, m, holderA, x, y)
				if err := m.Release(context.Background(), first); err != nil {
					t.Fatal(err)
				}
				a := mustAcquire(t, m, holderA, x, y)
				ctx := context.Background()
				if tt.ctx != nil {
					ctx = tt.ctx()
				}
				err := m.Release(ctx, tt.lease(t, m, a))
				if got := errors.Is(err, lock.ErrLost); got != tt.wantLost || (err != nil && !got) {
					t.Errorf("release: %v, want lost %v", err, tt.wantLost)
				}
				wantHolders(t, db, map[string]string{x: tt.wantHeld["x"], y: tt.wantHeld["y"]})
			})
		}
	})
}

func TestReleaseHolder(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		m := newManager(db, nil)
		a1 := mustAcquire(t, m, holderA, "x", "y")
		mustAcquire(t, m, holderA, "z")
		mustAcquire(t, m, holderB, "w")

		for _, tc := range []struct {
			holder string
			want   int
		}{
			{"task_A", 3},
			{"task_A", 0}, // nothing left
			{"task_nobody", 0},
		} {
			n, err := m.ReleaseHolder(ctx, tc.holder)
			if err != nil || n != tc.want {
				t.Errorf("ReleaseHolder(%s) = %d, %v; want %d", tc.holder, n, err, tc.want)
			}
		}
		wantHolders(t, db, map[string]string{"x": "", "y": "", "z": "", "w": "task_B"})
		if err := m.Renew(ctx, a1); !errors.Is(err, lock.ErrLost) {
			t.Errorf("renew of a released holder's lease: %v, want ErrLost", err)
		}
		if _, err := m.ReleaseHolder(ctx, ""); err == nil {
			t.Errorf("ReleaseHolder without ID: no error")
		}
		// The freed keys are free for anyone.
		mustAcquire(t, m, holderC, "x", "y", "z")
	})
}

// A lease that expires is taken over; from then on its holder can neither
// renew, release nor write under it.
func TestExpiryAndTakeover(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		clk := newTestClock()
		c := newCounter(t, db)
		mA := newManager(db, clk, lock.WithLease(30*time.Second))
		mB := newManager(db, clk, lock.WithLease(30*time.Second))

		a := mustAcquire(t, mA, holderA, "k")
		if want := clk.Now().Add(30 * time.Second); !a.ExpiresAt().Equal(want) {
			t.Errorf("lease expires at %v, want %v", a.ExpiresAt(), want)
		}

		steps := []struct {
			advance  time.Duration
			renewA   bool
			wantBusy bool
		}{
			{advance: 29 * time.Second, wantBusy: true},
			{renewA: true, wantBusy: true},               // A renews at 29 s: until 59 s
			{advance: 2 * time.Second, wantBusy: true},   // 31 s: the first lease would be over
			{advance: 28 * time.Second, wantBusy: false}, // 59 s: the renewed one is
		}
		var b *lock.Lease
		for i, s := range steps {
			clk.Advance(s.advance)
			if s.renewA {
				if err := mA.Renew(ctx, a); err != nil {
					t.Fatalf("step %d: renew: %v", i, err)
				}
			}
			var err error
			b, err = mB.TryAcquire(ctx, holderB, []string{"k"})
			var busy *lock.BusyError
			if got := errors.As(err, &busy); got != s.wantBusy {
				t.Fatalf("step %d: B acquire: %v, want busy %v", i, err, s.wantBusy)
			}
			if busy != nil && (busy.Holder != "task_A" || !busy.ExpiresAt.Equal(a.ExpiresAt())) {
				t.Errorf("step %d: busy = %+v, want held by task_A until %v", i, busy, a.ExpiresAt())
			}
		}
		if b.Tokens["k"] <= a.Tokens["k"] {
			t.Errorf("takeover token %d not above the old one %d", b.Tokens["k"], a.Tokens["k"])
		}

		// The old holder is fenced off.
		if err := mA.Renew(ctx, a); !errors.Is(err, lock.ErrLost) {
			t.Errorf("old holder's renew: %v, want ErrLost", err)
		}
		ran := false
		err := mA.Fenced(ctx, a, "k", func(ctx context.Context) error {
			ran = true
			return setInTx(ctx, 666)
		})
		if !errors.Is(err, lock.ErrLost) || ran {
			t.Errorf("old holder's fenced write: err %v, ran %v; want ErrLost without running", err, ran)
		}
		if err := mA.Release(ctx, a); !errors.Is(err, lock.ErrLost) {
			t.Errorf("old holder's release: %v, want ErrLost", err)
		}
		// The new holder is not disturbed by any of it.
		if err := mB.Fenced(ctx, b, "k", func(ctx context.Context) error { return setInTx(ctx, 1) }); err != nil {
			t.Errorf("new holder's fenced write: %v", err)
		}
		if n, err := c.get(ctx); err != nil || n != 1 {
			t.Errorf("counter = %d, %v; want only the new holder's write (1)", n, err)
		}
		wantHolders(t, db, map[string]string{"k": "task_B"})
	})
}

// With a clock that stands still, Renew and the touch of Fenced write the
// values a row already has. MySQL reports such an UPDATE as affecting no
// row; that must not read as a lost lock.
func TestRenewAndFencedWithUnchangedRow(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		newCounter(t, db)
		m := newManager(db, newTestClock())
		l := mustAcquire(t, m, holderA, "k")
		for i := range 3 {
			if err := m.Renew(ctx, l); err != nil {
				t.Fatalf("renew %d: %v", i, err)
			}
			if err := m.Fenced(ctx, l, "k", func(ctx context.Context) error { return setInTx(ctx, int64(i)) }); err != nil {
				t.Fatalf("fenced %d: %v", i, err)
			}
		}
	})
}

func TestFenced(t *testing.T) {
	errBoom := errors.New("boom")
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		c := newCounter(t, db)
		m := newManager(db, nil)
		l := mustAcquire(t, m, holderA, "k")
		tests := []struct {
			name    string
			key     string
			fn      func(ctx context.Context) error
			wantErr error // matched with errors.Is; nil for success
			want    int64 // counter afterwards
		}{
			{
				name: "write commits",
				key:  "k",
				fn:   func(ctx context.Context) error { return setInTx(ctx, 5) },
				want: 5,
			},
			{
				name: "the transactional client is in the context",
				key:  "k",
				fn: func(ctx context.Context) error {
					// Written through ent.FromContext, rolled back by the error:
					// proves the client is the transaction's.
					if _, err := ent.FromContext(ctx).ExecContext(ctx, "UPDATE lock_test_counter SET n = 99"); err != nil {
						return err
					}
					return errBoom
				},
				wantErr: errBoom,
				want:    5,
			},
			{
				name:    "fn's error rolls back and is returned",
				key:     "k",
				fn:      func(ctx context.Context) error { _ = setInTx(ctx, 7); return errBoom },
				wantErr: errBoom,
				want:    5,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := m.Fenced(ctx, l, tt.key, tt.fn)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Errorf("fenced: %v, want %v", err, tt.wantErr)
				}
				if n, err := c.get(ctx); err != nil || n != tt.want {
					t.Errorf("counter = %d, %v; want %d", n, err, tt.want)
				}
			})
		}
		t.Run("key not in the lease", func(t *testing.T) {
			ran := false
			err := m.Fenced(ctx, l, "other", func(context.Context) error { ran = true; return nil })
			if err == nil || errors.Is(err, lock.ErrLost) || ran {
				t.Errorf("fenced under a key not leased: err %v, ran %v", err, ran)
			}
		})
	})
}

// A takeover that comes while a fenced write is in progress waits for it to
// commit: the write lands while its writer still held the lock.
func TestFencedHoldsOffTakeover(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		clk := newTestClock()
		c := newCounter(t, db)
		mA := newManager(db, clk)
		mB := newManager(db, clk)
		a := mustAcquire(t, mA, holderA, "k")

		inside, proceed := make(chan struct{}), make(chan struct{})
		fenced := make(chan error, 1)
		go func() {
			fenced <- mA.Fenced(ctx, a, "k", func(ctx context.Context) error {
				if err := setInTx(ctx, 1); err != nil {
					return err
				}
				close(inside)
				<-proceed
				return nil
			})
		}()
		<-inside
		clk.Advance(lock.DefaultLease + time.Second) // A's lease is over
		taken := make(chan error, 1)
		go func() {
			_, err := mB.TryAcquire(ctx, holderB, []string{"k"})
			taken <- err
		}()
		select {
		case err := <-taken:
			t.Fatalf("takeover finished during the fenced write: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		close(proceed)
		if err := <-fenced; err != nil {
			t.Fatalf("fenced write: %v", err)
		}
		if err := <-taken; err != nil {
			t.Fatalf("takeover after the fenced write: %v", err)
		}
		if n, err := c.get(ctx); err != nil || n != 1 {
			t.Errorf("counter = %d, %v; want the fenced write (1)", n, err)
		}
		wantHolders(t, db, map[string]string{"k": "task_B"})
	})
}
