package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// NotifyStore is what the notification suite tests: the outbox plus
// recipients and the operator's outbox commands.
type NotifyStore interface {
	Store
	AddRecipient(ctx context.Context, r notify.Recipient) (notify.Recipient, error)
	ListRecipients(ctx context.Context) ([]notify.Recipient, error)
	Recipient(ctx context.Context, id uuid.UUID) (notify.Recipient, error)
	RemoveRecipient(ctx context.Context, id uuid.UUID) error
	RetryOutboxMessage(ctx context.Context, id uuid.UUID, now time.Time) error
}

// NewNotifyDB is NewDB for the notification suite.
type NewNotifyDB func(t *testing.T) (open func() NotifyStore)

// RunNotify runs the notification part of the conformance suite
// (recipients, outbox lanes, dispatch over real loopback HTTP).
func RunNotify(t *testing.T, newDB NewNotifyDB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() NotifyStore)
	}{
		{"Recipients", testRecipients},
		{"RecipientsResolveAndFanOut", testRecipientFanOut},
		{"RecipientLookupInsideTheWrite", testRecipientLookupOneConnection},
		{"ClaimExcludingAndRelease", testClaimExcluding},
		{"RetryDeadMessage", testRetryDead},
		{"WebhookExactlyOnceTwoDispatchers", testWebhookExactlyOnce},
		{"SlowReceiverDelaysOnlyItsOwn", testSlowReceiverIsolated},
		{"DispatcherRecordsSendOnShutdown", testDispatcherRecordsSendOnShutdown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open := newDB(t)
			opened := func() NotifyStore {
				s := open()
				t.Cleanup(func() { s.Close() })
				return s
			}
			tt.fn(t, opened)
		})
	}
}

func testRecipients(t *testing.T, open func() NotifyStore) {
	s := open()
	res, _ := seed(t, s, 1)
	tpl, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeTemplate, Template: "tpl", Channel: notify.ChannelWebhook,
		Address: "https://hooks.example.com/a", Secret: "s3cr3t", Payload: notify.PayloadSlack})
	if err != nil {
		t.Fatal(err)
	}
	if tpl.TemplateID != res.Template.ID || tpl.Template != "tpl" || tpl.Organization != "acme" || tpl.Secret.Reveal() != "s3cr3t" || tpl.Payload != notify.PayloadSlack {
		t.Fatalf("template recipient = %+v", tpl)
	}
	again, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeTemplate, TemplateID: res.Template.ID, Channel: notify.ChannelWebhook,
		Address: "https://hooks.example.com/a", Secret: "rotated"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != tpl.ID || again.Secret.Reveal() != "rotated" || again.Payload != notify.PayloadGeneric {
		t.Fatalf("adding the same destination again = %+v, want the same id with the new secret", again)
	}
	if _, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeTemplate, Template: "nope", Channel: notify.ChannelEmail, Address: "a@example.com"}); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("unknown template: %v", err)
	}
	org, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeOrganization, Organization: "acme", Channel: notify.ChannelEmail, Address: "ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	def, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeDefault, Channel: notify.ChannelEmail, Address: "all@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeDefault, Channel: notify.ChannelWebhook, Address: "ftp://x"}); err == nil {
		t.Fatal("an ftp URL was accepted")
	}
	list, err := s.ListRecipients(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != fmt.Sprint([]uuid.UUID{tpl.ID, org.ID, def.ID}) {
		t.Fatalf("list order = %v, want template, organization, default", ids)
	}
	got, err := s.Recipient(ctx(t), org.ID)
	if err != nil || got.Address != "ops@example.com" || got.Scope != notify.ScopeOrganization {
		t.Fatalf("Recipient = %+v, %v", got, err)
	}
	if err := s.RemoveRecipient(ctx(t), org.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recipient(ctx(t), org.ID); !errors.Is(err, notify.ErrRecipientNotFound) {
		t.Fatalf("removed recipient: %v", err)
	}
	if err := s.RemoveRecipient(ctx(t), org.ID); !errors.Is(err, notify.ErrRecipientNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
}

// testRecipientFanOut tracks a replacing claim and checks that one
// message per resolved recipient is queued, template first, then
// organization, then default, each with its own dedup key.
func testRecipientFanOut(t *testing.T, open func() NotifyStore) {
	s := open()
	res, p := seed(t, s, 0)
	resolver := notify.NewResolver(s, nil)
	pool := reconcile.NewPool(s, nil, reconcile.Options{Now: func() time.Time { return T0 }, Recipients: func(_ context.Context, bc reconcile.BuildContext) ([]string, error) {
		return resolver.Keys(context.Background(), notify.RecipientTarget{TemplateID: bc.TemplateID, Template: bc.Template, Organization: bc.Organization})
	}})
	track := func() reconcile.TrackResult {
		t.Helper()
		r, err := pool.Track(ctx(t), reconcile.TrackRequest{WorkspaceID: uuid.New(), BuildID: uuid.New(), PresetID: p.ID, Claimant: "alice",
			Replacements: sampleReplacements()})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := track(); r.Queued != 1 {
		t.Fatalf("no recipients: queued %d, want 1 (the default log)", r.Queued)
	}
	if _, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeDefault, Channel: notify.ChannelEmail, Address: "all@example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"o1@example.com", "o2@example.com"} {
		if _, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeOrganization, Organization: "acme", Channel: notify.ChannelEmail, Address: a}); err != nil {
			t.Fatal(err)
		}
	}
	if r := track(); r.Queued != 2 {
		t.Fatalf("organization recipients: queued %d, want 2", r.Queued)
	}
	if _, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeTemplate, TemplateID: res.Template.ID, Channel: notify.ChannelWebhook, Address: "http://127.0.0.1:9/x"}); err != nil {
		t.Fatal(err)
	}
	if r := track(); r.Queued != 1 {
		t.Fatalf("template recipient: queued %d, want 1", r.Queued)
	}
	msgs, err := s.ClaimDue(ctx(t), "x", T0, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, m := range msgs {
		keys[m.DedupKey] = true
	}
	if len(msgs) != 4 || len(keys) != 4 {
		t.Fatalf("queued %d messages with %d distinct dedup keys, want 4 and 4", len(msgs), len(keys))
	}
}

