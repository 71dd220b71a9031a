package reconcile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// readPID waits for a command to write its pid to path.
func readPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		raw, err := os.ReadFile(path)
		if err == nil && strings.HasSuffix(string(raw), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
			if err == nil {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no pid in %s", path)
	return 0
}

// hangCmd starts a grandchild (sleep) in the background, writes its pid,
// and waits: killing only the shell would leave the sleep behind.
const hangCmd = `sleep 60 & echo $! >"$HANG_DIR/child"; wait`

// TestExecExecutorKillsProcessGroup: cancelling a build and its
// --build-timeout both kill the command's whole process group, children
// included, and return at once; a timeout is ErrBuildTimeout.
func TestExecExecutorKillsProcessGroup(t *testing.T) {
	for _, tc := range []string{"cancel", "timeout"} {
		t.Run(tc, func(t *testing.T) {
			dir := t.TempDir()
			opts := reconcile.ExecOptions{CreateCmd: hangCmd, Env: append(os.Environ(), "HANG_DIR="+dir)}
			if tc == "timeout" {
				opts.Timeout = 500 * time.Millisecond
			}
			x := reconcile.NewExecExecutor(opts)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			errc := make(chan error, 1)
			start := time.Now()
			go func() {
				_, err := x.Run(ctx, reconcile.Job{Kind: reconcile.JobCreate, BuildID: uuid.New()})
				errc <- err
			}()
			child := readPID(t, filepath.Join(dir, "child"))
			if tc == "cancel" {
				cancel()
			}
			var err error
			select {
			case err = <-errc:
			case <-time.After(4 * time.Second):
				t.Fatal("Run did not return after its build was stopped")
			}
			if tc == "timeout" && !errors.Is(err, reconcile.ErrBuildTimeout) {
				t.Fatalf("error = %v, want ErrBuildTimeout", err)
			}
			if err == nil {
				t.Fatal("a killed build succeeded")
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %s to stop", time.Since(start))
			}
			time.Sleep(100 * time.Millisecond)
			if alive(child) {
				t.Fatalf("the command's child %d outlived the build", child)
			}
		})
	}
}

// TestExecExecutorKillProcess: a takeover kills the process group it is
// told about (the command's children too), but not when the group
// leader's start time says the id now belongs to another process.
func TestExecExecutorKillProcess(t *testing.T) {
	dir := t.TempDir()
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{CreateCmd: hangCmd, Env: append(os.Environ(), "HANG_DIR="+dir)})
	started := make(chan reconcile.ProcessInfo, 1)
	errc := make(chan error, 1)
	go func() {
		_, err := x.Run(context.Background(), reconcile.Job{Kind: reconcile.JobCreate, BuildID: uuid.New(), OnStart: func(p reconcile.ProcessInfo) { started <- p }})
		errc <- err
	}()
	pi := <-started
	child := readPID(t, filepath.Join(dir, "child"))
	host, _ := os.Hostname()
	if pi.PGID <= 1 || pi.StartTime == 0 || pi.Host != host {
		t.Fatalf("process info %+v", pi)
	}
	other := pi
	other.StartTime++
	if err := x.KillProcess(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if !alive(child) {
		t.Fatal("a group whose leader's start time differs was killed")
	}
	if err := x.KillProcess(t.Context(), pi); err != nil {
		t.Fatal(err)
	}
	if alive(child) {
		t.Fatal("KillProcess returned with the group's child alive")
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("killed build succeeded")
		}
	case <-time.After(4 * time.Second):
		t.Fatal("Run did not return after its group was killed")
	}
}

// markerExec runs creates that make a marker file per workspace (then
// hang while $dir/slow exists) and deletes that remove it.
func markerExec(t *testing.T, dir string) *reconcile.ExecExecutor {
	if err := os.MkdirAll(filepath.Join(dir, "m"), 0o755); err != nil {
		t.Fatal(err)
	}
	return reconcile.NewExecExecutor(reconcile.ExecOptions{
		CreateCmd: `touch "$D/m/$CLAIMDRIFT_WORKSPACE_ID"; echo "create $CLAIMDRIFT_WORKSPACE_ID $CLAIMDRIFT_WORKSPACE_NAME" >>"$D/jobs"; if [ -e "$D/slow" ]; then sleep 60 & echo $! >"$D/child-$CLAIMDRIFT_WORKSPACE_ID"; wait; fi`,
		DeleteCmd: `rm -f "$D/m/$CLAIMDRIFT_WORKSPACE_ID"; echo "delete $CLAIMDRIFT_WORKSPACE_ID $CLAIMDRIFT_WORKSPACE_NAME" >>"$D/jobs"`,
		Env:       append(os.Environ(), "D="+dir),
	})
}

func markers(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(filepath.Join(dir, "m"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func children(t *testing.T, dir string) []int {
	paths, _ := filepath.Glob(filepath.Join(dir, "child-*"))
	var pids []int
	for _, p := range paths {
		pids = append(pids, readPID(t, p))
	}
	return pids
}

// TestPoolTakeover: a reconciler whose build's lease ran out (it stopped
// renewing: it died) loses the build to the next pass of another one,
// which kills the old command's process group (same host), runs the
// delete, records the build abandoned (no failure: no backoff, no failure
// limit) and creates a replacement. The old runner's late report is
// refused.
func TestPoolTakeover(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			open := b.newDB(t)
			s := open()
			dir := t.TempDir()
			x := markerExec(t, dir)
			e := newEnv(t, s)
			res := e.importTemplate("v1", 1)
			pol := reconcile.DefaultPolicy()
			pol.HardLimit = 1 // one failure would stop the preset

			// The "dead" reconciler's clock stands still: its renewals never
			// move the lease past t0+1s.
			if err := os.WriteFile(filepath.Join(dir, "slow"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			dead := reconcile.NewPool(open(), x, reconcile.Options{Policy: pol, Lease: time.Second, Owner: "dead", Now: func() time.Time { return t0 }})
			deadRep := make(chan reconcile.PassReport, 1)
			go func() { r, _ := dead.ReconcileOnce(context.Background()); deadRep <- r }()
			waitUntil(t, func() bool { return len(children(t, dir)) == 1 })
			old := markers(t, dir)
			oldChild := children(t, dir)[0]
			os.Remove(filepath.Join(dir, "slow"))

			later := t0.Add(time.Minute)
			next := reconcile.NewPool(s, x, reconcile.Options{Policy: pol, Lease: time.Second, Owner: "next", Now: func() time.Time { return later }})
			rep, err := next.ReconcileOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if alive(oldChild) {
				t.Fatal("the old build's command still runs after the takeover")
			}
			kinds := map[string]int{}
			for _, a := range rep.Actions {
				kinds[string(a.Kind)]++
			}
			if kinds["takeover"] != 1 || kinds["create"] != 1 || count(rep.Builds, reconcile.JobDelete, reconcile.BuildSucceeded) != 1 || count(rep.Builds, reconcile.JobCreate, reconcile.BuildSucceeded) != 1 {
				t.Fatalf("takeover pass: actions %+v builds %+v", rep.Actions, rep.Builds)
			}
			select {
			case r := <-deadRep:
				for _, br := range r.Builds {
					if br.Status == reconcile.BuildSucceeded {
						t.Errorf("the dead reconciler's build was recorded %s", br.Status)
					}
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the old runner did not return")
			}
			now := markers(t, dir)
			if len(old) != 1 || len(now) != 1 || now[0] == old[0] {
				t.Fatalf("markers before %v after %v: the old workspace must be deleted, a new one made", old, now)
			}
			jobs, _ := os.ReadFile(filepath.Join(dir, "jobs"))
			var created, deleted string
			for _, l := range strings.Split(string(jobs), "\n") {
				if f := strings.Fields(l); len(f) == 3 && f[1] == old[0] {
					if f[0] == "create" {
						created = f[2]
					} else {
						deleted = f[2]
					}
				}
			}
			if created == "" || created != deleted || !strings.HasPrefix(created, "prebuild-dev-small-") {
				t.Fatalf("the workspace was created as %q and deleted as %q: one name, the stored one\n%s", created, deleted, jobs)
			}
			st := e.state1(next)
			if st.Eligible != 1 || st.InProgress != 0 || st.Failed != 0 || st.Status != reconcile.StatusHealthy {
				t.Fatalf("after takeover: %+v", st)
			}
			snap, err := s.Snapshot(t.Context(), later, 20)
			if err != nil || len(snap.Presets[0].Creates) != 1 || snap.Presets[0].Creates[0].Status != reconcile.BuildSucceeded {
				t.Fatalf("create history %+v (%v): the abandoned build is no failure", snap.Presets[0].Creates, err)
			}
			_ = res
		})
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPoolStopCancelsAndCleansUp: a shutdown (ctx cancelled) during
// creates kills their commands' process groups, records them canceled,
// deletes their workspaces, and returns within seconds; the next pass
// creates again at once (canceled builds are no failures).
func TestPoolStopCancelsAndCleansUp(t *testing.T) {
	s := backends()[0].newDB(t)()
	dir := t.TempDir()
	x := markerExec(t, dir)
	e := newEnv(t, s)
	e.importTemplate("v1", 2)
	if err := os.WriteFile(filepath.Join(dir, "slow"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pol := reconcile.DefaultPolicy()
	pol.HardLimit = 1
	p := reconcile.NewPool(s, x, reconcile.Options{Policy: pol, Lease: time.Second})
	ctx, stop := context.WithCancel(t.Context())
	var rep reconcile.PassReport
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); rep, _ = p.ReconcileOnce(ctx) }()
	waitUntil(t, func() bool { return len(children(t, dir)) == 2 })
	kids := children(t, dir)
	stopped := time.Now()
	stop()
	wg.Wait()
	if d := time.Since(stopped); d > 3*time.Second {
		t.Errorf("stop took %s", d)
	}
	for _, pid := range kids {
		if alive(pid) {
			t.Errorf("command child %d outlived the stop", pid)
		}
	}
	if count(rep.Builds, reconcile.JobCreate, reconcile.BuildCanceled) != 2 || count(rep.Builds, reconcile.JobDelete, reconcile.BuildSucceeded) != 2 {
		t.Fatalf("builds %+v, want 2 canceled creates and 2 cleanup deletes", rep.Builds)
	}
	if m := markers(t, dir); len(m) != 0 {
		t.Fatalf("workspaces left after the stop: %v", m)
	}
	os.Remove(filepath.Join(dir, "slow"))
	rep = pass(t, p)
	if count(rep.Builds, reconcile.JobCreate, reconcile.BuildSucceeded) != 2 {
		t.Fatalf("next pass: %+v (canceled builds must not cause backoff or the failure limit)", rep.Builds)
	}
	if st := e.state1(p); st.Failed != 0 || st.Status != reconcile.StatusHealthy || st.Eligible != 2 {
		t.Fatalf("state %+v", st)
	}
}

// flakyStore fails chosen writes while fail says so.
type flakyStore struct {
	store
	mu          sync.Mutex
	trackFails  int
	finishFails int
}

var errDown = errors.New("connect: connection refused")

func (f *flakyStore) TrackReplacements(ctx context.Context, req reconcile.TrackRequest) (reconcile.TrackResult, error) {
	f.mu.Lock()
	if f.trackFails > 0 {
		f.trackFails--
		f.mu.Unlock()
		return reconcile.TrackResult{}, errDown
	}
	f.mu.Unlock()
	return f.store.TrackReplacements(ctx, req)
}

func (f *flakyStore) FinishBuild(ctx context.Context, id uuid.UUID, st reconcile.BuildStatus, log string, now time.Time) error {
	f.mu.Lock()
	if f.finishFails > 0 {
		f.finishFails--
		f.mu.Unlock()
		return errDown
	}
	f.mu.Unlock()
	return f.store.FinishBuild(ctx, id, st, log, now)
}

// TestClaimRecordRetriedPlanKept: a claim whose database writes fail
// retries them; while they fail, the plan is kept in its private directory
// and the error says where and how to record it; once recorded, the plan
// is removed. A claim build whose outcome cannot be recorded does not stay
// running: a reconciler records it abandoned once its lease runs out.
func TestClaimRecordRetriedPlanKept(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := b.newDB(t)()
			e := newEnv(t, s, "EXEC_PLAN="+claimPlan(t))
			res := e.importTemplate("v1", 3)
			pass(t, e.pool(reconcile.DefaultPolicy(), 0))
			planDir := t.TempDir()
			x := reconcile.NewExecExecutor(reconcile.ExecOptions{ClaimCmd: "sh " + repoFile(t, "fixtures/exec/claim.sh"),
				Env: append(os.Environ(), "EXEC_STATE_DIR="+e.state, "EXEC_PLAN="+claimPlan(t)), PlanDir: planDir})
			f := &flakyStore{store: s}
			p := reconcile.NewPool(f, x, reconcile.Options{Now: e.clock.Now, RecordRetry: 3 * time.Second, Lease: time.Second})

			// Two failed writes, then the database is back: recorded.
			f.trackFails = 2
			cr, err := p.Claim(t.Context(), "alice", "", res.Presets[0].ID)
			if err != nil || cr.Track == nil || cr.Track.Replacements != 5 || cr.Track.Queued != 1 {
				t.Fatalf("claim with a passing outage: %v %+v", err, cr.Track)
			}
			if entries, _ := os.ReadDir(planDir); len(entries) != 0 {
				t.Fatalf("plan kept after it was recorded: %v", entries)
			}

			// The database stays down: the plan is kept and reported.
			p2 := reconcile.NewPool(f, x, reconcile.Options{Now: e.clock.Now, RecordRetry: 300 * time.Millisecond, Lease: time.Second})
			f.trackFails, f.finishFails = 1000, 1000
			cr, claimErr := p2.Claim(t.Context(), "bob", "", res.Presets[0].ID)
			if err = claimErr; err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "claimdrift track --workspace "+cr.Claimed.Workspace.ID.String()) {
				t.Fatalf("claim with the database down: %v", err)
			}
			entries, _ := os.ReadDir(planDir)
			if len(entries) != 1 {
				t.Fatalf("plan directory entries %v, want the kept plan's", entries)
			}
			kept := filepath.Join(planDir, entries[0].Name(), "plan")
			if fi, err := os.Stat(filepath.Dir(kept)); err != nil || fi.Mode().Perm() != 0o700 || !strings.Contains(claimErr.Error(), kept) {
				t.Fatalf("kept plan %s: %v %v; claim error %v", kept, fi, err, claimErr)
			}
			// Marked kept, so that no sweep of dead claimers' plans removes
			// it (TestClaimSweepsPlansOfDeadClaimers).
			if owner, err := os.ReadFile(filepath.Join(filepath.Dir(kept), "owner")); err != nil || string(owner) != "kept\n" {
				t.Fatalf("kept plan's owner file: %q %v", owner, err)
			}
			f.trackFails, f.finishFails = 0, 0
			// The operator records it as told (the track command's call).
			tr, err := p.TrackResourceReplacement(t.Context(), cr.Claimed.Workspace.ID, cr.Claimed.Build.ID, cr.Replacements)
			if err != nil || !tr.New {
				t.Fatalf("recording the kept plan later: %+v %v", tr, err)
			}

			// The claim build could not be finished: it is not running for
			// good, the next reconciler records it abandoned.
			e.clock.Advance(time.Hour)
			rep := pass(t, e.pool(reconcile.DefaultPolicy(), 0))
			taken := 0
			for _, a := range rep.Actions {
				if a.Kind == reconcile.ActionTakeover && a.BuildID == cr.Claimed.Build.ID {
					taken++
				}
			}
			if taken != 1 {
				t.Fatalf("actions %+v: the unfinished claim build was not taken over", rep.Actions)
			}
			snap, _ := s.Snapshot(t.Context(), e.clock.Now().Add(time.Hour), 20)
			if len(snap.StaleClaims) != 0 {
				t.Fatalf("claim builds still unfinished: %+v", snap.StaleClaims)
			}
		})
	}
}

// TestPoolBuildTimeoutCancelsAndCleansUp: a create that runs past the
// build timeout has its process group killed, is recorded canceled (no
// failure) and its workspace is deleted in the same pass.
func TestPoolBuildTimeoutCancelsAndCleansUp(t *testing.T) {
	s := backends()[0].newDB(t)()
	dir := t.TempDir()
	markerExec(t, dir)
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{
		CreateCmd: `touch "$D/m/$CLAIMDRIFT_WORKSPACE_ID"; sleep 60 & echo $! >"$D/child-$CLAIMDRIFT_WORKSPACE_ID"; wait`,
		DeleteCmd: `rm -f "$D/m/$CLAIMDRIFT_WORKSPACE_ID"`,
		Env:       append(os.Environ(), "D="+dir),
		Timeout:   400 * time.Millisecond,
	})
	e := newEnv(t, s)
	e.importTemplate("v1", 1)
	pol := reconcile.DefaultPolicy()
	pol.HardLimit = 1
	p := reconcile.NewPool(s, x, reconcile.Options{Policy: pol})
	rep := pass(t, p)
	if count(rep.Builds, reconcile.JobCreate, reconcile.BuildCanceled) != 1 || count(rep.Builds, reconcile.JobDelete, reconcile.BuildSucceeded) != 1 {
		t.Fatalf("builds %+v, want the timed-out create canceled and its workspace deleted", rep.Builds)
	}
	for _, pid := range children(t, dir) {
		if alive(pid) {
			t.Errorf("the timed-out command's child %d still runs", pid)
		}
	}
	if m := markers(t, dir); len(m) != 0 {
		t.Fatalf("workspace left behind: %v", m)
	}
	if st := e.state1(p); st.Failed != 0 || st.Status != reconcile.StatusHealthy {
		t.Fatalf("state %+v", st)
	}
}

