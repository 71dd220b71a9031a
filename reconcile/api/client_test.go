package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/reconcile/api"
)

// flakyServer answers the first fail requests with status, then 200 (a
// track) or 201 (a claim); it keeps every body it received.
type flakyServer struct {
	fail   int
	status int
	calls  atomic.Int32
	mu     sync.Mutex
	bodies [][]byte
}

func (f *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if int(f.calls.Add(1)) <= f.fail {
		w.WriteHeader(f.status)
		json.NewEncoder(w).Encode(map[string]string{"error": "database unavailable"})
		return
	}
	if strings.HasSuffix(r.URL.Path, "/claims") {
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(api.ClaimAnswer{WorkspaceID: uuid.New(), BuildID: uuid.New()})
		return
	}
	json.NewEncoder(w).Encode(api.TrackAnswer{Recorded: 3})
}

// serveOn serves h on a free loopback port.
func serveOn(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// serveLater serves h on addr after a while (a server that is starting).
func serveLater(t *testing.T, addr string, h http.Handler, after time.Duration) {
	go func() {
		time.Sleep(after)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("listen on %s: %v", addr, err)
			return
		}
		srv := &http.Server{Handler: h}
		t.Cleanup(func() { srv.Close() })
		srv.Serve(ln)
	}()
}

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// planOnDisk writes a plan-sized body to a file and opens it, as `track`
// does with a plan file.
func planOnDisk(t *testing.T) (*os.File, []byte) {
	t.Helper()
	want := bytes.Repeat([]byte(`{"resource_changes":[]}`), 4000)
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, want
}

func TestClientRetry(t *testing.T) {
	ws, build := uuid.New(), uuid.New()
	t.Run("upload from a file is sent again after 503, whole each time", func(t *testing.T) {
		f, want := planOnDisk(t)
		srv := &flakyServer{fail: 2, status: http.StatusServiceUnavailable}
		var retries []time.Duration
		c := &api.Client{BaseURL: "http://" + serveOn(t, srv), Token: "t", Retry: 10 * time.Second,
			OnRetry: func(_ error, wait time.Duration) { retries = append(retries, wait) }}
		ans, _, err := c.TrackPlan(context.Background(), ws, build, struct{ io.ReadSeeker }{f}, api.TrackOptions{})
		if err != nil || ans.Recorded != 3 {
			t.Fatalf("TrackPlan: %+v, %v", ans, err)
		}
		if len(srv.bodies) != 3 {
			t.Fatalf("%d requests, want 3", len(srv.bodies))
		}
		for i, b := range srv.bodies {
			if !bytes.Equal(b, want) {
				t.Errorf("request %d carried %d bytes, want the whole plan (%d)", i, len(b), len(want))
			}
		}
		if len(retries) != 2 || retries[0] != 250*time.Millisecond || retries[1] != 500*time.Millisecond {
			t.Errorf("waits %v, want [250ms 500ms]", retries)
		}
	})
	t.Run("upload that cannot be read again is not resent", func(t *testing.T) {
		_, want := planOnDisk(t)
		srv := &flakyServer{fail: 1, status: http.StatusServiceUnavailable}
		c := &api.Client{BaseURL: "http://" + serveOn(t, srv), Token: "t", Retry: 10 * time.Second}
		_, _, err := c.TrackPlan(context.Background(), ws, build, struct{ io.Reader }{bytes.NewReader(want)}, api.TrackOptions{})
		var ae *api.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Message != "database unavailable" {
			t.Fatalf("err %v, want the 503 answer", err)
		}
		if n := srv.calls.Load(); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})
	t.Run("upload waits for a server that is starting", func(t *testing.T) {
		f, want := planOnDisk(t)
		addr := freeAddr(t)
		srv := &flakyServer{}
		serveLater(t, addr, srv, 700*time.Millisecond)
		c := &api.Client{BaseURL: "http://" + addr, Token: "t", Retry: 10 * time.Second}
		if _, _, err := c.TrackPlan(context.Background(), ws, build, struct{ io.ReadSeeker }{f}, api.TrackOptions{}); err != nil {
			t.Fatal(err)
		}
		if len(srv.bodies) != 1 || !bytes.Equal(srv.bodies[0], want) {
			t.Fatalf("server got %d requests", len(srv.bodies))
		}
	})
	t.Run("claim is not resent once it reached the server", func(t *testing.T) {
		srv := &flakyServer{fail: 1, status: http.StatusServiceUnavailable}
		c := &api.Client{BaseURL: "http://" + serveOn(t, srv), Token: "t", Retry: 10 * time.Second}
		_, err := c.Claim(context.Background(), "dev/small", "alice", "")
		var ae *api.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
			t.Fatalf("err %v, want the 503 answer", err)
		}
		if n := srv.calls.Load(); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})
	t.Run("claim waits for a server that is starting", func(t *testing.T) {
		addr := freeAddr(t)
		srv := &flakyServer{}
		serveLater(t, addr, srv, 700*time.Millisecond)
		c := &api.Client{BaseURL: "http://" + addr, Token: "t", Retry: 10 * time.Second}
		if _, err := c.Claim(context.Background(), "dev/small", "alice", ""); err != nil {
			t.Fatal(err)
		}
		if len(srv.bodies) != 1 || !strings.Contains(string(srv.bodies[0]), `"user":"alice"`) {
			t.Fatalf("server got %q", srv.bodies)
		}
	})
	t.Run("no retry: one try", func(t *testing.T) {
		c := &api.Client{BaseURL: "http://" + freeAddr(t), Token: "t",
			OnRetry: func(err error, _ time.Duration) { t.Errorf("retried after %v", err) }}
		if _, err := c.Claim(context.Background(), "dev/small", "alice", ""); err == nil {
			t.Fatal("claim against nothing succeeded")
		}
	})
	t.Run("gives up when the time is spent", func(t *testing.T) {
		f, _ := planOnDisk(t)
		srv := &flakyServer{fail: 1 << 30, status: http.StatusBadGateway}
		c := &api.Client{BaseURL: "http://" + serveOn(t, srv), Token: "t", Retry: time.Second}
		start := time.Now()
		_, _, err := c.TrackPlan(context.Background(), ws, build, struct{ io.ReadSeeker }{f}, api.TrackOptions{})
		var ae *api.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway {
			t.Fatalf("err %v, want the 502 answer", err)
		}
		// Tries at 0, 0.25 and 0.75 s; the next wait (1 s) would pass the limit.
		if n := srv.calls.Load(); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("gave up after %s", d)
		}
	})
}
