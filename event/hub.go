// Package event fans out in-process events to subscribers: the GraphQL
// subscriptions read from it, the task runner and the change feed publish.
package event

import (
	"context"
	"sync"
)

// Hub delivers each published value to every subscriber whose filter
// accepts it, in publish order. Publishing never blocks: a subscriber that
// falls a whole buffer behind is dropped (its channel closed) rather than
// slowing everyone else; clients then resubscribe and read current state.
type Hub[T any] struct {
	buffer int

	mu   sync.Mutex
	subs map[*subscriber[T]]struct{}
}

// NewHub returns a Hub giving each subscriber a buffer of that many values.
func NewHub[T any](buffer int) *Hub[T] {
	return &Hub[T]{buffer: buffer, subs: map[*subscriber[T]]struct{}{}}
}

type subscriber[T any] struct {
	filter func(T) bool

	mu     sync.Mutex // guards closed and sends on ch
	closed bool
	ch     chan T
}

func (s *subscriber[T]) send(v T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	select {
	case s.ch <- v:
		return true
	default:
		s.closed = true
		close(s.ch)
		return false
	}
}

func (s *subscriber[T]) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

// Subscribe returns a channel of the values filter accepts (all when filter
// is nil). The channel is closed when ctx ends or the subscriber falls
// behind.
func (h *Hub[T]) Subscribe(ctx context.Context, filter func(T) bool) <-chan T {
	s := &subscriber[T]{filter: filter, ch: make(chan T, h.buffer)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.remove(s)
	}()
	return s.ch
}

func (h *Hub[T]) remove(s *subscriber[T]) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	s.close()
}

// Publish delivers v to the subscribers that want it.
func (h *Hub[T]) Publish(v T) {
	// Send outside the hub's lock: one slow subscriber's lock must not hold
	// up subscribing and unsubscribing.
	h.mu.Lock()
	targets := make([]*subscriber[T], 0, len(h.subs))
	for s := range h.subs {
		if s.filter == nil || s.filter(v) {
			targets = append(targets, s)
		}
	}
	h.mu.Unlock()
	for _, s := range targets {
		if !s.send(v) {
			h.mu.Lock()
			delete(h.subs, s)
			h.mu.Unlock()
		}
	}
}

// Len returns the number of subscribers.
func (h *Hub[T]) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
