//go:build !linux

package reconcile

import "syscall"

// groupAttr starts a build command in its own process group; without
// Linux's parent-death signal, a command may outlive a reconciler killed
// with SIGKILL (takeovers still kill its group on the same host when its
// start time can be read, which is Linux-only too).
func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func procStartTime(int) int64 { return 0 }

func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }
