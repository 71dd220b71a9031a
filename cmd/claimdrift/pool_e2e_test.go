package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
)

// poolWorld runs the CLI in-process against one database, with the exec
// scripts of fixtures/exec recording their jobs in a state directory.
type poolWorld struct {
	t     *testing.T
	db    string
	state string
}

func (w *poolWorld) run(args ...string) result {
	w.t.Helper()
	return runCLI(w.t, "", map[string]string{"CLAIMDRIFT_DB": w.db}, args...)
}

func (w *poolWorld) ok(args ...string) string {
	w.t.Helper()
	r := w.run(args...)
	if r.code != 0 {
		w.t.Fatalf("claimdrift %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func (w *poolWorld) script(name string) string {
	p, err := filepath.Abs(filepath.Join(repoRoot, "fixtures", "exec", name))
	if err != nil {
		w.t.Fatal(err)
	}
	return "sh " + p
}

type e2ePass struct {
	Actions []struct {
		Kind   string `json:"kind"`
		Reason string `json:"reason"`
	} `json:"actions"`
	Builds []struct {
		Kind   string `json:"kind"`
		Status string `json:"status"`
	} `json:"builds"`
	Presets []struct {
		Preset  string `json:"preset"`
		Status  string `json:"status"`
		Blocked string `json:"blocked"`
	} `json:"presets"`
}

func (w *poolWorld) reconcile(extra ...string) e2ePass {
	w.t.Helper()
	args := append([]string{"reconcile", "--once", "--format", "json", "--notify", "none",
		"--create-cmd", w.script("create.sh"), "--delete-cmd", w.script("delete.sh")}, extra...)
	var p e2ePass
	if err := json.Unmarshal([]byte(w.ok(args...)), &p); err != nil {
		w.t.Fatalf("reconcile output: %v", err)
	}
	return p
}

func (p e2ePass) builds(kind, status string) int {
	n := 0
	for _, b := range p.Builds {
		if b.Kind == kind && b.Status == status {
			n++
		}
	}
	return n
}

type e2eState struct {
	Preset         string `json:"preset"`
	Desired        int    `json:"desired"`
	Running        int    `json:"running"`
	Eligible       int    `json:"eligible"`
	InProgress     int    `json:"in_progress"`
	Claims         int    `json:"claims"`
	ClaimsReplaced int    `json:"claims_replaced"`
	Status         string `json:"status"`
	Blocked        string `json:"blocked"`
	Failed         int    `json:"failed"`
}

func (w *poolWorld) status(extra ...string) e2eState {
	w.t.Helper()
	var states []e2eState
	if err := json.Unmarshal([]byte(w.ok(append([]string{"status", "--format", "json"}, extra...)...)), &states); err != nil {
		w.t.Fatal(err)
	}
	if len(states) != 1 {
		w.t.Fatalf("%d presets in status, want 1", len(states))
	}
	return states[0]
}

func (w *poolWorld) metric(line string) {
	w.t.Helper()
	out := w.ok("metrics")
	if !strings.Contains(out, line+"\n") {
		w.t.Errorf("metrics lack %q:\n%s", line, out)
	}
}

// TestPoolEndToEnd drives a pool's whole life through the CLI on both
// stores: import, reconcile with exec scripts, claim (tracking the real
// claim plan), refill, track, status and metrics, idempotent re-track,
// failing creation with backoff and the failure limit, resume.
func TestPoolEndToEnd(t *testing.T) {
	plan, err := filepath.Abs(planPath("claim.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			w := &poolWorld{t: t, state: t.TempDir()}
			switch backend {
			case "sqlite":
				w.db = filepath.Join(t.TempDir(), "state", "claimdrift.db")
			case "postgres":
				w.db = pgtest.Schema(t)
			}
			t.Setenv("EXEC_STATE_DIR", w.state)
			t.Setenv("EXEC_PLAN", plan)

			out := w.ok("template", "import", "--name", "dev", "--org", "acme", "--version", "v1", plan)
			if !strings.Contains(out, "template dev version v1 is active") {
				t.Fatalf("import: %s", out)
			}
			if _, err := uuid.Parse(strings.TrimSpace(w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "2", "--ttl", "24h", "--param", "cpu=2"))); err != nil {
				t.Fatalf("preset add did not print an id: %v", err)
			}
			if out := w.ok("preset", "list"); !strings.Contains(out, "small") || !strings.Contains(out, "cpu=2") {
				t.Fatalf("preset list: %s", out)
			}

			// Dry run: plans two creates, builds nothing.
			var dry e2ePass
			if err := json.Unmarshal([]byte(w.ok("reconcile", "--once", "--dry-run", "--format", "json")), &dry); err != nil {
				t.Fatal(err)
			}
			if len(dry.Actions) != 2 || len(dry.Builds) != 0 {
				t.Fatalf("dry run: %+v", dry)
			}

			// Fill the pool.
			if p := w.reconcile(); p.builds("create", "succeeded") != 2 {
				t.Fatalf("first pass: %+v", p)
			}
			if st := w.status(); st.Eligible != 2 || st.Desired != 2 {
				t.Fatalf("after fill: %+v", st)
			}

			// Claim: the claim command writes the real claim plan, which is tracked.
			r := w.run("claim", "--preset", "small", "--user", "alice", "--name", "alice-dev", "--claim-cmd", w.script("claim.sh"))
			if r.code != 0 {
				t.Fatalf("claim: %d %s", r.code, r.stderr)
			}
			if _, err := uuid.Parse(strings.TrimSpace(r.stdout)); err != nil {
				t.Fatalf("claim printed %q, want a workspace id", r.stdout)
			}
			if !strings.Contains(r.stderr, "replaced 5 resources") {
				t.Errorf("claim stderr: %s", r.stderr)
			}

			// The pool is refilled.
			if p := w.reconcile(); p.builds("create", "succeeded") != 1 {
				t.Fatalf("refill pass: %+v", p)
			}
			if st := w.status(); st.Eligible != 2 || st.Claims != 1 || st.ClaimsReplaced != 1 {
				t.Fatalf("after refill: %+v", st)
			}

			// The provisioner hook tracks a claim build claimdrift did not run.
			ws, build := uuid.NewString(), uuid.NewString()
			track := []string{"track", "--workspace", ws, "--build", build, "--preset", "small", "--user", "bob", plan}
			if out := w.ok(track...); !strings.Contains(out, "5 replacements recorded, 1 notifications queued") {
				t.Fatalf("track: %s", out)
			}
			const labels = `{organization_name="acme",preset_name="small",template_name="dev"}`
			w.metric("claimdrift_prebuilt_workspaces_resource_replacements_total" + labels + " 2")
			w.metric("claimdrift_prebuilt_workspaces_claimed_total" + labels + " 2")
			// Again: nothing changes.
			if out := w.ok(track...); !strings.Contains(out, "already tracked") {
				t.Fatalf("re-track: %s", out)
			}
			if r := w.run(append(track[:len(track)-1:len(track)-1], "--fail-on-replace", plan)...); r.code != 2 {
				t.Fatalf("--fail-on-replace: exit %d, want 2", r.code)
			}
			w.metric("claimdrift_prebuilt_workspaces_resource_replacements_total" + labels + " 2")
			if st := w.status(); st.ClaimsReplaced != 2 || st.Claims != 2 {
				t.Fatalf("after re-track: %+v", st)
			}

			// Creation fails: backoff, then the failure limit.
			if err := os.WriteFile(filepath.Join(w.state, "fail-create"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "3", "--ttl", "24h", "--param", "cpu=2")
			// The backoff is long enough for the next pass to fall inside it
			// even on a loaded machine.
			policy := []string{"--backoff", "2s", "--failure-limit", "2"}
			if p := w.reconcile(policy...); p.builds("create", "failed") != 1 {
				t.Fatalf("failing pass: %+v", p)
			}
			p := w.reconcile(policy...)
			if len(p.Builds) != 0 || !strings.Contains(p.Presets[0].Blocked, "backing off after 1") {
				t.Fatalf("pass during backoff: %+v", p)
			}
			time.Sleep(2100 * time.Millisecond)
			if p := w.reconcile(policy...); p.builds("create", "failed") != 1 {
				t.Fatalf("pass after backoff: %+v", p)
			}
			// The limit is checked before the backoff: no need to wait.
			if p := w.reconcile(policy...); len(p.Builds) != 0 || p.Presets[0].Status != "hard_limited" || !strings.Contains(p.Presets[0].Blocked, "hard_limited") {
				t.Fatalf("failure limit pass: %+v", p)
			}
			if st := w.status(policy...); st.Status != "hard_limited" || st.Failed != 2 || st.Eligible != 2 {
				t.Fatalf("at the failure limit: %+v", st)
			}
			w.metric(`claimdrift_prebuilt_workspaces_preset_status{organization_name="acme",preset_name="small",status="hard_limited",template_name="dev"} 1`)
			os.Remove(filepath.Join(w.state, "fail-create"))
			if p := w.reconcile(policy...); len(p.Builds) != 0 || !strings.Contains(p.Presets[0].Blocked, "hard_limited") {
				t.Fatalf("a hard-limited preset built, or is blocked for another reason: %+v", p)
			}

			// Resume.
			if out := w.ok("preset", "resume", "small"); !strings.Contains(out, "resumed (was hard_limited)") {
				t.Fatalf("resume: %s", out)
			}
			if p := w.reconcile(policy...); p.builds("create", "succeeded") != 1 {
				t.Fatalf("after resume: %+v", p)
			}
			if st := w.status(policy...); st.Status != "healthy" || st.Eligible != 3 {
				t.Fatalf("after resume: %+v", st)
			}
			w.metric("claimdrift_prebuilt_workspaces_failed_total" + labels + " 2")
			w.metric("claimdrift_prebuilt_workspaces_created_total" + labels + " 4")
		})
	}
}

func TestPoolClaimNothingClaimable(t *testing.T) {
	w := &poolWorld{t: t, db: filepath.Join(t.TempDir(), "c.db")}
	w.ok("template", "import", "--name", "dev", planPath("claim.json"))
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "1")
	r := w.run("claim", "--preset", "small", "--user", "alice")
	if r.code != 1 || !strings.Contains(r.stderr, "claimdrift: preset small of template dev has no ready prebuild to claim") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
}

