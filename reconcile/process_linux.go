//go:build linux

package reconcile

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// groupAttr starts a build command as the leader of its own process group,
// with SIGTERM as its parent-death signal. The parent is the thread that
// forked it (Linux semantics): the executor keeps that goroutine locked to
// its thread until the command ends, so the signal fires only when the
// reconciler itself dies. The command is wrapped in a shell that turns the
// signal into SIGKILL for the whole group (see supervise).
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// procStat returns the fields of /proc/ID/stat after the command name
// (field 3, the state, first); nil when the process is gone.
func procStat(id string) []string {
	raw, err := os.ReadFile("/proc/" + id + "/stat")
	if err != nil {
		return nil
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// procStartTime returns the start time of process pid in clock ticks
// since boot (field 22 of /proc/PID/stat), 0 when it is gone.
func procStartTime(pid int) int64 {
	f := procStat(strconv.Itoa(pid))
	if len(f) < 20 {
		return 0
	}
	v, _ := strconv.ParseInt(f[19], 10, 64)
	return v
}

// procAlive reports whether process pid, started at start (clock ticks
// since boot), still runs: not gone, not a zombie (a zombie keeps its
// /proc entry until reaped, which an init that does not reap may never
// do), and not another process that got the id since.
func procAlive(pid int, start int64) bool {
	f := procStat(strconv.Itoa(pid))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return false
	}
	v, _ := strconv.ParseInt(f[19], 10, 64)
	return v == start
}

// groupAlive reports whether any live (not zombie) process is in process
// group pgid: a zombie holds its group id until reaped, which an init that
// does not reap (containers) may never do.
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return syscall.Kill(-pgid, 0) == nil
	}
	group := strconv.Itoa(pgid)
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		f := procStat(e.Name())
		if len(f) > 2 && f[0] != "Z" && f[2] == group {
			return true
		}
	}
	return false
}
