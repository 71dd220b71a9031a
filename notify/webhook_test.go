package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestSignAndVerify(t *testing.T) {
	secret := []byte("topsecret")
	body := []byte(`{"schema":"claimdrift.notification/v1"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := "1800000000"
	sig := Sign(secret, ts, body)
	if !strings.HasPrefix(sig, SignaturePrefix) || len(sig) != len(SignaturePrefix)+64 {
		t.Fatalf("signature = %q", sig)
	}
	tests := []struct {
		name           string
		secret         []byte
		ts, sig        string
		body           []byte
		now            time.Time
		wantBadSignOrT bool
	}{
		{"valid", secret, ts, sig, body, now, false},
		{"valid within tolerance", secret, ts, sig, body, now.Add(4 * time.Minute), false},
		{"other secret", []byte("nope"), ts, sig, body, now, true},
		{"body changed", secret, ts, sig, append([]byte{' '}, body...), now, true},
		{"timestamp changed", secret, "1800000001", sig, body, now, true},
		{"replayed late", secret, ts, sig, body, now.Add(6 * time.Minute), true},
		{"timestamp not a number", secret, "x", sig, body, now, true},
		{"no prefix", secret, ts, strings.TrimPrefix(sig, SignaturePrefix), body, now, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.secret, tt.ts, tt.sig, tt.body, tt.now, 5*time.Minute)
			if tt.wantBadSignOrT != (err != nil) || (err != nil && !errors.Is(err, ErrBadSignature)) {
				t.Fatalf("VerifySignature = %v, want failure %v", err, tt.wantBadSignOrT)
			}
		})
	}
}

// TestSignatureKnownAnswer pins the scheme the README documents, so that
// receivers written from it keep working: HMAC-SHA256 (hex) over
// timestamp + "." + body.
func TestSignatureKnownAnswer(t *testing.T) {
	// Computed independently with:
	// printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'k3y'
	const want = "sha256=fd5a70e965043f7df6309c2c3b5ff5a8ffa99b1f5175e9a311459e73c4634d4a"
	if got := Sign([]byte("k3y"), "1700000000", []byte(`{"a":1}`)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

type hookRequest struct {
	header http.Header
	body   []byte
}

// hook is a loopback receiver answering with the handler given.
func hook(t *testing.T, answer func(w http.ResponseWriter, n int)) (string, func() []hookRequest) {
	var mu sync.Mutex
	var reqs []hookRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, hookRequest{header: r.Header.Clone(), body: b})
		n := len(reqs)
		mu.Unlock()
		answer(w, n)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []hookRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]hookRequest(nil), reqs...)
	}
}

func TestWebhookDeliver(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	m := NewMessage(sample(), uuid.NewString())
	tests := []struct {
		name          string
		status        int
		header        map[string]string
		body          string
		wantErr       bool
		wantPermanent bool
		wantAfter     time.Duration
	}{
		{"200 delivered", 200, nil, "", false, false, 0},
		{"204 delivered", 204, nil, "", false, false, 0},
		{"429 retry-after seconds", 429, map[string]string{"Retry-After": "120"}, "", true, false, 120 * time.Second},
		{"429 retry-after http date", 429, map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, "", true, false, 90 * time.Second},
		{"429 without retry-after", 429, nil, "", true, false, -1},
		{"400 permanent", 400, nil, "bad payload", true, true, -1},
		{"404 permanent", 404, nil, "", true, true, -1},
		{"410 permanent", 410, nil, "", true, true, -1},
		{"302 redirect not followed, permanent", 302, map[string]string{"Location": "http://127.0.0.1:1/elsewhere"}, "", true, true, -1},
		{"500 retryable", 500, nil, "boom", true, false, -1},
		{"503 retryable", 503, nil, "", true, false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, reqs := hook(t, func(w http.ResponseWriter, _ int) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			wt := NewWebhookTransport(WebhookOptions{Now: func() time.Time { return now }})
			err := wt.Deliver(context.Background(), Recipient{Channel: ChannelWebhook, Address: url + "/hook?token=QUERYTOKEN", Secret: "sekret"}, m)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Deliver = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			if IsPermanent(err) != tt.wantPermanent {
				t.Errorf("permanent = %v, want %v (%v)", IsPermanent(err), tt.wantPermanent, err)
			}
			after, ok := RetryAfterOf(err)
			if tt.wantAfter >= 0 && (!ok || after != tt.wantAfter) {
				t.Errorf("retry after = %s %v, want %s", after, ok, tt.wantAfter)
			}
			if tt.wantAfter < 0 && ok {
				t.Errorf("unexpected retry after %s", after)
			}
			if strings.Contains(err.Error(), "QUERYTOKEN") || strings.Contains(err.Error(), "sekret") {
				t.Errorf("error leaks a secret: %v", err)
			}
			if got := len(reqs()); got != 1 {
				t.Errorf("%d requests, want 1", got)
			}
		})
	}
}

func TestWebhookRequest(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	url, reqs := hook(t, func(w http.ResponseWriter, _ int) { w.WriteHeader(200) })
	m := NewMessage(sample(), uuid.NewString())
	wt := NewWebhookTransport(WebhookOptions{Now: func() time.Time { return now }})
	for _, r := range []Recipient{
		{Channel: ChannelWebhook, Address: url, Secret: "sekret"},
		{Channel: ChannelWebhook, Address: url, Payload: PayloadSlack},
	} {
		if err := wt.Deliver(context.Background(), r, m); err != nil {
			t.Fatal(err)
		}
	}
	got := reqs()
	signed, slack := got[0], got[1]
	if err := VerifySignature([]byte("sekret"), signed.header.Get(HeaderTimestamp), signed.header.Get(HeaderSignature), signed.body, now, time.Minute); err != nil {
		t.Errorf("receiver cannot verify: %v", err)
	}
	if signed.header.Get(HeaderTimestamp) != "1772445600" {
		t.Errorf("timestamp header = %q", signed.header.Get(HeaderTimestamp))
	}
	for k, want := range map[string]string{"Content-Type": "application/json", HeaderDedupKey: m.DedupKey, HeaderEvent: "resource_replaced", HeaderDelivery: m.ID.String()} {
		if got := signed.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	var p Payload
	if err := json.Unmarshal(signed.body, &p); err != nil || p.Schema != Schema || p.DedupKey != m.DedupKey || p.Recipient != m.Recipient {
		t.Errorf("generic payload = %+v, %v", p, err)
	}
	if slack.header.Get(HeaderSignature) != "" || slack.header.Get(HeaderTimestamp) != "" {
		t.Error("unsigned recipient got a signature")
	}
	var sm SlackMessage
	if err := json.Unmarshal(slack.body, &sm); err != nil || sm.Text != sample().Title() || len(sm.Blocks) < 2 || sm.Blocks[1].Text.Type != "mrkdwn" {
		t.Errorf("slack payload = %s, %v", slack.body, err)
	}
	if strings.Contains(string(signed.body)+string(slack.body), "sekret") {
		t.Error("a payload carries the secret")
	}
}

func TestWebhookNetworkErrors(t *testing.T) {
	t.Run("connection refused is retryable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		err := NewWebhookTransport(WebhookOptions{}).Deliver(context.Background(), Recipient{Channel: ChannelWebhook, Address: url + "/services/SLACKPATHSECRET?x=QUERYSECRET"}, NewMessage(sample(), "r"))
		if err == nil || IsPermanent(err) {
			t.Fatalf("Deliver = %v, want a retryable error", err)
		}
		if strings.Contains(err.Error(), "QUERYSECRET") {
			t.Errorf("error leaks the query: %v", err)
		}
	})
	t.Run("hanging receiver times out, retryable", func(t *testing.T) {
		release := make(chan struct{})
		url, _ := hook(t, func(w http.ResponseWriter, _ int) { <-release })
		defer close(release)
		start := time.Now()
		err := NewWebhookTransport(WebhookOptions{Timeout: 200 * time.Millisecond}).Deliver(context.Background(), Recipient{Channel: ChannelWebhook, Address: url}, NewMessage(sample(), "r"))
		if err == nil || IsPermanent(err) || time.Since(start) > 5*time.Second {
			t.Fatalf("Deliver = %v after %s, want a retryable timeout", err, time.Since(start))
		}
	})
}

func TestSlackGolden(t *testing.T) {
	b, err := json.MarshalIndent(sample().Slack(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "replaced.slack.json", append(b, '\n'))
}

func TestSlackEscapesAndLimits(t *testing.T) {
	n := sample()
	n.Workspace = "<!channel> & <@U123>"
	var many []Resource
	for range 400 {
		many = append(many, n.Replacements[1])
	}
	n.Replacements = many
	msg := n.Slack()
	if len(msg.Blocks) > slackBlocksMax {
		t.Fatalf("%d blocks, Slack takes at most %d", len(msg.Blocks), slackBlocksMax)
	}
	for _, b := range msg.Blocks {
		if len([]rune(b.Text.Text)) > slackSectionMax {
			t.Errorf("a block holds %d characters", len([]rune(b.Text.Text)))
		}
		if b.Type == "section" && strings.Contains(b.Text.Text, "<!channel>") {
			t.Errorf("mention not escaped: %s", b.Text.Text[:80])
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"0", 0, true},
		{"30", 30 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"-3", 0, true},
		{"99999999999", 366 * 24 * time.Hour, true},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"Mon, 02 Mar 2026 10:00:30 GMT", 30 * time.Second, true},
		{"", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("ParseRetryAfter(%q) = %s %v, want %s %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "Wed, 21 Oct 2015 07:28:00 GMT", "", "-1", "1e9"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseRetryAfter(s, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("ParseRetryAfter(%q) = %s %v", s, d, ok)
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("1700000000", "sha256=00", []byte(`{}`))
	f.Add("", "", []byte(nil))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		now := time.Unix(1_700_000_000, 0)
		err := VerifySignature([]byte("k"), ts, sig, body, now, time.Minute)
		if err == nil && sig != Sign([]byte("k"), ts, body) {
			t.Fatalf("accepted a signature that is not ours: %q %q", ts, sig)
		}
	})
}
