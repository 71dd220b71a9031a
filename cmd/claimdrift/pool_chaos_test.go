package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/postgres"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
	"github.com/claimdrift/claimdrift/reconcile/sqlite"
)

// chaosLease is the build lease of the chaos tests' reconcilers.
const chaosLease = 2 * time.Second

// chaosWorld is a pool whose create command makes a marker file per
// workspace (after a second, like a slow apply) and whose delete command
// removes it, run by real `claimdrift reconcile` processes.
type chaosWorld struct {
	*poolWorld
	bin     string
	markers string // one file per workspace a create made and no delete removed
	logs    string
	n       int
}

func newChaosWorld(t *testing.T, bin, backend string, desired int) *chaosWorld {
	w := &chaosWorld{poolWorld: &poolWorld{t: t, state: t.TempDir()}, bin: bin, logs: t.TempDir()}
	if backend == "sqlite" {
		w.db = filepath.Join(t.TempDir(), "chaos.db")
	} else {
		w.db = pgtest.Schema(t)
	}
	w.markers = filepath.Join(w.state, "markers")
	if err := os.Mkdir(w.markers, 0o755); err != nil {
		t.Fatal(err)
	}
	w.ok("template", "import", "--name", "dev", planPath("claim.json"))
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", fmt.Sprint(desired))
	return w
}

// start starts a reconciler process (in the test's process group: a
// SIGKILL of its pid kills it alone).
func (w *chaosWorld) start(extra ...string) (*exec.Cmd, string) {
	w.t.Helper()
	w.n++
	logPath := filepath.Join(w.logs, fmt.Sprintf("reconciler-%d.log", w.n))
	logf, err := os.Create(logPath)
	if err != nil {
		w.t.Fatal(err)
	}
	defer logf.Close()
	args := append([]string{"reconcile", "--interval", "200ms", "--notify", "none", "--build-lease", chaosLease.String(), "--stop-timeout", "5s",
		"--create-cmd", `echo "start $CLAIMDRIFT_WORKSPACE_ID" >>"$CHAOS_STATE/jobs.log"; sleep 1; touch "$CHAOS_STATE/markers/$CLAIMDRIFT_WORKSPACE_ID"; echo "made $CLAIMDRIFT_WORKSPACE_ID" >>"$CHAOS_STATE/jobs.log"`,
		"--delete-cmd", `rm -f "$CHAOS_STATE/markers/$CLAIMDRIFT_WORKSPACE_ID"; echo "deleted $CLAIMDRIFT_WORKSPACE_ID" >>"$CHAOS_STATE/jobs.log"`}, extra...)
	cmd := exec.Command(w.bin, args...)
	cmd.Env = append(os.Environ(), "CLAIMDRIFT_DB="+w.db, "CHAOS_STATE="+w.state)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	return cmd, logPath
}

// started counts the creates begun so far.
func (w *chaosWorld) started() int {
	raw, _ := os.ReadFile(filepath.Join(w.state, "jobs.log"))
	return strings.Count(string(raw), "start ")
}

// waitFor polls cond every 100ms until it holds or d passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cond()
}

// liveState opens the database and returns the ready prebuilds' workspace
// ids, the unfinished builds, and how many finished creates failed.
func (w *chaosWorld) liveState() (map[string]bool, int, reconcile.PresetStatus) {
	w.t.Helper()
	ctx := context.Background()
	var s reconcile.Store
	var err error
	if strings.HasPrefix(w.db, "postgres") {
		s, err = postgres.Open(ctx, w.db)
	} else {
		s, err = sqlite.Open(ctx, w.db)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Snapshot(ctx, time.Now(), 64)
	if err != nil || len(snap.Presets) != 1 {
		w.t.Fatalf("snapshot: %v", err)
	}
	ids := map[string]bool{}
	for _, pb := range snap.Presets[0].Prebuilds {
		ids[pb.WorkspaceID.String()] = true
	}
	return ids, len(snap.Presets[0].InProgress) + len(snap.StaleClaims), snap.Presets[0].Preset.Status
}

func (w *chaosWorld) markerSet() map[string]bool {
	entries, err := os.ReadDir(w.markers)
	if err != nil {
		w.t.Fatal(err)
	}
	m := map[string]bool{}
	for _, e := range entries {
		m[e.Name()] = true
	}
	return m
}

// buildProcesses lists the live (not zombie) processes whose environment
// names this world's state directory: build commands and their children.
func (w *chaosWorld) buildProcesses() []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	needle := []byte("CHAOS_STATE=" + w.state + "\x00")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(env, needle) {
			continue
		}
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out = append(out, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return out
}

func (w *chaosWorld) dumpLogs() {
	w.t.Helper()
	files, _ := filepath.Glob(filepath.Join(w.logs, "*.log"))
	sort.Strings(files)
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		sc := bufio.NewScanner(bytes.NewReader(raw))
		var tail []string
		for sc.Scan() {
			tail = append(tail, sc.Text())
			if len(tail) > 30 {
				tail = tail[1:]
			}
		}
		w.t.Logf("%s (last lines):\n%s", filepath.Base(f), strings.Join(tail, "\n"))
	}
}

