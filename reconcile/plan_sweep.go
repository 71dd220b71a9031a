package reconcile

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Claim plan directories: each claim command writes its plan into a
// private directory of ExecOptions.PlanDir, removed once the plan is
// tracked. A claimdrift killed with SIGKILL in between leaves its
// directory, and a plan holds the workspace's values in the clear
// (sensitive ones included). Each directory therefore names its owner
// process, and an executor sweeps the directories of owners that are gone
// before its first claim.

const (
	// planDirPrefix names the claim plan directories in PlanDir.
	planDirPrefix = "claimdrift-claim-"
	// planOwnerFile holds "PID STARTTIME" of the process that made the
	// directory, or planKept.
	planOwnerFile = "owner"
	// planKept marks a plan kept for the user to record later: never
	// swept.
	planKept = "kept"
	// orphanPlanAge is how old a directory without a readable owner (or on
	// a system without process start times) must be to be swept.
	orphanPlanAge = 24 * time.Hour
	// youngPlanAge spares a directory whose owner file may not be written
	// yet.
	youngPlanAge = time.Minute
)

// makePlanDir creates a claim's private plan directory, naming this
// process as its owner.
func makePlanDir(parent string) (string, error) {
	dir, err := os.MkdirTemp(parent, planDirPrefix)
	if err != nil {
		return "", err
	}
	pid := os.Getpid()
	owner := fmt.Sprintf("%d %d\n", pid, procStartTime(pid))
	if err := os.WriteFile(filepath.Join(dir, planOwnerFile), []byte(owner), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// sweepPlanDirs removes the claim plan directories in parent whose owner
// process is gone or a zombie (another process, or this one earlier under
// the same process id, is told apart by its start time), and those without a
// readable owner that are older than orphanPlanAge. Only directories of
// this user are touched, never followed through a symbolic link. It
// returns how many it removed.
func sweepPlanDirs(parent string, now time.Time) int {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return 0
	}
	startTimes := procStartTime(os.Getpid()) != 0 // 0: not known on this system
	removed := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), planDirPrefix) || e.Type()&os.ModeSymlink != 0 || !e.IsDir() {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() || !ownedByMe(fi) {
			continue
		}
		age := now.Sub(fi.ModTime())
		if age < youngPlanAge {
			continue
		}
		pid, start, ok, kept := readPlanOwner(dir)
		if kept {
			continue
		}
		gone := age > orphanPlanAge
		if ok && startTimes {
			gone = !procAlive(pid, start)
		}
		if gone && os.RemoveAll(dir) == nil {
			removed++
		}
	}
	return removed
}

// readPlanOwner reads a plan directory's owner file: the owner (ok), or
// that the plan is kept.
func readPlanOwner(dir string) (pid int, start int64, ok, kept bool) {
	raw, err := os.ReadFile(filepath.Join(dir, planOwnerFile))
	if err != nil {
		return 0, 0, false, false
	}
	f := strings.Fields(string(raw))
	if len(f) == 1 && f[0] == planKept {
		return 0, 0, false, true
	}
	if len(f) != 2 {
		return 0, 0, false, false
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 || start <= 0 {
		return 0, 0, false, false
	}
	return pid, start, true, false
}

// keepPlanDir marks a claim plan directory as kept for the user.
func keepPlanDir(dir string) {
	_ = os.WriteFile(filepath.Join(dir, planOwnerFile), []byte(planKept+"\n"), 0o600)
}

// ownedByMe reports whether this process's user owns fi.
func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
