//go:build linux

package reconcile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSuperviseKillsGroupWhenParentDiesUnsignalled: even when no
// parent-death signal reaches the supervising shell (here none is set, as
// when one is missed), its watcher sees the parent gone and kills the
// build's whole process group within seconds.
func TestSuperviseKillsGroupWhenParentDiesUnsignalled(t *testing.T) {
	dir := t.TempDir()
	childFile := filepath.Join(dir, "child")
	// parent stands for the reconciler: it starts the supervisor (in a
	// process group of its own) and is then SIGKILLed.
	parent := exec.Command("sh", "-c", `sh -c "$1" claimdrift-build "$2" & wait`, "parent", supervise,
		`sleep 30 & echo $! >"$CHILD"; wait`)
	parent.Env = append(os.Environ(), "CHILD="+childFile)
	parent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	var child int
	for deadline := time.Now().Add(10 * time.Second); child == 0; time.Sleep(20 * time.Millisecond) {
		raw, _ := os.ReadFile(childFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
		if child == 0 && time.Now().After(deadline) {
			syscall.Kill(-parent.Process.Pid, syscall.SIGKILL)
			t.Fatal("the build command did not start")
		}
	}
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for procAlive(child, procStartTime(child)) {
		if time.Now().After(deadline) {
			syscall.Kill(-parent.Process.Pid, syscall.SIGKILL)
			t.Fatalf("the build command's child %d outlived its supervisor's parent by 10 s", child)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
