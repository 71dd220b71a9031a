package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
)

// DispatcherOptions tune a Dispatcher; zero fields take defaults.
type DispatcherOptions struct {
	// Owner names this dispatcher in leases (default: a random id).
	Owner string
	// Lease is how long a claimed message is reserved (default 1m, at
	// least twice SendTimeout).
	Lease time.Duration
	// Batch is how many messages one claim takes (default 50).
	Batch int
	// MaxAttempts before a message is dead-lettered (default 8).
	MaxAttempts int
	// SendTimeout bounds one delivery attempt (default 15s).
	SendTimeout time.Duration
	// Backoff returns the delay before retry number attempt (default:
	// exponential from 10s, capped at 1h). Jitter is applied on top.
	Backoff func(attempt int) time.Duration
	// Rand returns a number in [0,1) for jitter (default math/rand/v2):
	// a retry waits between half and all of the backoff delay.
	Rand func() float64
	// MaxRetryAfter caps a receiver's Retry-After (default 24h).
	MaxRetryAfter time.Duration
	// Unroutable is how long a message this dispatcher has no transport
	// for (ErrNoTransport) is left for other dispatchers before this one
	// looks at it again (default 1m). It is given back untried: no attempt
	// counted, never dead-lettered.
	Unroutable time.Duration
	// StopGrace is how long a send in flight when ctx ends (a shutdown)
	// may still take, within SendTimeout, so that a receiver answering
	// meanwhile gets its delivery recorded (default 5s).
	StopGrace time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives delivery failures (default: discard).
	Logger *slog.Logger
}

// Dispatcher drains an Outbox through a Transport.
//
// Each recipient gets its own lane: the messages claimed for one recipient
// are sent one after the other by one goroutine, and while a lane is busy
// the dispatcher claims no more messages for that recipient, but goes on
// claiming and sending everybody else's. A receiver that hangs, fails or
// is slow therefore delays only its own messages. A lane that fails stops
// and gives its remaining messages back untried, due when the failed one
// is, and the dispatcher claims none of that recipient's messages until
// then (so a failing receiver gets one attempt per backoff, not one per
// queued message); a lane whose lease would run out before the next send completes
// gives the rest back too, so no other dispatcher ever holds a message
// this one is still sending.
type Dispatcher struct {
	outbox    Outbox
	transport Transport
	opts      DispatcherOptions

	mu    sync.Mutex
	busy  map[string]bool
	hold  map[string]time.Time // recipient failing: claim none of its messages before
	res   DrainResult
	err   error
	wake  chan struct{}
	lanes sync.WaitGroup
}

// DrainResult counts what a drain did. Skipped counts messages given
// back because this dispatcher has no transport for their recipient.
type DrainResult struct {
	Delivered, Retried, Dead, Skipped int
}

