package lock_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"berth/lock"
	"berth/storage"
	"berth/storage/storagetest"
)

// waitRecorder collects what Acquire reports through onWait.
type waitRecorder struct {
	mu    sync.Mutex
	calls []lock.BusyError
	first chan struct{}
}

func newWaitRecorder() *waitRecorder { return &waitRecorder{first: make(chan struct{})} }

func (r *waitRecorder) onWait(b *lock.BusyError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, *b)
	if len(r.calls) == 1 {
		close(r.first)
	}
}

func (r *waitRecorder) holders() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		out = append(out, c.Key+"/"+c.Holder)
	}
	return out
}

// Acquire waits for a busy key and gets it once it is released: by another
// Manager (it finds out by polling) or by its own (it is woken at once).
func TestAcquireWaits(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		tests := []struct {
			name        string
			sameManager bool
			// within bounds the time from release to acquisition. Polling
			// has backed off to 250-500 ms after a second of waiting, so
			// 200 ms can only be met by the wake-up.
			within time.Duration
		}{
			{name: "released by another manager", within: 2 * time.Second},
			{name: "released by the same manager", sameManager: true, within: 200 * time.Millisecond},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				key := fmt.Sprintf("app:%d", i)
				mB := newManager(db, nil)
				mA := mB
				if !tt.sameManager {
					mA = newManager(db, nil)
				}
				a := mustAcquire(t, mA, holderA, key)

				rec := newWaitRecorder()
				type result struct {
					l   *lock.Lease
					err error
					at  time.Time
				}
				got := make(chan result, 1)
				go func() {
					l, err := mB.Acquire(ctx, holderB, []string{key, "other"}, rec.onWait)
					got <- result{l, err, time.Now()}
				}()
				<-rec.first
				time.Sleep(time.Second) // several polls, and backoff at its cap
				select {
				case r := <-got:
					t.Fatalf("acquired while held: %+v", r)
				default:
				}
				released := time.Now()
				if err := mA.Release(ctx, a); err != nil {
					t.Fatal(err)
				}
				r := <-got
				if r.err != nil {
					t.Fatalf("acquire: %v", r.err)
				}
				if d := r.at.Sub(released); d > tt.within {
					t.Errorf("acquired %v after the release, want within %v", d, tt.within)
				}
				if want := []string{key + "/task_A"}; fmt.Sprint(rec.holders()) != fmt.Sprint(want) {
					t.Errorf("onWait calls = %v, want one naming the holder: %v", rec.holders(), want)
				}
				if w := rec.calls[0]; w.HolderPID != holderA.PID || w.HolderHost != holderA.Host {
					t.Errorf("onWait got %+v, want pid and host of %v", w, holderA)
				}
				wantHolders(t, db, map[string]string{key: "task_B", "other": "task_B"})
				if err := mB.Release(ctx, r.l); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

// Cancelling the context of a waiting Acquire stops it, and it holds
// nothing afterwards, not even the keys it could have taken.
func TestAcquireCancelled(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		m := newManager(db, nil)
		mustAcquire(t, m, holderA, "b")
		rec := newWaitRecorder()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		l, err := m.Acquire(ctx, holderB, []string{"a", "b", "c"}, rec.onWait)
		if !errors.Is(err, context.DeadlineExceeded) || l != nil {
			t.Fatalf("acquire = %v, %v; want context.DeadlineExceeded", l, err)
		}
		if got := fmt.Sprint(rec.holders()); got != "[b/task_A]" {
			t.Errorf("onWait calls = %s, want [b/task_A]", got)
		}
		wantHolders(t, db, map[string]string{"a": "", "b": "task_A", "c": ""})

		// A context cancelled before the call takes nothing either.
		l, err = m.Acquire(ctx, holderB, []string{"a"}, nil)
		if !errors.Is(err, context.DeadlineExceeded) || l != nil {
			t.Errorf("acquire with a done context = %v, %v", l, err)
		}
		wantHolders(t, db, map[string]string{"a": ""})
	})
}

// Many goroutines take one key in turn, 200 rounds in all; never are two
// inside at once. The holders check it themselves (an atomic count of who
// is inside) and through the database: each reads a counter, and writes it
// plus one under the lock, so an overlap would lose an increment.
func TestMutualExclusion(t *testing.T) {
	const workers, rounds = 8, 25
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		for _, shared := range []bool{true, false} {
			name := map[bool]string{true: "one manager", false: "a manager each"}[shared]
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				key := "shared:" + name
				c := newCounter(t, db)
				t.Cleanup(func() { _, _ = db.SQL.Exec("DROP TABLE lock_test_counter") })
				one := newManager(db, nil)
				var (
					inside, maxInside atomic.Int32
					wg                sync.WaitGroup
					errs              = make(chan error, workers)
				)
				for w := range workers {
					m := one
					if !shared {
						m = newManager(db, nil)
					}
					h := lock.Holder{ID: fmt.Sprintf("task_%d", w), PID: w}
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range rounds {
							if err := round(ctx, m, h, key, c, &inside, &maxInside); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				if n := maxInside.Load(); n != 1 {
					t.Errorf("at most %d holders inside at once, want 1", n)
				}
				if n, err := c.get(ctx); err != nil || n != workers*rounds {
					t.Errorf("counter = %d, %v; want %d", n, err, workers*rounds)
				}
				wantHolders(t, db, map[string]string{key: ""})
			})
		}
	})
}

// round is one turn of a holder in TestMutualExclusion.
func round(ctx context.Context, m *lock.Manager, h lock.Holder, key string, c counter, inside, maxInside *atomic.Int32) error {
	l, err := m.Acquire(ctx, h, []string{key}, nil)
	if err != nil {
		return err
	}
	n := inside.Add(1)
	for {
		prev := maxInside.Load()
		if n <= prev || maxInside.CompareAndSwap(prev, n) {
			break
		}
	}
	v, err := c.get(ctx)
	if err == nil {
		time.Sleep(100 * time.Microsecond) // widen the window an overlap would need
		err = m.Fenced(ctx, l, key, func(ctx context.Context) error { return setInTx(ctx, v+1) })
	}
	inside.Add(-1)
	if rerr := m.Release(ctx, l); err == nil {
		err = rerr
	}
	return err
}
