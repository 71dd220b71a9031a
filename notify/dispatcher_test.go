package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// memOutbox is an in-memory Outbox for the dispatcher's own logic; the
// stores run the same dispatcher against real databases in their
// conformance suite.
type memOutbox struct {
	mu   sync.Mutex
	rows []*memRow
}

type memRow struct {
	msg        Message
	status     string
	next       time.Time
	owner      string
	leaseUntil time.Time
	reason     string
}

func (o *memOutbox) add(m Message, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rows = append(o.rows, &memRow{msg: m, status: "pending", next: at})
}

func (o *memOutbox) ClaimDue(_ context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Message, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Message
	for _, r := range o.rows {
		if len(out) == limit {
			break
		}
		if r.status == "pending" && !r.next.After(now) && !r.leaseUntil.After(now) {
			r.owner, r.leaseUntil = owner, now.Add(lease)
			r.msg.Attempts++
			out = append(out, r.msg)
		}
	}
	return out, nil
}

func (o *memOutbox) mark(id uuid.UUID, owner string, f func(*memRow)) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range o.rows {
		if r.msg.ID == id {
			if r.owner != owner {
				return ErrLeaseLost
			}
			f(r)
			r.owner, r.leaseUntil = "", time.Time{}
			return nil
		}
	}
	return errors.New("no such message")
}

func (o *memOutbox) MarkDelivered(_ context.Context, id uuid.UUID, owner string, _ time.Time) error {
	return o.mark(id, owner, func(r *memRow) { r.status = "delivered" })
}

func (o *memOutbox) MarkRetry(_ context.Context, id uuid.UUID, owner string, next time.Time, reason string) error {
	return o.mark(id, owner, func(r *memRow) { r.next, r.reason = next, reason })
}

func (o *memOutbox) MarkDead(_ context.Context, id uuid.UUID, owner string, _ time.Time, reason string) error {
	return o.mark(id, owner, func(r *memRow) { r.status, r.reason = "dead", reason })
}

func TestDispatcher(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ob := &memOutbox{}
	n := sample()
	ok, flaky, bad := NewMessage(n, "ok"), NewMessage(n, "flaky"), NewMessage(n, "bad")
	for _, m := range []Message{ok, flaky, bad} {
		ob.add(m, now)
	}
	var sent []string
	tr := TransportFunc(func(_ context.Context, m Message) error {
		sent = append(sent, m.Recipient)
		switch m.Recipient {
		case "flaky":
			if m.Attempts < 3 {
				return errors.New("receiver down")
			}
		case "bad":
			return Permanent(errors.New("400 bad request"))
		}
		return nil
	})
	d := NewDispatcher(ob, tr, DispatcherOptions{Owner: "d1", Now: clock, Backoff: func(int) time.Duration { return time.Minute }})

	res, err := d.DrainOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res != (DrainResult{Delivered: 1, Retried: 1, Dead: 1}) {
		t.Fatalf("first drain = %+v", res)
	}
	if res, _ := d.DrainOnce(context.Background()); res != (DrainResult{}) {
		t.Fatalf("drain before the retry is due = %+v, want nothing", res)
	}
	now = now.Add(time.Minute)
	if res, _ := d.DrainOnce(context.Background()); res.Retried != 1 {
		t.Fatalf("second attempt = %+v, want a retry", res)
	}
	now = now.Add(time.Minute)
	if res, _ := d.DrainOnce(context.Background()); res.Delivered != 1 {
		t.Fatalf("third attempt = %+v, want delivered", res)
	}
	if got := strings.Join(sent, ","); got != "ok,flaky,bad,flaky,flaky" {
		t.Errorf("sent = %s", got)
	}
}

func TestDispatcherMaxAttempts(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ob := &memOutbox{}
	ob.add(NewMessage(sample(), ""), now)
	d := NewDispatcher(ob, TransportFunc(func(context.Context, Message) error { return errors.New("down") }),
		DispatcherOptions{MaxAttempts: 2, Now: func() time.Time { return now }, Backoff: func(int) time.Duration { return 0 }})
	var total DrainResult
	for range 3 {
		res, err := d.DrainOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total.Retried += res.Retried
		total.Dead += res.Dead
	}
	if total != (DrainResult{Retried: 1, Dead: 1}) {
		t.Errorf("attempts = %+v, want one retry then dead", total)
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := ExponentialBackoff(10*time.Second, time.Minute)
	for attempt, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 4: time.Minute, 20: time.Minute} {
		if got := b(attempt); got != want {
			t.Errorf("attempt %d: %s, want %s", attempt, got, want)
		}
	}
}

func TestLogTransport(t *testing.T) {
	var buf bytes.Buffer
	tr := NewLogTransport(slog.New(slog.NewJSONHandler(&buf, nil)))
	m := NewMessage(sample(), "")
	if err := tr.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"kind":"resource_replaced"`, `"template":"docker-dev"`, `"claimant":"alice"`, `"dedup_key":"` + m.DedupKey, `"resource":"kubernetes_pod.main"`, `"fix":"# in module.ws`, `"schema":"claimdrift.notification/v1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log record lacks %s:\n%s", want, out)
		}
	}
	if strings.Count(out, "\n") != 1 {
		t.Errorf("want one log record, got:\n%s", out)
	}
}