// testRecipientLookupOneConnection tracks replacing claims, and records
// a replacement Coder reported, with a connection pool of one: the
// recipient lookup made inside the write must use the write's own
// transaction, not wait for a second connection that never frees up
// (with N connections, N such writes at once froze the same way).
func testRecipientLookupOneConnection(t *testing.T, open func() NotifyStore) {
	s := open()
	pooled, ok := s.(interface{ DB() *sql.DB })
	if !ok {
		t.Fatalf("%T has no DB() to bound its connection pool", s)
	}
	res, p := seed(t, s, 0)
	if _, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeTemplate, TemplateID: res.Template.ID, Channel: notify.ChannelEmail, Address: "admin@example.com"}); err != nil {
		t.Fatal(err)
	}
	pooled.DB().SetMaxOpenConns(1)
	resolver := notify.NewResolver(s, nil)
	pool := reconcile.NewPool(s, nil, reconcile.Options{Now: func() time.Time { return T0 }, Recipients: func(ctx context.Context, bc reconcile.BuildContext) ([]string, error) {
		return resolver.Keys(ctx, notify.RecipientTarget{TemplateID: bc.TemplateID, Template: bc.Template, Organization: bc.Organization})
	}})
	wctx, cancel := context.WithTimeout(ctx(t), 20*time.Second)
	defer cancel()
	r, err := pool.Track(wctx, reconcile.TrackRequest{WorkspaceID: uuid.New(), BuildID: uuid.New(), PresetID: p.ID, Claimant: "alice", Replacements: sampleReplacements()})
	if err != nil {
		t.Fatalf("track with one connection: %v", err)
	}
	if r.Queued != 1 {
		t.Fatalf("track queued %d messages, want 1 (the template's admin)", r.Queued)
	}
	o, err := pool.RecordObserved(wctx, reconcile.ObservedReplacement{MsgID: "m-1", Organization: "acme", Template: "tpl", Version: "v1", Preset: "small",
		Workspace: "ws", Claimant: "bob", BuildNumber: 2, Replacements: sampleReplacements(), Now: T0})
	if err != nil {
		t.Fatalf("record a Coder replacement with one connection: %v", err)
	}
	if o.Queued != 1 {
		t.Fatalf("observed replacement queued %d messages, want 1", o.Queued)
	}
}

