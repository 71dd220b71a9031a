//go:build !linux

package reconcile

import "syscall"

// groupAttr starts a build command in its own process group; without
// Linux's parent-death signal, a command may outlive a reconciler killed
// with SIGKILL (takeovers still kill its group on the same host when its
// start time can be read, which is Linux-only too).
func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func procStartTime(int) int64 { return 0 }

// procAlive cannot tell a process from a later one with its id here;
// callers use it only where procStartTime is known (Linux).
func procAlive(pid int, _ int64) bool { return syscall.Kill(pid, 0) == nil }

func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }
