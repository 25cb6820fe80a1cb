package event

import (
	"context"
	"testing"
	"time"
)

func TestHub(t *testing.T) {
	h := NewHub[int](4)
	ctx, cancel := context.WithCancel(context.Background())
	all := h.Subscribe(ctx, nil)
	even := h.Subscribe(ctx, func(v int) bool { return v%2 == 0 })
	for v := range 4 {
		h.Publish(v)
	}
	if got := drain(all, 4); !equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("all = %v", got)
	}
	if got := drain(even, 2); !equal(got, []int{0, 2}) {
		t.Errorf("even = %v", got)
	}
	cancel()
	waitFor(t, func() bool { return h.Len() == 0 })
	if _, ok := <-all; ok {
		t.Errorf("channel open after its context ended")
	}
}

// A subscriber that stops reading is dropped; the others keep receiving.
func TestHubDropsSlowSubscriber(t *testing.T) {
	h := NewHub[int](2)
	ctx := context.Background()
	slow := h.Subscribe(ctx, nil)
	fast := h.Subscribe(ctx, nil)
	for v := range 10 {
		h.Publish(v)
		if got := <-fast; got != v {
			t.Fatalf("fast got %d, want %d", got, v)
		}
	}
	if got := drain(slow, 3); !equal(got, []int{0, 1}) {
		t.Errorf("slow = %v, want the first buffer then closed", got)
	}
	if h.Len() != 1 {
		t.Errorf("subscribers = %d, want 1", h.Len())
	}
}

func drain(ch <-chan int, max int) []int {
	var out []int
	for len(out) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, v)
		case <-time.After(time.Second):
			return out
		}
	}
	return out
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