// NewDispatcher returns a dispatcher with defaults filled in.
func NewDispatcher(o Outbox, t Transport, opts DispatcherOptions) *Dispatcher {
	if opts.Owner == "" {
		opts.Owner = "dispatcher-" + uuid.NewString()[:8]
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 15 * time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	opts.Lease = max(opts.Lease, 2*opts.SendTimeout)
	if opts.Batch <= 0 {
		opts.Batch = 50
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.Backoff == nil {
		opts.Backoff = ExponentialBackoff(10*time.Second, time.Hour)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 24 * time.Hour
	}
	if opts.Unroutable <= 0 {
		opts.Unroutable = time.Minute
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{outbox: o, transport: t, opts: opts, busy: map[string]bool{}, hold: map[string]time.Time{}, wake: make(chan struct{}, 1)}
}

// ExponentialBackoff doubles the delay from base on each attempt, up to max.
func ExponentialBackoff(base, max time.Duration) func(int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}

// retryDelay is the jittered backoff before the next attempt, or the
// receiver's Retry-After when it sent one.
func (d *Dispatcher) retryDelay(attempt int, err error) time.Duration {
	if ra, ok := RetryAfterOf(err); ok {
		return min(ra, d.opts.MaxRetryAfter)
	}
	b := d.opts.Backoff(attempt)
	return b/2 + time.Duration(d.opts.Rand()*float64(b/2))
}

// DrainOnce delivers every message due now and returns when none is left
// (the lanes it started have all finished) or ctx ends.
func (d *Dispatcher) DrainOnce(ctx context.Context) (DrainResult, error) {
	d.mu.Lock()
	d.res, d.err = DrainResult{}, nil
	d.mu.Unlock()
	err := d.loop(ctx, 0)
	d.lanes.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		err = d.err
	}
	return d.res, err
}

// Run drains the outbox until ctx ends, looking for due messages every
// interval and whenever a lane finishes. Errors are logged and the loop
// goes on; it waits for its lanes and returns ctx's error.
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration) error {
	err := d.loop(ctx, interval)
	d.lanes.Wait()
	return err
}

// loop claims and starts lanes. With interval 0 it returns once nothing
// is due and no lane is busy; otherwise it polls until ctx ends.
func (d *Dispatcher) loop(ctx context.Context, interval time.Duration) error {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, busyAtClaim, err := d.claim(ctx)
		if err != nil {
			if interval == 0 {
				return err
			}
			if ctx.Err() == nil {
				d.opts.Logger.ErrorContext(ctx, "claim outbox messages", "error", err.Error())
			}
		}
		if n > 0 && err == nil {
			continue
		}
		d.mu.Lock()
		idle := len(d.busy) == 0
		laneErr := d.err
		d.mu.Unlock()
		if interval == 0 && laneErr != nil {
			return nil
		}
		if idle && busyAtClaim > 0 && err == nil {
			// A lane finished while the claim skipped its recipient: its
			// other messages may be due, claim again.
			continue
		}
		if interval == 0 && idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
		case <-tick:
		}
	}
}

// claim leases due messages of recipients without a busy lane and starts
// one lane per recipient. It returns how many messages it claimed and how
// many lanes were busy (their recipients skipped) when it claimed.
func (d *Dispatcher) claim(ctx context.Context) (int, int, error) {
	now := d.opts.Now()
	d.mu.Lock()
	exclude := make([]string, 0, len(d.busy)+len(d.hold))
	for r := range d.busy {
		exclude = append(exclude, r)
	}
	busy := len(exclude)
	for r, until := range d.hold {
		switch {
		case !until.After(now):
			delete(d.hold, r)
		case !d.busy[r]:
			exclude = append(exclude, r)
		}
	}
	d.mu.Unlock()
	msgs, err := d.outbox.ClaimDueExcluding(ctx, d.opts.Owner, now, d.opts.Lease, d.opts.Batch, exclude)
	if err != nil {
		return 0, busy, fmt.Errorf("claim outbox messages: %w", err)
	}
	deadline := now.Add(d.opts.Lease)
	var order []string
	groups := map[string][]Message{}
	for _, m := range msgs {
		if _, ok := groups[m.Recipient]; !ok {
			order = append(order, m.Recipient)
		}
		groups[m.Recipient] = append(groups[m.Recipient], m)
	}
	d.mu.Lock()
	for _, r := range order {
		d.busy[r] = true
	}
	d.mu.Unlock()
	for _, r := range order {
		d.lanes.Add(1)
		go d.lane(ctx, r, groups[r], deadline)
	}
	return len(msgs), busy, nil
}

// lane sends one recipient's messages in order.
func (d *Dispatcher) lane(ctx context.Context, recipient string, msgs []Message, deadline time.Time) {
	defer func() {
		d.mu.Lock()
		delete(d.busy, recipient)
		d.mu.Unlock()
		select {
		case d.wake <- struct{}{}:
		default:
		}
		d.lanes.Done()
	}()
	for i, m := range msgs {
		if ctx.Err() != nil {
			// Leave the rest leased: the lease runs out and they are
			// claimed again (this attempt counted, none was made).
			return
		}
		now := d.opts.Now()
		if now.Add(d.opts.SendTimeout).After(deadline) {
			d.release(ctx, msgs[i:], now, "lease ends before the next send could finish")
			return
		}
		next, failed := d.deliver(ctx, m)
		if ctx.Err() != nil {
			return // shutting down: leases run out, the messages are claimed again
		}
		if failed {
			if !next.IsZero() {
				d.mu.Lock()
				d.hold[recipient] = next
				d.mu.Unlock()
			}
			if i+1 < len(msgs) {
				d.release(ctx, msgs[i+1:], next, "recipient failing")
			}
			return
		}
	}
}