// TestPoolRecipientLookupFailureRetried: when the recipients cannot be
// read, the pass that needed them records nothing and fails; the next
// pass, with the recipients readable, queues the notification for the
// real recipient (not the log fallback).
func TestPoolRecipientLookupFailureRetried(t *testing.T) {
	s := backends()[0].newDB(t)()
	e := newEnv(t, s)
	e.importTemplate("v1", 1)
	e.setFail(true)
	down := true
	pol := reconcile.DefaultPolicy()
	pol.HardLimit, pol.BackoffInterval = 1, 0
	p := reconcile.NewPool(s, e.exec, reconcile.Options{Policy: pol, Now: e.clock.Now, Recipients: func(context.Context, reconcile.BuildContext) ([]string, error) {
		if down {
			return nil, errors.New("read recipients: connection refused")
		}
		return []string{"ops"}, nil
	}})
	pass(t, p) // one failed create: the next pass hard-limits the preset and notifies
	e.clock.Advance(time.Minute)
	if _, err := p.ReconcileOnce(t.Context()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("pass with unreadable recipients: %v", err)
	}
	stored := func() reconcile.PresetStatus {
		ps, err := s.Presets(t.Context())
		if err != nil || len(ps) != 1 {
			t.Fatalf("presets: %v %v", ps, err)
		}
		return ps[0].Preset.Status
	}
	if msgs := outbox(t, s, e.clock.Now()); len(msgs) != 0 || stored() != reconcile.StatusHealthy {
		t.Fatalf("the failed pass recorded something: %d messages, preset %s", len(msgs), stored())
	}
	down = false
	pass(t, p)
	msgs := outbox(t, s, e.clock.Now())
	if len(msgs) != 1 || msgs[0].Recipient != "ops" || stored() != reconcile.StatusHardLimited {
		t.Fatalf("after the retry: %+v", msgs)
	}
}

