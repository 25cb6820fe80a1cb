package command_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"berth/command"
	"berth/ent"
	"berth/storage"
	"berth/storage/storagetest"
)

func TestEffective(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{"abort", "abort", "abort"}, []string{"abort"}},
		{[]string{"stop", "start"}, []string{"start"}},
		{[]string{"start", "stop", "restart", "stop"}, []string{"stop"}},
		{[]string{"stop", "abort", "start", "abort"}, []string{"abort", "start"}},
	}
	for _, tt := range tests {
		var cmds []*ent.Command
		for _, n := range tt.in {
			cmds = append(cmds, &ent.Command{Command: n})
		}
		var got []string
		for _, c := range command.Effective(cmds) {
			got = append(got, c.Command)
		}
		if len(got) != len(tt.want) {
			t.Errorf("Effective(%v) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("Effective(%v) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}

// Many concurrent writers enqueue; one consumer applies the effect once and
// every command ends consumed.
func TestConcurrentEnqueueConsumedOnce(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		q := command.NewQueue(db.Client, nil)
		const writers = 50
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				if _, err := q.Enqueue(ctx, "test", "task_X", command.Abort, nil); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var applied atomic.Int32
		n, err := q.Consume(ctx, "task_X", func(ctx context.Context, cmds []*ent.Command) error {
			for range command.Effective(cmds) {
				applied.Add(1)
			}
			return nil
		})
		if err != nil || n != writers {
			t.Fatalf("Consume = %d, %v; want %d", n, err, writers)
		}
		if applied.Load() != 1 {
			t.Fatalf("abort applied %d times, want once", applied.Load())
		}
		if left, _ := q.Pending(ctx, "task_X"); len(left) != 0 {
			t.Fatalf("%d commands still pending", len(left))
		}
		consumed := db.Client.Command.Query().CountX(ctx)
		if consumed != writers {
			t.Fatalf("%d command rows, want %d", consumed, writers)
		}
		// Nothing left: a second consume applies nothing.
		n, err = q.Consume(ctx, "task_X", func(context.Context, []*ent.Command) error {
			t.Error("apply called with no commands")
			return nil
		})
		if n != 0 || err != nil {
			t.Fatalf("second Consume = %d, %v", n, err)
		}
	})
}

// A failing apply leaves the commands pending, and what it wrote is undone.
func TestConsumeRollsBack(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		q := command.NewQueue(db.Client, nil)
		if _, err := q.Enqueue(ctx, "test", "app_X", command.Stop, nil); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		_, err := q.Consume(ctx, "app_X", func(ctx context.Context, cmds []*ent.Command) error {
			// A write in the same transaction, rolled back with it.
			if _, err := q.Enqueue(ctx, "side effect", "other", command.Start, nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Consume error = %v, want boom", err)
		}
		if left, _ := q.Pending(ctx, "app_X"); len(left) != 1 {
			t.Fatalf("pending = %d, want the command back", len(left))
		}
		if n := db.Client.Command.Query().CountX(ctx); n != 1 {
			t.Fatalf("%d rows, want the side effect rolled back", n)
		}
	})
}