func (d *Dispatcher) release(ctx context.Context, msgs []Message, next time.Time, why string) {
	for _, m := range msgs {
		if err := d.outbox.Release(ctx, m.ID, d.opts.Owner, next); err != nil && !errors.Is(err, ErrLeaseLost) {
			d.fail(fmt.Errorf("release outbox message %s (%s): %w", m.ID, why, err))
		}
	}
}

func (d *Dispatcher) fail(err error) {
	d.mu.Lock()
	if d.err == nil {
		d.err = err
	}
	d.mu.Unlock()
	d.opts.Logger.Error("outbox", "error", err.Error())
}

// deliver sends m once and records the outcome. It returns when the
// recipient may be tried again and whether this attempt failed in a way
// that should hold the recipient's other messages back.
func (d *Dispatcher) deliver(ctx context.Context, m Message) (time.Time, bool) {
	// A shutdown gives the send in flight StopGrace more to finish.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.SendTimeout)
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(d.opts.StopGrace, cancel) })
	sendErr := d.transport.Send(sctx, m)
	stopGrace()
	cancel()
	if sendErr != nil && ctx.Err() != nil {
		// Shutting down: the lease runs out and another pass retries.
		return time.Time{}, true
	}
	// The outcome is known: record it even when a shutdown cancelled ctx
	// meanwhile (a delivery recorded is a delivery never repeated).
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.SendTimeout)
	defer rcancel()
	now := d.opts.Now()
	var err error
	var next time.Time
	failed := false
	attrs := []any{"id", m.ID.String(), "recipient", m.Recipient, "dedup_key", m.DedupKey, "attempts", m.Attempts}
	switch {
	case sendErr == nil:
		err = d.outbox.MarkDelivered(rctx, m.ID, d.opts.Owner, now)
		if err == nil {
			d.count(func(r *DrainResult) { r.Delivered++ })
		}
	case errors.Is(sendErr, ErrNoTransport):
		failed = true
		next = now.Add(d.opts.Unroutable)
		d.opts.Logger.WarnContext(ctx, "no transport for this recipient here; left for another dispatcher", append(attrs, "error", sendErr.Error())...)
		err = d.outbox.Release(rctx, m.ID, d.opts.Owner, next)
		if err == nil {
			d.count(func(r *DrainResult) { r.Skipped++ })
		}
	case IsPermanent(sendErr) || m.Attempts >= d.opts.MaxAttempts:
		d.opts.Logger.WarnContext(ctx, "notification dead-lettered", append(attrs, "error", sendErr.Error())...)
		err = d.outbox.MarkDead(rctx, m.ID, d.opts.Owner, now, sendErr.Error())
		if err == nil {
			d.count(func(r *DrainResult) { r.Dead++ })
		}
	default:
		failed = true
		next = now.Add(d.retryDelay(m.Attempts, sendErr))
		d.opts.Logger.InfoContext(ctx, "notification delivery failed, will retry", append(attrs, "next_attempt_at", next.UTC().Format(time.RFC3339), "error", sendErr.Error())...)
		err = d.outbox.MarkRetry(rctx, m.ID, d.opts.Owner, next, sendErr.Error())
		if err == nil {
			d.count(func(r *DrainResult) { r.Retried++ })
		}
	}
	if errors.Is(err, ErrLeaseLost) {
		// Another dispatcher owns it now; it will record the outcome.
		return next, failed
	}
	if err != nil {
		d.fail(fmt.Errorf("record outbox message %s: %w", m.ID, err))
	}
	return next, failed
}

func (d *Dispatcher) count(f func(*DrainResult)) {
	d.mu.Lock()
	f(&d.res)
	d.mu.Unlock()
}