// TestPoolChaosSIGKILL kills reconcilers with SIGKILL (the process alone,
// not its group) again and again while their creates run (one or two
// reconcilers at a time on the database), then stops one
// with SIGTERM mid-create, and lets a last one run: the pool converges to
// its desired size within a few leases, every workspace a create made is a
// live prebuild or deleted (its marker file removed), no build command
// survives, nothing is left unfinished, and the preset stays healthy
// (abandoned and canceled builds count no failure). On both stores.
func TestPoolChaosSIGKILL(t *testing.T) {
	bin := buildBinary(t)
	const desired = 3
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			w := newChaosWorld(t, bin, backend, desired)
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
			kills := 0
			var claimed []string
			for round := range 6 {
				// A claim (when a prebuild is ready) leaves room for a create.
				if r := w.run("claim", "--preset", "small", "--user", "u"); r.code == 0 {
					claimed = append(claimed, strings.TrimSpace(r.stdout))
				}
				before := w.started()
				// Odd rounds run two reconcilers at once on the database.
				procs := []*exec.Cmd{}
				for range 1 + round%2 {
					cmd, _ := w.start()
					procs = append(procs, cmd)
				}
				// Kill each at a random point once at least one create began.
				waitFor(5*time.Second, func() bool { return w.started() > before })
				for _, cmd := range procs {
					time.Sleep(time.Duration(rng.IntN(900)) * time.Millisecond)
					if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
						kills++
					}
					_ = cmd.Wait()
				}
			}
			// No build command outlives its reconciler.
			if !waitFor(3*time.Second, func() bool { return len(w.buildProcesses()) == 0 }) {
				t.Errorf("build commands outlived their SIGKILLed reconciler: %v", w.buildProcesses())
			}
			lastKill := time.Now()
			if _, unfinished, _ := w.liveState(); unfinished == 0 {
				t.Log("the last SIGKILL left no unfinished build")
			}

			// The next reconciler takes over what the killed ones left and
			// converges the pool: the figure the README reports.
			cmd, logPath := w.start()
			converged := waitFor(6*chaosLease+10*time.Second, func() bool {
				ids, unfinished, _ := w.liveState()
				return len(ids) == desired && unfinished == 0
			})
			took := time.Since(lastKill)
			if !converged {
				w.dumpLogs()
				ids, unfinished, st := w.liveState()
				t.Fatalf("not converged %s after the last SIGKILL: %d ready, %d unfinished, preset %s", took, len(ids), unfinished, st)
			}
			t.Logf("%s: %d SIGKILLs; pool converged %s after the last one (lease %s)", backend, kills, took.Round(100*time.Millisecond), chaosLease)

			// One SIGTERM in the middle of creates: exit 0 within seconds.
			// Two claims leave room for creates.
			for _, u := range []string{"alice", "bob"} {
				claimed = append(claimed, strings.TrimSpace(w.ok("claim", "--preset", "small", "--user", u)))
			}
			before := w.started()
			if !waitFor(3*chaosLease+5*time.Second, func() bool { return w.started() > before }) {
				w.dumpLogs()
				t.Fatal("no create started after two claims")
			}
			time.Sleep(300 * time.Millisecond)
			termAt := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					w.dumpLogs()
					t.Fatalf("reconciler after SIGTERM: %v", err)
				}
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				w.dumpLogs()
				t.Fatal("reconciler still running 10s after SIGTERM")
			}
			t.Logf("%s: SIGTERM to exit 0 took %s", backend, time.Since(termAt).Round(10*time.Millisecond))
			if procs := w.buildProcesses(); len(procs) != 0 {
				t.Errorf("build commands outlived a SIGTERMed reconciler: %v", procs)
			}

			if raw, _ := os.ReadFile(logPath); !strings.Contains(string(raw), "canceled") {
				t.Errorf("SIGTERM during creates recorded no canceled build:\n%s", raw)
			}

			// A last reconciler converges the pool again.
			final, _ := w.start()
			defer func() { _ = final.Process.Kill(); _, _ = final.Process.Wait() }()
			if !waitFor(6*chaosLease+10*time.Second, func() bool {
				ids, unfinished, _ := w.liveState()
				return len(ids) == desired && unfinished == 0
			}) {
				w.dumpLogs()
				t.Fatal("not converged after the SIGTERM")
			}
			t.Logf("%s: converged again %s after the SIGTERM", backend, time.Since(termAt).Round(100*time.Millisecond))
			if err := final.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := final.Wait(); err != nil {
				t.Fatalf("final reconciler after SIGTERM: %v", err)
			}

			ids, unfinished, status := w.liveState()
			markers := w.markerSet()
			if status != reconcile.StatusHealthy || unfinished != 0 || len(ids) != desired {
				t.Errorf("final: preset %s, %d unfinished, %d ready; want healthy, 0, %d", status, unfinished, len(ids), desired)
			}
			for _, id := range claimed {
				if !markers[id] {
					t.Errorf("claimed workspace %s lost its marker", id)
				}
				delete(markers, id)
			}
			for id := range markers {
				if !ids[id] {
					t.Errorf("workspace %s was made by a create but is neither a live prebuild nor deleted (leaked)", id)
				}
			}
			for id := range ids {
				if !markers[id] {
					t.Errorf("prebuild %s is ready but its create left no workspace", id)
				}
			}
			if procs := w.buildProcesses(); len(procs) != 0 {
				t.Errorf("build commands left running: %v", procs)
			}
			if st := w.status(); st.Failed != 0 || st.Status != "healthy" {
				t.Errorf("status after chaos: %+v (abandoned and canceled builds are no failures)", st)
			}
			if t.Failed() {
				w.dumpLogs()
			}
		})
	}
}

