package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
)

// pidOfPeer finds which of pids owns the loopback TCP socket whose local
// port is port (Linux /proc).
func pidOfPeer(port int, pids []int) (int, error) {
	raw, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	inode := ""
	for _, l := range strings.Split(string(raw), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 10 {
			continue
		}
		if _, hexPort, ok := strings.Cut(f[1], ":"); ok {
			if n, _ := strconv.ParseInt(hexPort, 16, 32); int(n) == port {
				inode = f[9]
			}
		}
	}
	if inode == "" {
		return 0, fmt.Errorf("no socket with local port %d", port)
	}
	for _, pid := range pids {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); link == "socket:["+inode+"]" {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no replica owns socket inode %s", inode)
}

// blockingReceiver records deliveries by dedup key and holds the first
// request until released, telling which of pids sent it. The sender is
// looked up here, while its connection is surely open: the sender gives
// up after --send-timeout (1s), and a lookup made later by the test,
// slowed down on a busy machine, could find the socket gone.
type blockingReceiver struct {
	mu       sync.Mutex
	keys     []string
	pids     []int
	first    chan senderOf
	release  chan struct{}
	received int
}

// senderOf is the process that sent the first delivery, or why it is
// not known.
type senderOf struct {
	pid int
	err error
}

func (rc *blockingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	rc.mu.Lock()
	rc.keys = append(rc.keys, r.Header.Get(notify.HeaderDedupKey))
	rc.received++
	n, pids := rc.received, rc.pids
	rc.mu.Unlock()
	if n == 1 {
		_, port, _ := net.SplitHostPort(r.RemoteAddr)
		p, _ := strconv.Atoi(port)
		pid, err := pidOfPeer(p, pids)
		rc.first <- senderOf{pid, err}
		<-rc.release
	}
	w.WriteHeader(http.StatusOK)
}

// TestServeReplicas runs three `claimdrift serve` processes on one
// PostgreSQL: one is killed with SIGKILL in the middle of a pass (its
// builds running), another in the middle of a delivery; the survivors
// finish the work, nothing is created or delivered twice as a new
// message, nothing is lost. Then the PostgreSQL server itself crashes
// (a private cluster, stopped with pg_ctl -m immediate) and restarts
// under two replicas: /readyz answers 503 while /healthz stays 200, then
// 200 once it is back, and the loops recover.
func TestServeReplicas(t *testing.T) {
	bin := buildBinary(t)
	pg := pgtest.NewServer(t)
	db := pg.DSN()

	state := t.TempDir()
	script := filepath.Join(state, "build.sh")
	if err := os.WriteFile(script, []byte(`#!/bin/sh
printf '%s %s %s\n' "$REPLICA" "$1" "$CLAIMDRIFT_WORKSPACE_ID" >>"$STATE/jobs.log"
[ "$1" = create ] && sleep 2
exit 0
`), 0o755); err != nil {
		t.Fatal(err)
	}
	w := &serveWorld{poolWorld: poolWorld{t: t, db: db, state: state}, tokens: map[string]string{}}
	w.ok("template", "import", "--name", "dev", planPath("claim.json"))
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "4")
	rcv := &blockingReceiver{first: make(chan senderOf, 1), release: make(chan struct{})}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	defer close(rcv.release)
	w.ok("admins", "add", "--template", "dev", "--webhook", hook.URL)
	token := strings.TrimSpace(w.ok("token", "create", "--name", "ops", "--scope", "admin"))

	t.Setenv("STATE", state)
	var replicas []*serveProcess
	var pids []int
	alive := map[int]bool{}
	start := func() *serveProcess {
		i := len(replicas)
		t.Setenv("REPLICA", strconv.Itoa(i))
		r := startServe(t, bin, db, "--notify", "deliver", "--interval", "300ms", "--build-lease", "2s",
			"--lease", "3s", "--send-timeout", "1s", "--retry-base", "1s", "--backoff", "200ms", "--failure-limit", "0",
			"--create-cmd", "sh "+script+" create", "--delete-cmd", "sh "+script+" delete")
		replicas, pids, alive[i] = append(replicas, r), append(pids, r.cmd.Process.Pid), true
		return r
	}
	for range 3 {
		start()
	}
	lines := func() []string {
		raw, _ := os.ReadFile(filepath.Join(state, "jobs.log"))
		return strings.Split(strings.TrimSpace(string(raw)), "\n")
	}
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		start := time.Now()
		deadline := start.Add(d)
		for !ok() {
			if time.Now().After(deadline) {
				if os.Getenv("SERVE_REPLICA_DEBUG") != "" {
					for i := range alive {
						replicas[i].cmd.Process.Signal(syscall.SIGQUIT)
					}
					time.Sleep(2 * time.Second)
				}
				var logs []string
				for i, r := range replicas {
					logs = append(logs, fmt.Sprintf("--- replica %d\n%s", i, r.logText()))
				}
				t.Fatalf("timed out waiting for %s\njobs:\n%s\n%s", what, strings.Join(lines(), "\n"), strings.Join(logs, "\n"))
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("%s after %s", what, time.Since(start).Round(time.Millisecond))
	}
	status := func(r *serveProcess) reconcile.PresetState {
		var states []reconcile.PresetState
		if code := getJSON(t, r.url+"/api/v1/presets", token, &states); code != 200 || len(states) != 1 {
			t.Fatalf("presets: %d %+v", code, states)
		}
		return states[0]
	}

	// 1. Kill -9 the replica whose pass is running builds.
	waitFor("a create to start", 20*time.Second, func() bool { return len(lines()) > 0 && lines()[0] != "" })
	victim, _ := strconv.Atoi(strings.Fields(lines()[0])[0])
	if err := replicas[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-replicas[victim].done
	delete(alive, victim)
	var survivor *serveProcess
	for i := range alive {
		survivor = replicas[i]
	}
	// The survivors take the orphaned builds over after their lease and fill the pool.
	waitFor("the pool to fill", 60*time.Second, func() bool { s := status(survivor); return s.Eligible == 4 && s.InProgress == 0 })
	s := status(survivor)
	if s.Created != 4 {
		t.Fatalf("%d prebuilds created successfully for a pool of 4: %+v\n%s", s.Created, s, strings.Join(lines(), "\n"))
	}
	// The victim's builds were taken over once their lease ran out: their
	// workspaces are deleted (cleanup of what the killed create may have
	// made) and recreated. Their creates may not all have logged before
	// the kill (the victim had claimed the builds, the scripts had not
	// started yet), so a deleted workspace nobody logged a create of is
	// the victim's too. No workspace another replica created may be
	// deleted: that would be a surplus prebuild, created twice.
	createdBy := map[string]string{}
	for _, l := range lines() {
		if f := strings.Fields(l); len(f) == 3 && f[1] == "create" {
			createdBy[f[2]] = f[0]
		}
	}
	for _, l := range lines() {
		f := strings.Fields(l)
		if len(f) != 3 || f[1] != "delete" {
			continue
		}
		if by, ok := createdBy[f[2]]; f[0] == strconv.Itoa(victim) || ok && by != strconv.Itoa(victim) {
			t.Fatalf("a prebuild that was not the killed replica's was deleted (created twice): %q\n%s", l, strings.Join(lines(), "\n"))
		}
	}

	// 2. Kill -9 the replica in the middle of a delivery.
	var alivePids []int
	for i := range alive {
		alivePids = append(alivePids, pids[i])
	}
	rcv.mu.Lock()
	rcv.pids = alivePids
	rcv.mu.Unlock()
	ws := uuid.New()
	r := runCLI(t, "", map[string]string{}, "track", "--server", survivor.url, "--token-file", writeToken(t, token),
		"--workspace", ws.String(), "--build", uuid.NewString(), "--preset", "small", "--template", "dev", "--user", "alice", planPath("claim.json"))
	if r.code != 0 {
		t.Fatalf("track: %d %s", r.code, r.stderr)
	}
	var sender int
	select {
	case s := <-rcv.first:
		if s.err != nil {
			t.Fatalf("who sent the delivery: %v", s.err)
		}
		sender = s.pid
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery")
	}
	for i := range alive {
		if pids[i] == sender {
			if err := replicas[i].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-replicas[i].done
			delete(alive, i)
		}
	}
	for i := range alive {
		survivor = replicas[i]
	}
	// The last replica delivers it again after the lease, same dedup key.
	waitFor("the redelivery", 30*time.Second, func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return rcv.received >= 2 })
	rcv.mu.Lock()
	if rcv.keys[0] == "" || rcv.keys[1] != rcv.keys[0] {
		t.Fatalf("redelivery keys: %v", rcv.keys)
	}
	rcv.mu.Unlock()
	waitFor("the message to be recorded delivered", 20*time.Second, func() bool {
		out := w.ok("outbox", "list", "--status", "delivered")
		return strings.Count(out, "resource_replaced") == 1
	})

	// 3. The PostgreSQL server crashes and restarts under two replicas:
	// the survivor and a fresh one.
	live := []*serveProcess{survivor, start()}
	pg.Stop()
	for _, r := range live {
		waitFor("/readyz 503", 20*time.Second, func() bool { return getJSON(t, r.url+"/readyz", "", nil) == 503 })
		if code := getJSON(t, r.url+"/healthz", "", nil); code != 200 {
			t.Fatalf("/healthz during the outage: %d", code)
		}
	}
	time.Sleep(time.Second) // the loops fail a few passes
	pg.Start()
	for _, r := range live {
		waitFor("/readyz 200", 30*time.Second, func() bool { return getJSON(t, r.url+"/readyz", "", nil) == 200 })
	}
	// The loops recover: a claim through each replica's API is refilled
	// by the reconcile loop.
	for i, r := range live {
		res := runCLI(t, "", map[string]string{}, "claim", "--server", r.url, "--token-file", writeToken(t, token), "--template", "dev", "--preset", "small", "--user", fmt.Sprintf("bob%d", i))
		if res.code != 0 {
			t.Fatalf("claim after the outage: %d %s", res.code, res.stderr)
		}
	}
	waitFor("the pool to refill after the outage", 60*time.Second, func() bool {
		for _, r := range live {
			if s := status(r); s.Eligible != 4 || s.InProgress != 0 {
				return false
			}
		}
		return true
	})
	for i := range alive {
		select {
		case err := <-replicas[i].done:
			t.Fatalf("replica %d exited: %v\n%s", i, err, replicas[i].logText())
		default:
		}
	}
}

func writeToken(t *testing.T, token string) string {
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
