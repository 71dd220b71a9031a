package reconcile_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/postgres"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
	"github.com/claimdrift/claimdrift/reconcile/sqlite"
	"github.com/claimdrift/claimdrift/reconcile/storetest"
	"github.com/google/uuid"
)

var t0 = time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)

// store is what these tests need from a store: the pool and the outbox.
type store = storetest.Store

type backend struct {
	name string
	// newDB returns an opener of handles on a fresh database.
	newDB func(t *testing.T) func() store
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) func() store {
			path := filepath.Join(t.TempDir(), "pool.db")
			return func() store {
				s, err := sqlite.Open(t.Context(), path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		}},
		{"postgres", func(t *testing.T) func() store {
			dsn := pgtest.Schema(t)
			return func() store {
				s, err := postgres.Open(t.Context(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		}},
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a pool test's world: a store, exec scripts from fixtures/exec and
// their state directory.
type env struct {
	t     *testing.T
	s     store
	state string
	clock *clock
	exec  *reconcile.ExecExecutor
}

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func newEnv(t *testing.T, s store, extraEnv ...string) *env {
	state := t.TempDir()
	e := &env{t: t, s: s, state: state, clock: &clock{t: t0}}
	e.exec = reconcile.NewExecExecutor(reconcile.ExecOptions{
		CreateCmd: "sh " + repoFile(t, "fixtures/exec/create.sh"),
		DeleteCmd: "sh " + repoFile(t, "fixtures/exec/delete.sh"),
		ClaimCmd:  "sh " + repoFile(t, "fixtures/exec/claim.sh"),
		Env:       append(append(os.Environ(), "EXEC_STATE_DIR="+state), extraEnv...),
		PlanDir:   t.TempDir(),
	})
	return e
}

func (e *env) pool(pol reconcile.Policy, maxBuilds int) *reconcile.Pool {
	return reconcile.NewPool(e.s, e.exec, reconcile.Options{Policy: pol, MaxBuilds: maxBuilds, Now: e.clock.Now})
}

func (e *env) jobs() []string {
	raw, err := os.ReadFile(filepath.Join(e.state, "jobs.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(raw)), "\n")
}

func (e *env) setFail(on bool) {
	p := filepath.Join(e.state, "fail-create")
	if on {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	os.Remove(p)
}

func (e *env) importTemplate(version string, desired int) reconcile.ImportResult {
	e.t.Helper()
	res, err := e.s.ImportTemplate(e.t.Context(), reconcile.TemplateImport{Name: "dev", Organization: "acme", Version: version, Now: e.clock.Now(),
		Presets: []reconcile.PresetSpec{{Name: "small", Parameters: map[string]string{"cpu": "2", "region": "eu"}, DesiredInstances: desired}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) state1(p *reconcile.Pool) reconcile.PresetState {
	e.t.Helper()
	st, err := p.Status(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	if len(st) != 1 {
		e.t.Fatalf("%d presets, want 1", len(st))
	}
	return st[0]
}

func pass(t *testing.T, p *reconcile.Pool) reconcile.PassReport {
	t.Helper()
	rep, err := p.ReconcileOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Locked {
		t.Fatal("pass skipped: the pass lock is held by someone else")
	}
	return rep
}

func count(builds []reconcile.BuildReport, kind reconcile.JobKind, status reconcile.BuildStatus) int {
	n := 0
	for _, b := range builds {
		if b.Kind == kind && b.Status == status {
			n++
		}
	}
	return n
}

func claimPlan(t *testing.T) string { return repoFile(t, "testdata/plans/claim.json") }

func outbox(t *testing.T, s store, now time.Time) []notify.Message {
	t.Helper()
	msgs, err := s.ClaimDue(t.Context(), "test", now.Add(time.Hour), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestPoolLifecycle(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.newDB(t)(), "EXEC_PLAN="+claimPlan(t))
			res := e.importTemplate("v1", 2)
			p := e.pool(reconcile.DefaultPolicy(), 0)

			rep := pass(t, p)
			if n := count(rep.Builds, reconcile.JobCreate, reconcile.BuildSucceeded); n != 2 {
				t.Fatalf("first pass: %d creates succeeded, want 2 (%+v)", n, rep.Builds)
			}
			jobs := e.jobs()
			if len(jobs) != 2 || !strings.Contains(jobs[0], `small prebuilds {"cpu":"2","region":"eu"}`) {
				t.Fatalf("jobs = %q", jobs)
			}
			if st := e.state1(p); st.Eligible != 2 || st.Running != 2 || st.Desired != 2 || st.Created != 2 {
				t.Fatalf("after fill: %+v", st)
			}
			if rep := pass(t, p); len(rep.Builds) != 0 {
				t.Fatalf("full pool pass ran builds: %+v", rep.Builds)
			}

			e.clock.Advance(time.Minute)
			cr, err := p.Claim(t.Context(), "alice", "alice-dev", res.Presets[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if cr.Track == nil || !cr.Track.New || cr.Track.Replacements != 5 || cr.Track.Queued != 1 || cr.BuildStatus != reconcile.BuildSucceeded {
				t.Fatalf("claim = %+v track %+v", cr, cr.Track)
			}
			if !strings.Contains(cr.Log, "claiming alice-dev for alice") {
				t.Errorf("claim log = %q", cr.Log)
			}
			msgs := outbox(t, e.s, e.clock.Now())
			if len(msgs) != 1 {
				t.Fatalf("%d notifications, want 1", len(msgs))
			}
			n := msgs[0].Notification
			if n.Kind != notify.KindResourceReplaced || n.Claimant != "alice" || n.Workspace != "alice-dev" || n.Template != "dev" || n.Preset != "small" ||
				n.Version != "v1" || n.Organization != "acme" || len(n.Replacements) != 5 || n.IgnoreChangesFix() == "" {
				t.Fatalf("notification = %+v", n)
			}

			// The pool refills.
			e.clock.Advance(time.Minute)
			if rep := pass(t, p); count(rep.Builds, reconcile.JobCreate, reconcile.BuildSucceeded) != 1 {
				t.Fatalf("refill pass = %+v", rep.Builds)
			}
			st := e.state1(p)
			if st.Eligible != 2 || st.Claims != 1 || st.ClaimsReplaced != 1 || st.Created != 3 {
				t.Fatalf("after refill: %+v", st)
			}
			// Tracking the same build again changes nothing.
			again, err := p.TrackResourceReplacement(t.Context(), cr.Claimed.Workspace.ID, cr.Claimed.Build.ID, cr.Replacements)
			if err != nil {
				t.Fatal(err)
			}
			if again.New || again.Queued != 0 || again.Replacements != 5 {
				t.Fatalf("re-track = %+v", again)
			}
			// A new template version replaces the old prebuilds.
			e.clock.Advance(time.Minute)
			e.importTemplate("v2", 2)
			rep = pass(t, p)
			if count(rep.Builds, reconcile.JobDelete, reconcile.BuildSucceeded) != 2 || count(rep.Builds, reconcile.JobCreate, reconcile.BuildSucceeded) != 2 {
				t.Fatalf("new version pass = %+v", rep.Builds)
			}
			if st := e.state1(p); st.Eligible != 2 || st.Running != 2 || st.Version != "v2" {
				t.Fatalf("after new version: %+v", st)
			}
		})
	}
}

func TestPoolBackoffAndHardLimit(t *testing.T) {
	e := newEnv(t, backends()[0].newDB(t)())
	res := e.importTemplate("v1", 2)
	p := e.pool(reconcile.DefaultPolicy(), 0)
	e.setFail(true)

	if rep := pass(t, p); count(rep.Builds, reconcile.JobCreate, reconcile.BuildFailed) != 2 {
		t.Fatalf("failing pass = %+v", rep.Builds)
	}
	e.clock.Advance(30 * time.Second)
	rep := pass(t, p)
	if len(rep.Builds) != 0 || !strings.Contains(rep.Presets[0].Plan.Blocked, "backing off after 2") {
		t.Fatalf("pass during backoff: builds %+v blocked %q", rep.Builds, rep.Presets[0].Plan.Blocked)
	}
	e.clock.Advance(2 * time.Minute)
	if rep := pass(t, p); count(rep.Builds, reconcile.JobCreate, reconcile.BuildFailed) != 2 {
		t.Fatalf("pass after backoff = %+v", rep.Builds)
	}
	// Four failures in a row: hard limit (3) reached on the next pass.
	e.clock.Advance(time.Hour)
	rep = pass(t, p)
	if len(rep.Builds) != 0 || rep.Presets[0].Plan.Status != reconcile.StatusHardLimited {
		t.Fatalf("hard limit pass: %+v status %s", rep.Builds, rep.Presets[0].Plan.Status)
	}
	st := e.state1(p)
	if st.Status != reconcile.StatusHardLimited || st.Failed != 4 {
		t.Fatalf("state = %+v", st)
	}
	msgs := outbox(t, e.s, e.clock.Now())
	if len(msgs) != 1 || msgs[0].Notification.Kind != notify.KindPresetHardLimited {
		t.Fatalf("notifications = %+v", msgs)
	}
	// Fixed, but still stopped until resumed.
	e.setFail(false)
	e.clock.Advance(time.Hour)
	if rep := pass(t, p); len(rep.Builds) != 0 {
		t.Fatalf("hard-limited preset built: %+v", rep.Builds)
	}
	if err := e.s.ResumePreset(t.Context(), res.Presets[0].ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if rep := pass(t, p); count(rep.Builds, reconcile.JobCreate, reconcile.BuildSucceeded) != 2 {
		t.Fatalf("after resume = %+v", rep.Builds)
	}
	if st := e.state1(p); st.Status != reconcile.StatusHealthy || st.Eligible != 2 {
		t.Fatalf("after resume: %+v", st)
	}
}

func TestPoolReplacementPause(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.newDB(t)(), "EXEC_PLAN="+claimPlan(t))
			res := e.importTemplate("v1", 1)
			pol := reconcile.DefaultPolicy()
			pol.OnReplacement = reconcile.OnReplacementPause
			p := e.pool(pol, 0)
			for i := range 3 {
				pass(t, p)
				e.clock.Advance(time.Minute)
				if _, err := p.Claim(t.Context(), fmt.Sprint("user", i), "", res.Presets[0].ID); err != nil {
					t.Fatalf("claim %d: %v", i, err)
				}
				e.clock.Advance(time.Minute)
			}
			rep := pass(t, p)
			if len(rep.Builds) != 0 || rep.Presets[0].Plan.Status != reconcile.StatusReplacementProne {
				t.Fatalf("after 3 replacing claims: builds %+v status %s", rep.Builds, rep.Presets[0].Plan.Status)
			}
			for range 2 {
				e.clock.Advance(time.Minute)
				if rep := pass(t, p); len(rep.Builds) != 0 {
					t.Fatalf("paused preset built: %+v", rep.Builds)
				}
			}
			var prone int
			for _, m := range outbox(t, e.s, e.clock.Now()) {
				if m.Notification.Kind == notify.KindPresetReplacementProne {
					prone++
					if !strings.Contains(m.Notification.Reason, "3 of the last 3 claims") {
						t.Errorf("reason = %q", m.Notification.Reason)
					}
				}
			}
			if prone != 1 {
				t.Fatalf("%d replacement_prone notifications, want exactly 1", prone)
			}
			// A new active version resumes the pool.
			e.importTemplate("v2", 1)
			e.clock.Advance(time.Minute)
			rep = pass(t, p)
			if count(rep.Builds, reconcile.JobCreate, reconcile.BuildSucceeded) != 1 || rep.Presets[0].Plan.Status != reconcile.StatusHealthy {
				t.Fatalf("after new version: %+v status %s", rep.Builds, rep.Presets[0].Plan.Status)
			}
		})
	}
}

func TestPoolMaxBuildsDeletesFirst(t *testing.T) {
	e := newEnv(t, backends()[0].newDB(t)())
	e.importTemplate("v1", 3)
	pass(t, e.pool(reconcile.DefaultPolicy(), 0))
	// Shrink "small" to 1 (2 deletes) and add "big" wanting 2 (2 creates).
	e.importTemplate("v1", 1)
	if _, err := e.s.SavePreset(t.Context(), reconcile.PresetSpec{TemplateName: "dev", Name: "big", DesiredInstances: 2, Now: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	p := e.pool(reconcile.DefaultPolicy(), 3)
	e.clock.Advance(time.Minute)
	rep := pass(t, p)
	if len(rep.Builds) != 3 || rep.Deferred != 1 || count(rep.Builds, reconcile.JobDelete, reconcile.BuildSucceeded) != 2 {
		t.Fatalf("limited pass: %d builds %+v deferred %d", len(rep.Builds), rep.Builds, rep.Deferred)
	}
	if rep.Builds[0].Kind != reconcile.JobDelete || rep.Builds[1].Kind != reconcile.JobDelete {
		t.Fatalf("deletes must run first: %+v", rep.Builds)
	}
	e.clock.Advance(time.Minute)
	if rep := pass(t, p); count(rep.Builds, reconcile.JobCreate, reconcile.BuildSucceeded) != 1 || rep.Deferred != 0 {
		t.Fatalf("next pass: %+v deferred %d", rep.Builds, rep.Deferred)
	}
}

func TestTwoReconcilersNeverOvercreate(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			open := b.newDB(t)
			e1 := newEnv(t, open(), "EXEC_SLEEP=0.2")
			e1.importTemplate("v1", 4)
			e2 := newEnv(t, open(), "EXEC_SLEEP=0.2")
			e2.state = e1.state
			e2.exec = e1.exec
			p1, p2 := e1.pool(reconcile.DefaultPolicy(), 0), e2.pool(reconcile.DefaultPolicy(), 0)
			var wg sync.WaitGroup
			for _, p := range []*reconcile.Pool{p1, p2, p1, p2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := p.ReconcileOnce(context.Background()); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			creates := 0
			for _, j := range e1.jobs() {
				if strings.HasPrefix(j, "create ") {
					creates++
				}
			}
			if creates != 4 {
				t.Fatalf("two reconcilers ran %d creates, want 4", creates)
			}
			if st := e1.state1(p1); st.Eligible != 4 {
				t.Fatalf("state = %+v", st)
			}
		})
	}
}

func TestPlanIsDryRun(t *testing.T) {
	e := newEnv(t, backends()[0].newDB(t)())
	e.importTemplate("v1", 2)
	p := e.pool(reconcile.DefaultPolicy(), 0)
	rep, err := p.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Actions) != 2 || rep.Actions[0].Kind != reconcile.ActionCreate {
		t.Fatalf("planned = %+v", rep.Actions)
	}
	if st := e.state1(p); st.InProgress != 0 || st.Running != 0 || e.jobs() != nil {
		t.Fatalf("dry run wrote something: %+v jobs %v", st, e.jobs())
	}
}

func TestTrackUnknownBuildWithPreset(t *testing.T) {
	e := newEnv(t, backends()[0].newDB(t)())
	res := e.importTemplate("v1", 0)
	p := e.pool(reconcile.DefaultPolicy(), 0)
	f, err := os.Open(claimPlan(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	report, err := analyzer.Analyze(f, analyzer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ws, build := uuid.New(), uuid.New()
	tr, err := p.Track(t.Context(), reconcile.TrackRequest{WorkspaceID: ws, BuildID: build, PresetID: res.Presets[0].ID, Claimant: "bob", Replacements: report.Replacements})
	if err != nil {
		t.Fatal(err)
	}
	if !tr.New || tr.Replacements != len(report.Replacements) || tr.Queued != 1 || tr.Build.Owner != "bob" {
		t.Fatalf("track = %+v", tr)
	}
	if st := e.state1(p); st.Claims != 1 || st.ClaimsReplaced != 1 {
		t.Fatalf("state = %+v", st)
	}
}

func TestClaimCommandFailsAfterPlanning(t *testing.T) {
	e := newEnv(t, backends()[0].newDB(t)(), "EXEC_PLAN="+claimPlan(t))
	res := e.importTemplate("v1", 1)
	e.exec = reconcile.NewExecExecutor(reconcile.ExecOptions{
		CreateCmd: "sh " + repoFile(t, "fixtures/exec/create.sh"),
		DeleteCmd: "sh " + repoFile(t, "fixtures/exec/delete.sh"),
		ClaimCmd:  "sh " + repoFile(t, "fixtures/exec/claim-fail.sh"),
		Env:       append(os.Environ(), "EXEC_STATE_DIR="+e.state, "EXEC_PLAN="+claimPlan(t)),
		PlanDir:   t.TempDir(),
	})
	p := e.pool(reconcile.DefaultPolicy(), 0)
	pass(t, p)
	cr, err := p.Claim(t.Context(), "alice", "", res.Presets[0].ID)
	if err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("claim error = %v, want the command's failure", err)
	}
	if cr.BuildStatus != reconcile.BuildFailed || cr.Track == nil || cr.Track.Replacements != 5 || !strings.Contains(cr.Log, "apply failed") {
		t.Fatalf("claim = %+v, track %+v", cr, cr.Track)
	}
	if st := e.state1(p); st.Claims != 1 || st.ClaimsReplaced != 1 || st.Eligible != 0 {
		t.Fatalf("state = %+v", st)
	}
}

func TestTrackNonClaimBuildRecordsWithoutNotifying(t *testing.T) {
	e := newEnv(t, backends()[0].newDB(t)())
	e.importTemplate("v1", 1)
	p := e.pool(reconcile.DefaultPolicy(), 0)
	rep := pass(t, p)
	b := rep.Builds[0]
	reps := []analyzer.Replacement{{Resource: "terraform_data.x", Type: "terraform_data", Name: "x", Paths: []string{"input"}}}
	tr, err := p.TrackResourceReplacement(t.Context(), b.WorkspaceID, b.BuildID, reps)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.New || tr.Replacements != 1 || tr.Queued != 0 || tr.Build.Stage != reconcile.StagePrebuild {
		t.Fatalf("track of a prebuild build = %+v", tr)
	}
	if msgs := outbox(t, e.s, e.clock.Now()); len(msgs) != 0 {
		t.Fatalf("notifications for a prebuild build: %+v", msgs)
	}
	if st := e.state1(p); st.ClaimsReplaced != 0 {
		t.Fatalf("a prebuild build counted as a replacing claim: %+v", st)
	}
}

// gatedStore holds a pass after its first recorded chunk until the first
// build runs: with builds that start only once the whole pass is recorded
// the two wait on each other, and the test times out.
type gatedStore struct {
	store
	firstRun chan struct{}
	chunks   chan int
}

func (g *gatedStore) Pass(ctx context.Context, now time.Time, limit int, plan func(reconcile.Snapshot) (reconcile.PassWrite, error)) ([]reconcile.Build, error) {
	return g.store.Pass(ctx, now, limit, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
		w, err := plan(snap)
		next := w.OnRecorded
		first := true
		w.OnRecorded = func(bs []reconcile.Build) {
			next(bs)
			g.chunks <- len(bs)
			if first {
				first = false
				select {
				case <-g.firstRun:
				case <-time.After(20 * time.Second):
				}
			}
		}
		return w, err
	})
}

// runGate is an executor whose first run opens the gate.
type runGate struct {
	once sync.Once
	open chan struct{}
	runs atomic.Int64
}

func (r *runGate) Run(ctx context.Context, job reconcile.Job) (reconcile.JobResult, error) {
	r.runs.Add(1)
	r.once.Do(func() { close(r.open) })
	return reconcile.JobResult{}, nil
}

// TestPassStartsBuildsWhileRecording: a first pass of 9 creates recorded 2
// per transaction starts its first build before the rest is recorded,
// and runs all 9.
func TestPassStartsBuildsWhileRecording(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.newDB(t)())
			e.importTemplate("v1", 9)
			gate := &runGate{open: make(chan struct{})}
			g := &gatedStore{store: e.s, firstRun: gate.open, chunks: make(chan int, 100)}
			p := reconcile.NewPool(g, gate, reconcile.Options{Now: e.clock.Now, PassChunk: 2, Parallelism: 1})
			start := time.Now()
			rep, err := p.ReconcileOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if time.Since(start) > 15*time.Second {
				t.Fatal("the first build waited for the whole pass to be recorded")
			}
			close(g.chunks)
			var sizes []int
			for n := range g.chunks {
				sizes = append(sizes, n)
			}
			if fmt.Sprint(sizes) != "[2 2 2 2 1]" {
				t.Fatalf("chunks recorded: %v, want [2 2 2 2 1]", sizes)
			}
			if n := count(rep.Builds, reconcile.JobCreate, reconcile.BuildSucceeded); n != 9 || gate.runs.Load() != 9 {
				t.Fatalf("%d creates succeeded, %d runs, want 9", n, gate.runs.Load())
			}
			// The lock is free again: the next pass finds a full pool.
			rep, err = p.ReconcileOnce(t.Context())
			if err != nil || rep.Locked || len(rep.Builds) != 0 {
				t.Fatalf("second pass: locked %v, %d builds, err %v", rep.Locked, len(rep.Builds), err)
			}
		})
	}
}

// sleepRun is an executor whose builds take a few milliseconds.
type sleepRun struct{ d time.Duration }

func (s sleepRun) Run(ctx context.Context, job reconcile.Job) (reconcile.JobResult, error) {
	select {
	case <-time.After(s.d):
		return reconcile.JobResult{}, nil
	case <-ctx.Done():
		return reconcile.JobResult{}, context.Cause(ctx)
	}
}

// TestRenewalsSpareBuildsStartingOrFinishing: with leases renewed every
// few milliseconds, builds start while later chunks are still recorded
// and finish all the time. A renewal must not take a build that started
// after it began, or one that finished meanwhile, for a build someone
// took over: every build succeeds, and nothing is reported lost.
func TestRenewalsSpareBuildsStartingOrFinishing(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.newDB(t)())
			e.importTemplate("v1", 120)
			lg, logs := captureLogs()
			p := reconcile.NewPool(e.s, sleepRun{3 * time.Millisecond}, reconcile.Options{PassChunk: 1, Parallelism: 4, Lease: 150 * time.Millisecond, Logger: lg})
			rep, err := p.ReconcileOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			// A renewal statement that times out for a whole lease (the
			// machine stalled: 150 ms of leases under a loaded CI) loses
			// the leases rightly; what must never happen is a build
			// reported taken over, with no other reconciler.
			stalled := 0
			for _, b := range rep.Builds {
				switch {
				case b.Kind == reconcile.JobCreate && b.Status == reconcile.BuildSucceeded:
				case strings.Contains(b.Error, "no renewal for"):
					stalled++
				default:
					t.Errorf("build %s: %s %s", b.BuildID, b.Status, b.Error)
				}
			}
			if len(rep.Builds) != 120 || stalled > 0 {
				t.Logf("%d builds, %d lost to a renewal that timed out", len(rep.Builds), stalled)
			}
			if len(rep.Builds) != 120 || stalled > 12 {
				t.Fatalf("%d builds, %d of them lost to renewals that timed out: want 120, and a stall to cost a few at most", len(rep.Builds), stalled)
			}
			if l := logs(); strings.Contains(l, "taken over by another reconciler") {
				t.Fatalf("a build was reported taken over with no other reconciler:\n%s", l)
			}
		})
	}
}

// captureLogs is a logger whose output logs returns, safe for concurrent
// use.
func captureLogs() (lg *slog.Logger, logs func() string) {
	var b strings.Builder
	var mu sync.Mutex
	lg = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return b.Write(p)
	}), nil))
	return lg, func() string {
		mu.Lock()
		defer mu.Unlock()
		return b.String()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
