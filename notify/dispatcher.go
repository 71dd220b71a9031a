package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// DispatcherOptions tune a Dispatcher; zero fields take defaults.
type DispatcherOptions struct {
	// Owner names this dispatcher in leases (default: a random id).
	Owner string
	// Lease is how long a claimed message is reserved (default 1m).
	Lease time.Duration
	// Batch is how many messages one claim takes (default 50).
	Batch int
	// MaxAttempts before a message is dead-lettered (default 8).
	MaxAttempts int
	// Backoff returns the delay before retry number attempt (default:
	// exponential from 10s, capped at 1h).
	Backoff func(attempt int) time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives delivery failures (default: discard).
	Logger *slog.Logger
}

// Dispatcher drains an Outbox through a Transport.
type Dispatcher struct {
	outbox    Outbox
	transport Transport
	opts      DispatcherOptions
}

// DrainResult counts what one drain did.
type DrainResult struct {
	Delivered, Retried, Dead int
}

// NewDispatcher returns a dispatcher with defaults filled in.
func NewDispatcher(o Outbox, t Transport, opts DispatcherOptions) *Dispatcher {
	if opts.Owner == "" {
		opts.Owner = "dispatcher-" + uuid.NewString()[:8]
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 50
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.Backoff == nil {
		opts.Backoff = ExponentialBackoff(10*time.Second, time.Hour)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{outbox: o, transport: t, opts: opts}
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

// DrainOnce delivers every message due now, batch after batch, and returns
// when none is left or ctx ends.
func (d *Dispatcher) DrainOnce(ctx context.Context) (DrainResult, error) {
	var res DrainResult
	for {
		msgs, err := d.outbox.ClaimDue(ctx, d.opts.Owner, d.opts.Now(), d.opts.Lease, d.opts.Batch)
		if err != nil {
			return res, fmt.Errorf("claim outbox messages: %w", err)
		}
		if len(msgs) == 0 {
			return res, nil
		}
		for _, m := range msgs {
			if err := d.deliver(ctx, m, &res); err != nil {
				return res, err
			}
		}
	}
}

func (d *Dispatcher) deliver(ctx context.Context, m Message, res *DrainResult) error {
	sendErr := d.transport.Send(ctx, m)
	now := d.opts.Now()
	var err error
	switch {
	case sendErr == nil:
		err = d.outbox.MarkDelivered(ctx, m.ID, d.opts.Owner, now)
		res.Delivered++
	case IsPermanent(sendErr) || m.Attempts >= d.opts.MaxAttempts:
		d.opts.Logger.WarnContext(ctx, "notification dead-lettered", "id", m.ID.String(), "dedup_key", m.DedupKey, "attempts", m.Attempts, "error", sendErr.Error())
		err = d.outbox.MarkDead(ctx, m.ID, d.opts.Owner, now, sendErr.Error())
		res.Dead++
	default:
		d.opts.Logger.InfoContext(ctx, "notification delivery failed, will retry", "id", m.ID.String(), "dedup_key", m.DedupKey, "attempts", m.Attempts, "error", sendErr.Error())
		err = d.outbox.MarkRetry(ctx, m.ID, d.opts.Owner, now.Add(d.opts.Backoff(m.Attempts)), sendErr.Error())
		res.Retried++
	}
	if errors.Is(err, ErrLeaseLost) {
		// Another dispatcher owns it now; it will record the outcome.
		return nil
	}
	if err != nil {
		return fmt.Errorf("record outbox message %s: %w", m.ID, err)
	}
	return nil
}

// Run drains the outbox every interval until ctx ends. Errors are logged
// and the loop goes on; it returns ctx's error.
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := d.DrainOnce(ctx); err != nil && ctx.Err() == nil {
			d.opts.Logger.ErrorContext(ctx, "drain outbox", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