// TestReconcilerSIGKILLKillsBuildCommands: a reconciler killed with SIGKILL
// (the process alone) takes its build commands with it, their children
// included, at once: nothing a dead reconciler started can finish a create
// after a takeover's delete.
func TestReconcilerSIGKILLKillsBuildCommands(t *testing.T) {
	bin := buildBinary(t)
	w := &poolWorld{t: t, state: t.TempDir(), db: filepath.Join(t.TempDir(), "kill.db")}
	w.ok("template", "import", "--name", "dev", planPath("claim.json"))
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "2")
	cmd := exec.Command(bin, "reconcile", "--notify", "none", "--interval", "1h",
		"--create-cmd", `sleep 60 & echo $! >"$KILL_STATE/child-$CLAIMDRIFT_WORKSPACE_ID"; wait`, "--delete-cmd", "true")
	cmd.Env = append(os.Environ(), "CLAIMDRIFT_DB="+w.db, "KILL_STATE="+w.state)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	if !waitFor(10*time.Second, func() bool {
		pids = pids[:0]
		files, _ := filepath.Glob(filepath.Join(w.state, "child-*"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			var pid int
			if _, err := fmt.Sscanf(string(raw), "%d\n", &pid); err == nil {
				pids = append(pids, pid)
			}
		}
		return len(pids) == 2
	}) {
		cmd.Process.Kill()
		t.Fatalf("creates did not start:\n%s", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	alive := func(pid int) bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		i := bytes.LastIndexByte(stat, ')')
		return err == nil && i > 0 && len(stat) > i+2 && stat[i+2] != 'Z'
	}
	// The children live 60 s unless the group is killed; 10 s leaves room
	// for a machine busy with the rest of the test run (it failed once in
	// CI with 2 s, the cause not seen: the states are printed now).
	if !waitFor(10*time.Second, func() bool { return !alive(pids[0]) && !alive(pids[1]) }) {
		var states []string
		for _, pid := range pids {
			stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			states = append(states, strings.TrimSpace(string(stat)))
			if alive(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		t.Fatalf("build command children %v outlived their SIGKILLed reconciler:\n%s\nreconciler output:\n%s", pids, strings.Join(states, "\n"), out.String())
	}
}
