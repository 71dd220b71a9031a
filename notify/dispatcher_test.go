package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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

func (o *memOutbox) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Message, error) {
	return o.ClaimDueExcluding(ctx, owner, now, lease, limit, nil)
}

func (o *memOutbox) ClaimDueExcluding(_ context.Context, owner string, now time.Time, lease time.Duration, limit int, exclude []string) ([]Message, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Message
	for _, r := range o.rows {
		if len(out) == limit {
			break
		}
		if slices.Contains(exclude, r.msg.Recipient) {
			continue
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

func (o *memOutbox) Release(_ context.Context, id uuid.UUID, owner string, next time.Time) error {
	return o.mark(id, owner, func(r *memRow) { r.next = next; r.msg.Attempts-- })
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
	var mu sync.Mutex
	var sent []string
	tr := TransportFunc(func(_ context.Context, m Message) error {
		mu.Lock()
		sent = append(sent, m.Recipient)
		mu.Unlock()
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
	slices.Sort(sent)
	if got := strings.Join(sent, ","); got != "bad,flaky,flaky,flaky,ok" {
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

func TestDispatcherRetryPolicy(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		err      error
		rand     float64
		attempts int
		wantNext time.Duration // after now; -1: dead
	}{
		{"backoff with no jitter draw waits half", errors.New("down"), 0, 1, 5 * time.Second},
		{"backoff with full jitter draw waits it all", errors.New("down"), 0.999999, 1, 10 * time.Second},
		{"backoff doubles", errors.New("down"), 0, 3, 20 * time.Second},
		{"retry-after honoured exactly", RetryAfter(errors.New("429"), 90*time.Second), 0.5, 1, 90 * time.Second},
		{"retry-after capped", RetryAfter(errors.New("429"), 48*time.Hour), 0.5, 1, 24 * time.Hour},
		{"permanent is dead at once", Permanent(errors.New("404")), 0.5, 1, -1},
		{"last attempt is dead", errors.New("down"), 0.5, 4, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ob := &memOutbox{}
			m := NewMessage(sample(), "r")
			m.Attempts = tt.attempts - 1
			ob.add(m, now)
			d := NewDispatcher(ob, TransportFunc(func(context.Context, Message) error { return tt.err }), DispatcherOptions{
				MaxAttempts: 4, Now: func() time.Time { return now }, Rand: func() float64 { return tt.rand },
				Backoff: ExponentialBackoff(10*time.Second, time.Hour)})
			res, err := d.DrainOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			row := ob.rows[0]
			if tt.wantNext < 0 {
				if res.Dead != 1 || row.status != "dead" || row.reason != tt.err.Error() {
					t.Fatalf("res %+v row %+v, want dead", res, row)
				}
				return
			}
			got := row.next.Sub(now).Round(time.Millisecond)
			if res.Retried != 1 || got != tt.wantNext {
				t.Fatalf("res %+v, next attempt in %s, want %s", res, got, tt.wantNext)
			}
		})
	}
}

// TestDispatcherFailingRecipientKeepsItsOwnBack: when a recipient fails,
// its other messages go back untried (attempt not counted) and due when
// it is; other recipients are unaffected.
func TestDispatcherFailingRecipientKeepsItsOwnBack(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ob := &memOutbox{}
	for i := range 3 {
		n := sample()
		n.BuildID = uuid.New()
		ob.add(NewMessage(n, "down"), now.Add(time.Duration(i)*time.Millisecond-time.Second))
		ob.add(NewMessage(n, "up"), now)
	}
	var mu sync.Mutex
	tries := map[string]int{}
	tr := TransportFunc(func(_ context.Context, m Message) error {
		mu.Lock()
		tries[m.Recipient]++
		mu.Unlock()
		if m.Recipient == "down" {
			return errors.New("503")
		}
		return nil
	})
	d := NewDispatcher(ob, tr, DispatcherOptions{Now: func() time.Time { return now }, Rand: func() float64 { return 0 }})
	res, err := d.DrainOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res != (DrainResult{Delivered: 3, Retried: 1}) || tries["down"] != 1 || tries["up"] != 3 {
		t.Fatalf("res %+v tries %v, want the failing recipient tried once and the other three times", res, tries)
	}
	for _, r := range ob.rows {
		if r.msg.Recipient != "down" {
			continue
		}
		if r.status != "pending" || !r.next.Equal(now.Add(5*time.Second)) || r.owner != "" {
			t.Errorf("held-back message %+v, want pending, unleased, due in 5s", r)
		}
		if r.reason == "" && r.msg.Attempts != 0 {
			t.Errorf("untried message counts %d attempts", r.msg.Attempts)
		}
	}
}

// TestDispatcherLeaseDeadline: a lane whose lease would end before the
// next send could finish gives its remaining messages back.
func TestDispatcherLeaseDeadline(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ob := &memOutbox{}
	for range 5 {
		n := sample()
		n.BuildID = uuid.New()
		ob.add(NewMessage(n, "slow"), now)
	}
	sent := 0
	tr := TransportFunc(func(context.Context, Message) error {
		mu.Lock()
		defer mu.Unlock()
		sent++
		now = now.Add(25 * time.Second) // each send takes 25s of the 60s lease
		return nil
	})
	d := NewDispatcher(ob, tr, DispatcherOptions{Now: clock, Lease: time.Minute, SendTimeout: 10 * time.Second, Batch: 5})
	if _, err := d.DrainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Sends at 0s and 25s fit (each must end by 50s); the third would start at
	// 50s and could run past 60s, so it and the rest are released and then
	// claimed again by the next loop of the same drain.
	if sent != 5 {
		t.Fatalf("sent %d, want all 5 in the end", sent)
	}
	for _, r := range ob.rows {
		if r.status != "delivered" || r.msg.Attempts != 1 {
			t.Errorf("row %+v, want delivered on the first counted attempt", r)
		}
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	r := Recipient{ID: uuid.New(), Channel: ChannelWebhook, Address: "https://x.example/h", Secret: "planted-secret-value"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("r", "recipient", r, "secret", r.Secret)
	j, _ := json.Marshal(r)
	for name, s := range map[string]string{
		//lint:ignore S1025 the test checks what the %s verb prints for a Secret
		"%v": fmt.Sprintf("%v", r), "%+v": fmt.Sprintf("%+v", r), "%#v": fmt.Sprintf("%#v", r), "%s": fmt.Sprintf("%s", r.Secret),
		"json": string(j), "slog": buf.String(),
	} {
		if strings.Contains(s, "planted-secret-value") {
			t.Errorf("%s prints the secret: %s", name, s)
		}
	}
	if r.Secret.Reveal() != "planted-secret-value" {
		t.Error("Reveal lost the value")
	}
}

// TestDispatcherNoTransportLeavesMessage: a dispatcher that cannot route a
// message (the log transport given a webhook recipient, email without
// SMTP) gives it back untried, again and again, never dead-lettering it,
// while delivering the messages it can.
func TestDispatcherNoTransportLeavesMessage(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ob := &memOutbox{}
	stored := NewMessage(sample(), uuid.NewString())
	ob.add(stored, now)
	ob.add(NewMessage(sample(), ""), now)
	var buf bytes.Buffer
	d := NewDispatcher(ob, NewLogTransport(slog.New(slog.NewTextHandler(&buf, nil))), DispatcherOptions{MaxAttempts: 2, Now: func() time.Time { return now }})
	var total DrainResult
	for range 5 {
		res, err := d.DrainOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total.Delivered += res.Delivered
		total.Skipped += res.Skipped
		total.Dead += res.Dead
		now = now.Add(time.Minute)
	}
	if total.Delivered != 1 || total.Dead != 0 || total.Skipped != 5 {
		t.Fatalf("total %+v, want the default message delivered and the stored recipient's skipped each time", total)
	}
	for _, r := range ob.rows {
		if r.msg.ID == stored.ID && (r.status != "pending" || r.msg.Attempts != 0) {
			t.Errorf("unroutable message %+v, want pending with no attempt counted", r)
		}
	}
	if strings.Count(buf.String(), "claimdrift notification") != 1 {
		t.Errorf("log transport logged the stored recipient's message:\n%s", buf.String())
	}
}

func TestRouter(t *testing.T) {
	id := uuid.New()
	var got []string
	fake := func(name string) ChannelTransport {
		return channelFunc(func(_ context.Context, r Recipient, _ Message) error {
			got = append(got, name+" "+r.Address)
			return nil
		})
	}
	getter := recipientFunc(func(_ context.Context, want uuid.UUID) (Recipient, error) {
		if want == id {
			return Recipient{ID: id, Channel: ChannelEmail, Address: "ops@example.com"}, nil
		}
		return Recipient{}, ErrRecipientNotFound
	})
	rt := &Router{Recipients: getter, Webhook: fake("webhook"), Fallback: TransportFunc(func(context.Context, Message) error { got = append(got, "log"); return nil })}
	if err := rt.Send(context.Background(), NewMessage(sample(), id.String())); !errors.Is(err, ErrNoTransport) {
		t.Fatalf("email without SMTP: %v, want ErrNoTransport", err)
	}
	rt.Email = fake("email")
	if err := rt.Send(context.Background(), NewMessage(sample(), id.String())); err != nil {
		t.Fatal(err)
	}
	if err := rt.Send(context.Background(), NewMessage(sample(), "")); err != nil {
		t.Fatal(err)
	}
	if err := rt.Send(context.Background(), NewMessage(sample(), uuid.NewString())); !IsPermanent(err) || !errors.Is(err, ErrRecipientNotFound) {
		t.Fatalf("removed recipient: %v, want permanent ErrRecipientNotFound", err)
	}
	if strings.Join(got, ",") != "email ops@example.com,log" {
		t.Errorf("routed to %v", got)
	}
}

type channelFunc func(ctx context.Context, r Recipient, m Message) error

func (f channelFunc) Deliver(ctx context.Context, r Recipient, m Message) error { return f(ctx, r, m) }

type recipientFunc func(ctx context.Context, id uuid.UUID) (Recipient, error)

func (f recipientFunc) Recipient(ctx context.Context, id uuid.UUID) (Recipient, error) {
	return f(ctx, id)
}