func TestPoolUsageErrors(t *testing.T) {
	w := &poolWorld{t: t, db: filepath.Join(t.TempDir(), "c.db")}
	for name, args := range map[string][]string{
		"bad schedule":       {"preset", "add", "--template", "dev", "--name", "p", "--schedule", "* * *=2"},
		"bad timezone":       {"preset", "add", "--template", "dev", "--name", "p", "--timezone", "Mars/Olympus", "--schedule", "* * * * *=1"},
		"bad policy":         {"reconcile", "--once", "--dry-run", "--on-replacement", "explode"},
		"threshold > window": {"reconcile", "--once", "--dry-run", "--replacement-threshold", "6"},
		"no commands":        {"reconcile", "--once"},
		"bad workspace id":   {"track", "--workspace", "x", "--build", uuid.NewString(), planPath("claim.json")},
		"no user":            {"claim", "--preset", "p"},
		// Issue 11: every flag's range is checked before anything runs.
		"sub-second ttl":       {"preset", "add", "--template", "dev", "--name", "p", "--ttl", "500ms"},
		"fractional ttl":       {"preset", "add", "--template", "dev", "--name", "p", "--ttl", "1500ms"},
		"negative instances":   {"preset", "add", "--template", "dev", "--name", "p", "--instances", "-3"},
		"huge instances":       {"preset", "add", "--template", "dev", "--name", "p", "--instances", "2147483647"},
		"huge schedule":        {"preset", "add", "--template", "dev", "--name", "p", "--schedule", "* * * * *=100000"},
		"name with newline":    {"preset", "add", "--template", "dev", "--name", "p\nINFO forged", "--instances", "1"},
		"name with escape":     {"preset", "add", "--template", "dev", "--name", "p\x1b[31m", "--instances", "1"},
		"name invalid utf8":    {"preset", "add", "--template", "dev", "--name", "p\xff", "--instances", "1"},
		"name too long":        {"preset", "add", "--template", "dev", "--name", strings.Repeat("n", 300), "--instances", "1"},
		"negative timeout":     {"reconcile", "--once", "--dry-run", "--build-timeout", "-1s"},
		"interval 1ns":         {"reconcile", "--once", "--dry-run", "--interval", "1ns"},
		"negative stale":       {"reconcile", "--once", "--dry-run", "--stale-build-after", "-1m"},
		"parallel 0":           {"reconcile", "--once", "--dry-run", "--parallel", "0"},
		"dispatch interval":    {"notify", "dispatch", "--once", "--interval", "1ns"},
		"dispatch attempts":    {"notify", "dispatch", "--once", "--max-attempts", "-1"},
		"status bad policy":    {"status", "--failure-limit", "-1"},
		"empty ignore glob":    {"analyze", "--ignore", "", planPath("claim.json")},
		"control in claim-ref": {"analyze", "--claim-ref", "var.\x1bowner", planPath("claim.json")},
	} {
		t.Run(name, func(t *testing.T) {
			r := w.run(args...)
			if r.code != 1 || !strings.Contains(r.stderr, "'claimdrift --help'") {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			// One line, and nothing a terminal would interpret.
			if strings.Count(r.stderr, "\n") != 1 || strings.ContainsAny(r.stderr, "\x1b\r") {
				t.Errorf("stderr is not one clean line: %q", r.stderr)
			}
		})
	}
	// Nothing of the above reached the database: no preset was saved.
	if _, err := os.Stat(w.db); err == nil {
		r := w.run("preset", "list", "--format", "json")
		if strings.TrimSpace(r.stdout) != "[]" {
			t.Errorf("presets after refused adds: %s", r.stdout)
		}
	}
}

func TestPoolDefaultDB(t *testing.T) {
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want string
	}{
		{"flag", "/x/flag.db", map[string]string{"CLAIMDRIFT_DB": "/x/env.db"}, "/x/flag.db"},
		{"env", "", map[string]string{"CLAIMDRIFT_DB": "postgres://h/db"}, "postgres://h/db"},
		{"xdg", "", map[string]string{"XDG_STATE_HOME": "/state", "HOME": "/home/u"}, "/state/claimdrift/claimdrift.db"},
		{"home", "", map[string]string{"HOME": "/home/u"}, "/home/u/.local/state/claimdrift/claimdrift.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dbLocation(ioStreams{Getenv: func(k string) string { return tt.env[k] }}, &globalOptions{db: tt.flag})
			if err != nil || got != tt.want {
				t.Fatalf("dbLocation = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestPoolTemplateImportPresets(t *testing.T) {
	w := &poolWorld{t: t, db: filepath.Join(t.TempDir(), "p.db")}
	out := w.ok("template", "import", "--name", "docker", "--org", "acme", "--version", "2026-03", planPath("providers/docker.json"))
	if !strings.Contains(out, "version 2026-03 is active") || !strings.Contains(out, "Standard (2)") {
		t.Fatalf("import: %s", out)
	}
	var presets []struct {
		Template   string            `json:"template"`
		Name       string            `json:"name"`
		Instances  int               `json:"instances"`
		TTLSeconds int64             `json:"ttl_seconds"`
		Timezone   string            `json:"timezone"`
		Schedules  []json.RawMessage `json:"schedules"`
		Parameters map[string]string `json:"parameters"`
	}
	if err := json.Unmarshal([]byte(w.ok("preset", "list", "--format", "json")), &presets); err != nil {
		t.Fatal(err)
	}
	var std *struct {
		Template   string            `json:"template"`
		Name       string            `json:"name"`
		Instances  int               `json:"instances"`
		TTLSeconds int64             `json:"ttl_seconds"`
		Timezone   string            `json:"timezone"`
		Schedules  []json.RawMessage `json:"schedules"`
		Parameters map[string]string `json:"parameters"`
	}
	for i := range presets {
		if presets[i].Name == "Standard" {
			std = &presets[i]
		}
	}
	if std == nil || std.Instances != 2 || std.TTLSeconds != 86400 || std.Timezone != "Europe/Berlin" || len(std.Schedules) != 2 || std.Parameters["image"] == "" {
		t.Fatalf("presets: %+v", presets)
	}
	// Importing the same version again changes nothing but keeps it active.
	if out := w.ok("template", "import", "--name", "docker", "--org", "acme", "--version", "2026-03", planPath("providers/docker.json")); !strings.Contains(out, "version 2026-03 is active") {
		t.Fatalf("re-import: %s", out)
	}
}
