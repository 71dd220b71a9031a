package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook request headers. The signature scheme is documented in the
// README: HMAC-SHA256, keyed with the recipient's secret, over the
// timestamp header's value, a dot, and the raw request body.
const (
	HeaderTimestamp = "X-Claimdrift-Timestamp"
	HeaderSignature = "X-Claimdrift-Signature"
	HeaderDedupKey  = "X-Claimdrift-Dedup-Key"
	HeaderEvent     = "X-Claimdrift-Event"
	HeaderDelivery  = "X-Claimdrift-Delivery"
	// SignaturePrefix starts the signature header's value.
	SignaturePrefix = "sha256="
)

// ErrBadSignature is returned by VerifySignature.
var ErrBadSignature = errors.New("bad webhook signature")

// Sign returns the signature header value for body sent at timestamp
// (unix seconds, as in the timestamp header).
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return SignaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a delivery as a receiver would: the signature
// must match and the timestamp must be within tolerance of now (against
// replays). It wraps ErrBadSignature.
func VerifySignature(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", trimForLog(timestamp, 32), ErrBadSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp %d outside tolerance: %w", ts, ErrBadSignature)
	}
	want := Sign(secret, timestamp, body)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return fmt.Errorf("signature mismatch: %w", ErrBadSignature)
	}
	return nil
}

// WebhookOptions configure a WebhookTransport.
type WebhookOptions struct {
	// Client sends requests (default: a client that follows no redirects).
	Client *http.Client
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
	// Now is the clock for the timestamp header (default time.Now).
	Now func() time.Time
	// UserAgent is sent with each request.
	UserAgent string
}

// WebhookTransport POSTs messages to recipients' webhook URLs.
type WebhookTransport struct {
	opts WebhookOptions
}

// NewWebhookTransport returns a webhook transport with defaults filled in.
func NewWebhookTransport(opts WebhookOptions) *WebhookTransport {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{
			// A redirect would carry the signed body to another place;
			// receivers must be configured with their final URL.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "claimdrift-webhook/1"
	}
	return &WebhookTransport{opts: opts}
}

// Body returns the request body a recipient receives for m.
func Body(r Recipient, m Message) ([]byte, error) {
	if r.Payload == PayloadSlack {
		return m.Notification.MarshalSlack()
	}
	return m.Notification.MarshalPayload(m.Recipient)
}

// Deliver posts m to r. A 2xx answer is a delivery; 429 is retried after
// Retry-After; another 4xx or a redirect is permanent; 5xx and network
// errors are retryable. Errors never carry the URL's secrets.
func (w *WebhookTransport) Deliver(ctx context.Context, r Recipient, m Message) error {
	body, err := Body(r, m)
	if err != nil {
		return Permanent(fmt.Errorf("encode payload: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Address, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("webhook %s: bad URL", RedactURL(r.Address)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.opts.UserAgent)
	req.Header.Set(HeaderDedupKey, m.DedupKey)
	req.Header.Set(HeaderEvent, string(m.Notification.Kind))
	req.Header.Set(HeaderDelivery, m.ID.String())
	if IsSealed(r.Secret.Reveal()) {
		// Retryable: a dispatcher started with the key delivers it.
		return fmt.Errorf("webhook %s: %w", RedactURL(r.Address), ErrSecretSealed)
	}
	if r.Secret != "" {
		ts := strconv.FormatInt(w.opts.Now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign([]byte(r.Secret.Reveal()), ts, body))
	}
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		// *url.Error repeats the whole URL (a Slack webhook URL is itself
		// a credential): report only the redacted one and the cause.
		cause := err
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			cause = ue.Unwrap()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("webhook %s: no answer within %s", RedactURL(r.Address), w.opts.Timeout)
		}
		return fmt.Errorf("webhook %s: %s", RedactURL(r.Address), scrub(cause.Error(), r.Address))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	herr := fmt.Errorf("webhook %s: HTTP %d", RedactURL(r.Address), resp.StatusCode)
	if s := trimForLog(string(snippet), 200); s != "" {
		herr = fmt.Errorf("%w: %s", herr, scrub(s, r.Address))
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), w.opts.Now()); ok {
			return RetryAfter(herr, d)
		}
		return herr
	case resp.StatusCode >= 300 && resp.StatusCode < 500:
		return Permanent(herr)
	default:
		return herr
	}
}

// scrub removes a URL (and its path and query) from an error text.
func scrub(s, rawURL string) string {
	if rawURL == "" {
		return s
	}
	s = strings.ReplaceAll(s, rawURL, RedactURL(rawURL))
	return s
}
