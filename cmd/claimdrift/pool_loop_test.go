package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPoolReconcileLoop runs `reconcile` without --once until the pool is
// full, then stops it the way a signal does (context canceled): exit 0.
func TestPoolReconcileLoop(t *testing.T) {
	w := &poolWorld{t: t, db: filepath.Join(t.TempDir(), "loop.db"), state: t.TempDir()}
	t.Setenv("EXEC_STATE_DIR", w.state)
	w.ok("template", "import", "--name", "dev", planPath("claim.json"))
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"reconcile", "--interval", "100ms", "--format", "json",
			"--create-cmd", w.script("create.sh"), "--delete-cmd", w.script("delete.sh")},
			ioStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Getenv: func(k string) string {
				if k == "CLAIMDRIFT_DB" {
					return w.db
				}
				return ""
			}})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for w.status().Eligible != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("pool not filled in time; stdout %s stderr %s", out.String(), errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(250 * time.Millisecond) // a few idle passes
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("want one report per pass, got %d lines:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		var p e2ePass
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("pass report %q: %v", l, err)
		}
	}
}

// TestPoolReplacementPauseCLI: with --on-replacement pause, three claims
// whose plans replace resources pause the preset, one notification is
// logged, and a new template version resumes it.
func TestPoolReplacementPauseCLI(t *testing.T) {
	plan, _ := filepath.Abs(planPath("claim.json"))
	w := &poolWorld{t: t, db: filepath.Join(t.TempDir(), "pause.db"), state: t.TempDir()}
	t.Setenv("EXEC_STATE_DIR", w.state)
	t.Setenv("EXEC_PLAN", plan)
	w.ok("template", "import", "--name", "dev", "--org", "acme", "--version", "v1", plan)
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "1")
	pause := []string{"--on-replacement", "pause"}
	sensitive, _ := filepath.Abs(planPath("sensitive.json"))
	for i := range 3 {
		if p := w.reconcile(pause...); p.builds("create", "succeeded") != 1 {
			t.Fatalf("fill: %+v", p)
		}
		if i == 2 {
			// The last claim's plan carries a sensitive variable.
			t.Setenv("EXEC_PLAN", sensitive)
		}
		w.ok("claim", "--preset", "small", "--user", "alice", "--claim-cmd", w.script("claim.sh"))
	}
	p := w.reconcile(pause...)
	if len(p.Builds) != 0 || p.Presets[0].Status != "replacement_prone" {
		t.Fatalf("after 3 replacing claims: %+v", p)
	}
	if st := w.status(pause...); st.Status != "replacement_prone" || st.ClaimsReplaced != 3 {
		t.Fatalf("status: %+v", st)
	}
	w.metric(`claimdrift_prebuilt_workspaces_preset_status{organization_name="acme",preset_name="small",status="replacement_prone",template_name="dev"} 1`)
	// The log transport delivers the queued notifications: three claims
	// that replaced resources and one pause.
	r := w.run("reconcile", "--once", "--on-replacement", "pause", "--create-cmd", w.script("create.sh"), "--delete-cmd", w.script("delete.sh"))
	if r.code != 0 {
		t.Fatalf("reconcile: %d %s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "kind=preset_replacement_prone"); n != 1 {
		t.Errorf("%d pause notifications logged, want 1:\n%s", n, r.stderr)
	}
	if n := strings.Count(r.stderr, "kind=resource_replaced"); n != 3 {
		t.Errorf("%d replacement notifications logged, want 3:\n%s", n, r.stderr)
	}
	if strings.Contains(r.stderr, "s3cr3t") || !strings.Contains(r.stderr, "terraform_data.") {
		t.Errorf("a sensitive value reached the log, or the replaced resources are missing:\n%s", r.stderr)
	}
	// Nothing is logged twice.
	r = w.run("reconcile", "--once", "--on-replacement", "pause", "--create-cmd", w.script("create.sh"), "--delete-cmd", w.script("delete.sh"))
	if strings.Contains(r.stderr, "claimdrift notification") {
		t.Errorf("notifications delivered twice:\n%s", r.stderr)
	}
	// A new template version resumes the pool.
	w.ok("template", "import", "--name", "dev", "--org", "acme", "--version", "v2", plan)
	if p := w.reconcile(pause...); p.builds("create", "succeeded") != 1 || p.Presets[0].Status != "healthy" {
		t.Fatalf("after v2: %+v", p)
	}
}
