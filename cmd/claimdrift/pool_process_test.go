package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
)

// TestPoolTwoReconcilerProcesses runs two `claimdrift reconcile --once`
// processes of the real binary at the same time on one database, with slow
// create commands: together they create exactly the desired number.
func TestPoolTwoReconcilerProcesses(t *testing.T) {
	bin := buildBinary(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			w := &poolWorld{t: t, state: t.TempDir()}
			if backend == "sqlite" {
				w.db = filepath.Join(t.TempDir(), "two.db")
			} else {
				w.db = pgtest.Schema(t)
			}
			w.ok("template", "import", "--name", "dev", planPath("claim.json"))
			w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "5")
			var wg sync.WaitGroup
			outs := make([]bytes.Buffer, 2)
			errs := make([]error, 2)
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cmd := exec.Command(bin, "reconcile", "--once", "--notify", "none",
						"--create-cmd", w.script("create.sh"), "--delete-cmd", w.script("delete.sh"))
					cmd.Env = append(os.Environ(), "CLAIMDRIFT_DB="+w.db, "EXEC_STATE_DIR="+w.state, "EXEC_SLEEP=0.3")
					cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
					errs[i] = cmd.Run()
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("reconciler %d: %v\n%s", i, err, outs[i].String())
				}
			}
			raw, err := os.ReadFile(filepath.Join(w.state, "jobs.log"))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(raw), "create "); n != 5 {
				t.Fatalf("two reconcilers ran %d creates, want 5\n%s\n%s", n, outs[0].String(), outs[1].String())
			}
			if st := w.status(); st.Eligible != 5 || st.InProgress != 0 {
				t.Fatalf("status: %+v", st)
			}
		})
	}
}

// TestPoolClaimBinaryPlan claims with a command that writes a binary plan
// file: claimdrift shows it with terraform 1.5.7 and tracks it.
func TestPoolClaimBinaryPlan(t *testing.T) {
	tf := terraform157(t)
	plan, err := filepath.Abs(planPath("claim.tfplan"))
	if err != nil {
		t.Fatal(err)
	}
	w := &poolWorld{t: t, db: filepath.Join(t.TempDir(), "bin.db"), state: t.TempDir()}
	t.Setenv("EXEC_STATE_DIR", w.state)
	t.Setenv("EXEC_PLAN", plan)
	t.Setenv("TF_CLI_CONFIG_FILE", os.DevNull)
	w.ok("template", "import", "--name", "dev", planPath("claim.json"))
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "1")
	w.reconcile()
	r := w.run("claim", "--preset", "small", "--user", "alice", "--claim-cmd", w.script("claim.sh"), "--terraform", tf)
	if r.code != 0 || !strings.Contains(r.stderr, "replaced 5 resources") {
		t.Fatalf("claim: exit %d\n%s", r.code, r.stderr)
	}
	if st := w.status(); st.ClaimsReplaced != 1 {
		t.Fatalf("status: %+v", st)
	}
}