// TestPoolFailedDeleteRetried: a workspace whose delete failed is not
// forgotten (a leak): it is deleted again after the backoff interval.
func TestPoolFailedDeleteRetried(t *testing.T) {
	s := backends()[0].newDB(t)()
	dir := t.TempDir()
	markerExec(t, dir)
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{
		CreateCmd: `touch "$D/m/$CLAIMDRIFT_WORKSPACE_ID"`,
		DeleteCmd: `if [ -e "$D/fail-delete" ]; then exit 1; fi; rm -f "$D/m/$CLAIMDRIFT_WORKSPACE_ID"`,
		Env:       append(os.Environ(), "D="+dir),
	})
	e := newEnv(t, s)
	res := e.importTemplate("v1", 1)
	p := reconcile.NewPool(s, x, reconcile.Options{Now: e.clock.Now})
	pass(t, p)
	if len(markers(t, dir)) != 1 {
		t.Fatal("no prebuild made")
	}
	if _, err := s.SavePreset(t.Context(), reconcile.PresetSpec{TemplateID: res.Template.ID, Name: "small", DesiredInstances: 0, Now: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fail-delete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if rep := pass(t, p); count(rep.Builds, reconcile.JobDelete, reconcile.BuildFailed) != 1 {
		t.Fatalf("builds %+v, want a failed delete", rep.Builds)
	}
	os.Remove(filepath.Join(dir, "fail-delete"))
	e.clock.Advance(10 * time.Second)
	if rep := pass(t, p); len(rep.Builds) != 0 {
		t.Fatalf("delete retried before the backoff: %+v", rep.Builds)
	}
	e.clock.Advance(time.Minute)
	if rep := pass(t, p); count(rep.Builds, reconcile.JobDelete, reconcile.BuildSucceeded) != 1 {
		t.Fatalf("builds %+v, want the delete retried", rep.Builds)
	}
	if m := markers(t, dir); len(m) != 0 {
		t.Fatalf("workspace leaked after a failed delete: %v", m)
	}
}
