package api

import "context"

// admission lets a bounded number of requests do their database work at
// once; the others wait in the order they arrived (a channel's blocked
// senders are served first in, first out). Without it, requests race for
// the store's connections at every statement, and database/sql hands a
// freed connection to a random waiter: under load a few requests lose
// that draw again and again, which is the latency tail.
// A nil *admission admits everyone at once.
type admission struct {
	slots chan struct{}
}

// newAdmission admits n at once; nil (no limit) when n <= 0.
func newAdmission(n int) *admission {
	if n <= 0 {
		return nil
	}
	return &admission{slots: make(chan struct{}, n)}
}

// enter waits for a slot, in arrival order, or until ctx ends.
func (a *admission) enter(ctx context.Context) error {
	if a == nil {
		return ctx.Err()
	}
	select {
	case a.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave frees the slot enter took.
func (a *admission) leave() {
	if a != nil {
		<-a.slots
	}
}
