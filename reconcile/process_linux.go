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

// procStartTime returns the start time of process pid in clock ticks
// since boot (field 22 of /proc/PID/stat), 0 when it is gone.
func procStartTime(pid int) int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return 0
	}
	v, _ := strconv.ParseInt(fields[19], 10, 64)
	return v
}

// procAlive reports whether process pid, started at start (clock ticks
// since boot), still runs: not gone, not a zombie (a zombie keeps its
// /proc entry until reaped, which an init that does not reap may never
// do), and not another process that got the id since.
func procAlive(pid int, start int64) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(s[i+1:])
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
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(raw)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}
