package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

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
	resp, err := c.do(ctx, http.MethodPost, path, "application/json", plan)
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
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/presets/"+strings.Join(segs, "/")+"/claims", "application/json", bytes.NewReader(body))
	if err != nil {
		return ans, err
	}
	defer resp.Body.Close()
	return ans, decodeAnswer(resp, http.StatusCreated, &ans)
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", contentType)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL holds no token: it is safe to show.
		return nil, fmt.Errorf("call %s: %w", c.BaseURL, err)
	}
	return resp, nil
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
