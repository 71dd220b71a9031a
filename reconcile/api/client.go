package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/reconcile"
)

// Client calls a claimdrift server's API: the provisioner hooks' way to
// track plans and claim prebuilds without database credentials.
type Client struct {
	// BaseURL is the server, e.g. https://claimdrift.example.com.
	BaseURL string
	// Token is the bearer token.
	Token string
	// HTTP is the client used (default http.DefaultClient).
	HTTP *http.Client
	// Retry is how long a call keeps trying while the server cannot be
	// reached or answers 502, 503 or 504 (a restart, a replica going away,
	// its database down): after 0.25 s, then twice as long each time, up
	// to 5 s between tries; 0 tries once. A plan upload is sent again
	// (the server answers a repeated one as the first) when its body was
	// not read yet or can be read again from the start (a file); a claim
	// is sent again only when no connection could be made, since one
	// that reached the server may have claimed.
	Retry time.Duration
	// OnRetry, when set, is told of each failed try and the wait before
	// the next.
	OnRetry func(err error, wait time.Duration)
}

// APIError is an error answer of the server.
type APIError struct {
	Status  int
	Message string
}

// Error says the status and the server's message.
func (e *APIError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Unwrap maps statuses to the sentinel errors callers branch on.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusConflict:
		if strings.Contains(e.Message, "no ready prebuild") {
			return reconcile.ErrNoClaimablePrebuilds
		}
		return reconcile.ErrAmbiguous
	case http.StatusNotFound:
		return reconcile.ErrNotFound
	}
	return nil
}

// TrackOptions are the extras of a plan upload for a build the server
// does not know (like `claimdrift track --preset --user`).
type TrackOptions struct {
	Preset, Template, User string
}

// TrackPlan uploads a plan (streamed) for a workspace build. already is
// true when the server had tracked that build before.
func (c *Client) TrackPlan(ctx context.Context, workspaceID, buildID uuid.UUID, plan io.Reader, o TrackOptions) (ans TrackAnswer, already bool, err error) {
	q := url.Values{}
	for k, v := range map[string]string{"preset": o.Preset, "template": o.Template, "user": o.User} {
		if v != "" {
			q.Set(k, v)
		}
	}
	path := "/api/v1/workspaces/" + workspaceID.String() + "/builds/" + buildID.String() + "/plan"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	resp, err := c.do(ctx, http.MethodPost, path, "application/json", plan, true)
	if err != nil {
		return ans, false, err
	}
	defer resp.Body.Close()
	if err := decodeAnswer(resp, http.StatusOK, &ans); err != nil {
		return ans, false, err
	}
	return ans, resp.Header.Get("X-Claimdrift-Already-Tracked") == "true", nil
}

// Claim claims a prebuild of preset (an id or "template/preset").
func (c *Client) Claim(ctx context.Context, preset, user, name string) (ClaimAnswer, error) {
	var ans ClaimAnswer
	body, err := json.Marshal(ClaimBody{User: user, Name: name})
	if err != nil {
		return ans, err
	}
	segs := strings.Split(preset, "/")
	for i := range segs {
		segs[i] = url.PathEscape(segs[i])
	}
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/presets/"+strings.Join(segs, "/")+"/claims", "application/json", bytes.NewReader(body), false)
	if err != nil {
		return ans, err
	}
	defer resp.Body.Close()
	return ans, decodeAnswer(resp, http.StatusCreated, &ans)
}

// Waits between tries (Client.Retry).
const (
	firstRetryWait = 250 * time.Millisecond
	maxRetryWait   = 5 * time.Second
)

// do sends a request, tried again as Client.Retry says; resend: the
// request may be sent again after it reached the server (the server
// answers a repeat as the first).
func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, resend bool) (*http.Response, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	seeker, _ := body.(io.Seeker)
	var origin int64
	if seeker != nil {
		var err error
		if origin, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			seeker = nil
		}
	}
	deadline := time.Now().Add(c.Retry)
	wait := firstRetryWait
	for {
		sent := &countingReader{r: body}
		var reqBody io.Reader
		if body != nil {
			reqBody = sent
		}
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, reqBody)
		if err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
		if br, ok := body.(*bytes.Reader); ok {
			req.ContentLength = int64(br.Len())
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		req.Header.Set("Content-Type", contentType)
		resp, err := hc.Do(req)
		var failed error
		switch {
		case err != nil:
			// The URL holds no token: it is safe to show.
			failed = fmt.Errorf("call %s: %w", c.BaseURL, err)
			if !resend && !dialFailed(err) {
				return nil, failed
			}
		case resend && (resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout):
			failed = decodeAnswer(resp, http.StatusOK, nil)
			resp.Body.Close()
		default:
			return resp, nil
		}
		if time.Until(deadline) < wait || ctx.Err() != nil {
			return nil, failed
		}
		if sent.n > 0 {
			if seeker == nil {
				return nil, failed // its body cannot be read again
			}
			if _, err := seeker.Seek(origin, io.SeekStart); err != nil {
				return nil, failed
			}
		}
		if c.OnRetry != nil {
			c.OnRetry(failed, wait)
		}
		select {
		case <-ctx.Done():
			return nil, failed
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRetryWait)
	}
}

// dialFailed reports an error of a request that never reached the server:
// no connection could be made.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// countingReader counts what was read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func decodeAnswer(resp *http.Response, want int, v any) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != want {
		var eb errorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(body))
		}
		return &APIError{Status: resp.StatusCode, Message: eb.Error}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