func testClaimExcluding(t *testing.T, open func() NotifyStore) {
	s := open()
	n := notify.Notification{Kind: notify.KindPresetHardLimited, CreatedAt: T0, Template: "tpl", PresetID: uuid.New()}
	if err := s.Enqueue(ctx(t), []notify.Message{notify.NewMessage(n, "a"), notify.NewMessage(n, "b"), notify.NewMessage(n, "c")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimDueExcluding(ctx(t), "one", T0, time.Minute, 10, []string{"a", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Recipient != "b" || got[0].Attempts != 1 {
		t.Fatalf("claim excluding a and c = %+v", got)
	}
	if err := s.Release(ctx(t), got[0].ID, "two", T0); !errors.Is(err, notify.ErrLeaseLost) {
		t.Fatalf("release by non-owner: %v", err)
	}
	if err := s.Release(ctx(t), got[0].ID, "one", T0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.ClaimDueExcluding(ctx(t), "one", T0.Add(time.Minute), time.Minute, 10, []string{"a", "c"}); len(again) != 0 {
		t.Fatalf("released message claimed before its time: %+v", again)
	}
	again, err := s.ClaimDueExcluding(ctx(t), "one", T0.Add(time.Hour), time.Minute, 10, []string{"a", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].Attempts != 1 {
		t.Fatalf("after release = %+v, want the attempt not counted", again)
	}
}

func testRetryDead(t *testing.T, open func() NotifyStore) {
	s := open()
	n := notify.Notification{Kind: notify.KindPresetHardLimited, CreatedAt: T0, Template: "tpl", PresetID: uuid.New()}
	if err := s.Enqueue(ctx(t), []notify.Message{notify.NewMessage(n, "a")}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ClaimDue(ctx(t), "one", T0, time.Minute, 10)
	if len(got) != 1 {
		t.Fatalf("claimed %d", len(got))
	}
	if err := s.MarkDead(ctx(t), got[0].ID, "one", T0, "HTTP 404"); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryOutboxMessage(ctx(t), got[0].ID, T0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryOutboxMessage(ctx(t), uuid.New(), T0); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("retry of an unknown message: %v", err)
	}
	again, _ := s.ClaimDue(ctx(t), "one", T0.Add(time.Hour), time.Minute, 10)
	if len(again) != 1 || again[0].Attempts != 1 {
		t.Fatalf("after retry = %+v, want due with a fresh attempt count", again)
	}
}

// receiver is a loopback webhook receiver counting deliveries by dedup key.
type receiver struct {
	mu       sync.Mutex
	count    map[string]int
	requests int
	delay    time.Duration
	status   int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	rc.mu.Lock()
	rc.requests++
	rc.mu.Unlock()
	if rc.status != 0 {
		w.WriteHeader(rc.status)
		return
	}
	if rc.delay > 0 {
		select {
		case <-time.After(rc.delay):
		case <-r.Context().Done():
			return
		}
	}
	rc.mu.Lock()
	rc.count[r.Header.Get(notify.HeaderDedupKey)]++
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) snapshot() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.count))
	for k, v := range rc.count {
		out[k] = v
	}
	return out
}

func newReceiver(t *testing.T, delay time.Duration) (*receiver, string) {
	rc := &receiver{count: map[string]int{}, delay: delay}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL
}

func queueFor(t *testing.T, s NotifyStore, r notify.Recipient, n int) []notify.Message {
	t.Helper()
	var msgs []notify.Message
	for i := range n {
		nt := notify.Notification{Kind: notify.KindResourceReplaced, CreatedAt: T0, WorkspaceID: uuid.New(), BuildID: uuid.New(), Template: "tpl", Workspace: fmt.Sprint("ws", i)}
		msgs = append(msgs, notify.NewMessage(nt, r.Key()))
	}
	if err := s.Enqueue(ctx(t), msgs); err != nil {
		t.Fatal(err)
	}
	return msgs
}

func router(s NotifyStore) *notify.Router {
	return &notify.Router{Recipients: s, Webhook: notify.NewWebhookTransport(notify.WebhookOptions{Timeout: 5 * time.Second})}
}

// testWebhookExactlyOnce: two dispatchers on two handles deliver 60
// messages to a receiver answering 2xx: each arrives exactly once.
func testWebhookExactlyOnce(t *testing.T, open func() NotifyStore) {
	a, b := open(), open()
	rc, url := newReceiver(t, 0)
	r, err := a.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeDefault, Channel: notify.ChannelWebhook, Address: url + "/hook", Secret: "k"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := queueFor(t, a, r, 60)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, s := range []NotifyStore{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := notify.NewDispatcher(s, router(s), notify.DispatcherOptions{Owner: fmt.Sprint("d", i), Batch: 7, Logger: testLogger(t)})
			if _, err := d.DrainOnce(context.Background()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := rc.snapshot()
	for _, m := range msgs {
		if got[m.DedupKey] != 1 {
			t.Errorf("message %s received %d times, want 1", m.DedupKey, got[m.DedupKey])
		}
	}
	if len(got) != len(msgs) {
		t.Errorf("received %d distinct messages, want %d", len(got), len(msgs))
		if ol, ok := a.(interface {
			OutboxList(context.Context, string) ([]notify.OutboxEntry, error)
		}); ok {
			entries, _ := ol.OutboxList(ctx(t), "")
			for _, e := range entries {
				if e.Status != "delivered" {
					t.Logf("left: %s %s attempts %d next %s err %q", e.ID, e.Status, e.Attempts, e.NextAttemptAt, e.LastError)
				}
			}
		}
	}
}

// testSlowReceiverIsolated: one receiver hangs (answers after 5s), one
// fails (500), another answers at once; the fast one's messages all arrive
// long before the slow one has taken its first, and the failing one is
// tried once and then left alone until its retry is due.
func testSlowReceiverIsolated(t *testing.T, open func() NotifyStore) {
	s := open()
	slowRC, slowURL := newReceiver(t, 5*time.Second)
	fastRC, fastURL := newReceiver(t, 0)
	slow, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeDefault, Channel: notify.ChannelWebhook, Address: slowURL})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeOrganization, Organization: "acme", Channel: notify.ChannelWebhook, Address: fastURL})
	if err != nil {
		t.Fatal(err)
	}
	failRC := &receiver{count: map[string]int{}, status: http.StatusInternalServerError}
	failSrv := httptest.NewServer(failRC)
	defer failSrv.Close()
	failing, err := s.AddRecipient(ctx(t), notify.Recipient{Scope: notify.ScopeOrganization, Organization: "globex", Channel: notify.ChannelWebhook, Address: failSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	// The slow and failing recipients' messages are queued first, so they
	// come first in every claim.
	queueFor(t, s, slow, 5)
	queueFor(t, s, failing, 10)
	queueFor(t, s, fast, 30)
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := notify.NewDispatcher(s, router(s), notify.DispatcherOptions{Batch: 4, SendTimeout: 10 * time.Second})
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx, 50*time.Millisecond) }()
	start := time.Now()
	for len(fastRC.snapshot()) < 30 {
		if time.Since(start) > 4*time.Second {
			t.Fatalf("fast receiver got %d/30 messages after %s: the slow one held them up", len(fastRC.snapshot()), time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(slowRC.snapshot()); n != 0 {
		t.Fatalf("slow receiver already answered %d", n)
	}
	failedRequests := func() int {
		failRC.mu.Lock()
		defer failRC.mu.Unlock()
		return failRC.requests
	}
	for failedRequests() == 0 && time.Since(start) < 10*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // would be enough for the other 9 to be tried
	if failed := failedRequests(); failed != 1 {
		t.Fatalf("failing receiver got %d requests, want 1 (its other messages wait for its retry)", failed)
	}
	cancel()
	<-done
}

// testLogger logs to t, so a failing test shows the dispatcher's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// testDispatcherRecordsSendOnShutdown: a shutdown (ctx cancelled) while a
// send succeeds still records the delivery, so the message is never sent
// again once its lease runs out.
func testDispatcherRecordsSendOnShutdown(t *testing.T, open func() NotifyStore) {
	s := open()
	n := notify.Notification{Kind: notify.KindPresetHardLimited, CreatedAt: T0, Template: "tpl", PresetID: uuid.New()}
	if err := s.Enqueue(ctx(t), []notify.Message{notify.NewMessage(n, "")}); err != nil {
		t.Fatal(err)
	}
	dctx, stop := context.WithCancel(ctx(t))
	defer stop()
	sent := 0
	d := notify.NewDispatcher(s, notify.TransportFunc(func(context.Context, notify.Message) error {
		sent++
		stop() // SIGTERM arrives while the receiver answers 2xx
		return nil
	}), notify.DispatcherOptions{Now: func() time.Time { return T0 }, Lease: time.Minute})
	res, _ := d.DrainOnce(dctx)
	if sent != 1 || res.Delivered != 1 {
		t.Fatalf("sent %d, recorded %d deliveries", sent, res.Delivered)
	}
	if again, err := s.ClaimDue(ctx(t), "next", T0.Add(time.Hour), time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("after the lease ran out, due again: %d (%v): the delivery was not recorded", len(again), err)
	}
}
