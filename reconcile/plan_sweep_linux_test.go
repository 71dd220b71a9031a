//go:build linux

package reconcile_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// TestClaimSweepsPlansOfDeadClaimers: a claimdrift killed between a claim
// command and the track of its plan leaves the plan (values in the clear)
// in its directory. Before its first claim an executor removes the
// directories whose owner process is gone, and keeps the others.
func TestClaimSweepsPlansOfDeadClaimers(t *testing.T) {
	planDir := t.TempDir()
	old := time.Now().Add(-2 * time.Minute)
	mk := func(name, owner string, mtime time.Time) string {
		t.Helper()
		dir := filepath.Join(planDir, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "plan"), []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(owner), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(dir, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	// A process that has exited: its id names no live process with the
	// start time written.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	selfStart := statField(t, "self", 19)
	// A process that has exited and is not reaped yet: a zombie keeps its
	// /proc entry, with its start time, until its parent waits for it
	// (an init that does not reap never does).
	zombie := exec.Command("true")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	defer zombie.Wait()
	zpid := strconv.Itoa(zombie.Process.Pid)
	zombieStart := statField(t, zpid, 19)
	for deadline := time.Now().Add(5 * time.Second); statField(t, zpid, 0) != "Z"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the child did not become a zombie")
		}
	}
	outside := t.TempDir()
	if err := os.Chtimes(outside, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		dir  string
		kept bool
	}{
		{"owner gone", mk("claimdrift-claim-dead", fmt.Sprintf("%d 123456789\n", dead.Process.Pid), old), false},
		{"owner a zombie", mk("claimdrift-claim-zombie", zpid+" "+zombieStart+"\n", old), false},
		{"this process under another start time", mk("claimdrift-claim-reused", fmt.Sprintf("%d 1\n", os.Getpid()), old), false},
		{"owner alive (this process)", mk("claimdrift-claim-live", fmt.Sprintf("%d %s\n", os.Getpid(), selfStart), old), true},
		{"no owner, two days old", mk("claimdrift-claim-ancient", "", time.Now().Add(-48*time.Hour)), false},
		{"kept for the user, two days old", mk("claimdrift-claim-kept", "kept\n", time.Now().Add(-48*time.Hour)), true},
		{"no owner, two minutes old", mk("claimdrift-claim-recent", "", old), true},
		{"owner gone, but just made", mk("claimdrift-claim-young", fmt.Sprintf("%d 123456789\n", dead.Process.Pid), time.Now()), true},
		{"another name", mk("other-dead", fmt.Sprintf("%d 123456789\n", dead.Process.Pid), time.Now().Add(-48*time.Hour)), true},
		{"symbolic link", outside, true},
	}
	if err := os.Symlink(outside, filepath.Join(planDir, "claimdrift-claim-link")); err != nil {
		t.Fatal(err)
	}
	// The claim command reads its own directory's owner file into the plan.
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{PlanDir: planDir,
		ClaimCmd: `cat "$(dirname "$CLAIMDRIFT_PLAN_OUT")/owner" > "$CLAIMDRIFT_PLAN_OUT"`})
	res, err := x.Run(t.Context(), reconcile.Job{Kind: reconcile.JobClaim, BuildID: uuid.New(), WorkspaceName: "w", Claimant: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Done()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := os.Stat(c.dir)
			if kept := err == nil; kept != c.kept {
				t.Fatalf("%s kept = %v, want %v", c.dir, kept, c.kept)
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(planDir, "claimdrift-claim-link")); err != nil {
		t.Fatalf("the symbolic link was removed: %v", err)
	}
	owner, err := os.ReadFile(res.PlanPath)
	if err != nil || string(owner) != fmt.Sprintf("%d %s\n", os.Getpid(), selfStart) {
		t.Fatalf("the claim's own directory names %q (%v), want this process", owner, err)
	}
}

// statField is field i (0: the state) after the command name in
// /proc/PID/stat.
func statField(t *testing.T, pid string, i int) string {
	t.Helper()
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[i]
}
