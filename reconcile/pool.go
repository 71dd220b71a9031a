package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/google/uuid"
)

// DefaultHistoryLimit is how many past creates and claims per preset a
// snapshot holds; it must exceed the replacement window and hard limit.
const DefaultHistoryLimit = 64

// Options configure a Pool.
type Options struct {
	Policy Policy
	// MaxBuilds limits the builds one pass starts (deletes first); 0 means
	// no limit.
	MaxBuilds int
	// Parallelism is how many builds of a pass run at once (default 4).
	Parallelism int
	// PassChunk is how many builds a pass records per transaction
	// (default DefaultPassChunk); builds start as their chunk commits.
	PassChunk int
	// HistoryLimit bounds per-preset histories in snapshots.
	HistoryLimit int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives progress (default: discard).
	Logger *slog.Logger
	// AnalyzePlan reads the plan a claim command wrote. The default reads
	// the file with analyzer.Analyze (JSON document or stream); the CLI
	// substitutes its loader that also converts binary plans.
	AnalyzePlan func(ctx context.Context, path string) (*analyzer.Report, error)
	// Recipients names who hears about a build ("" is the default
	// transport). Default: one default recipient. An error (the
	// recipients cannot be read now) fails the write that needed them,
	// which is retried: a notification is never routed on a guess.
	Recipients func(ctx context.Context, bc BuildContext) ([]string, error)
	// Lease is how long a build this pool records stays its own without a
	// renewal (default DefaultLease); it renews every third of it.
	Lease time.Duration
	// Owner names this pool in build leases (default host:pid:random).
	Owner string
	// Host is this machine's name (default os.Hostname).
	Host string
	// StopTimeout bounds the cleanup (delete commands) of builds a
	// shutdown cancelled (default 10s); what does not finish is left to the
	// next reconciler through its lease.
	StopTimeout time.Duration
	// RecordRetry is how long a failed database write of a build's
	// outcome or a claim's replacements is retried (default 30s).
	RecordRetry time.Duration
}

// Pool runs the prebuild pool: reconcile passes, claims and tracking.
type Pool struct {
	store Store
	exec  Executor
	opts  Options
}

// NewPool returns a pool over store; exec may be nil for commands that
// run no build (status, track).
func NewPool(store Store, exec Executor, opts Options) *Pool {
	if opts.Policy == (Policy{}) {
		opts.Policy = DefaultPolicy()
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 4
	}
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = DefaultHistoryLimit
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AnalyzePlan == nil {
		opts.AnalyzePlan = analyzeFile
	}
	if opts.Recipients == nil {
		opts.Recipients = func(context.Context, BuildContext) ([]string, error) { return []string{""}, nil }
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Host == "" {
		opts.Host = defaultHost()
	}
	if opts.Owner == "" {
		opts.Owner = defaultOwner(opts.Host)
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.RecordRetry <= 0 {
		opts.RecordRetry = 30 * time.Second
	}
	opts.Policy.Host = opts.Host
	return &Pool{store: store, exec: exec, opts: opts}
}

func analyzeFile(_ context.Context, path string) (*analyzer.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	defer f.Close()
	rep, err := analyzer.Analyze(f, analyzer.Options{})
	if err != nil {
		return nil, fmt.Errorf("analyze plan %s: %w", path, err)
	}
	return rep, nil
}

// PresetReport is one preset's part of a pass.
type PresetReport struct {
	Organization string     `json:"organization"`
	Template     string     `json:"template"`
	Preset       string     `json:"preset"`
	Plan         PresetPlan `json:"-"`
}

// BuildReport is how one build of a pass went.
type BuildReport struct {
	Kind        JobKind     `json:"kind"`
	BuildID     uuid.UUID   `json:"build_id"`
	WorkspaceID uuid.UUID   `json:"workspace_id"`
	Preset      string      `json:"preset"`
	Status      BuildStatus `json:"status"`
	Error       string      `json:"error,omitempty"`
}

// PassReport is what one pass decided and did.
type PassReport struct {
	At time.Time `json:"at"`
	// Locked is true when another reconciler held the pass.
	Locked  bool           `json:"locked,omitempty"`
	Presets []PresetReport `json:"-"`
	// Actions are those taken (or, in a dry run, that would be), after the
	// MaxBuilds limit; Deferred counts the builds left for later passes.
	Actions  []Action      `json:"actions"`
	Deferred int           `json:"deferred"`
	Builds   []BuildReport `json:"builds,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// planPass turns a snapshot into the pass's writes: every preset's actions
// (deletes first, creates limited by MaxBuilds), status changes and their
// notifications.
func (p *Pool) planPass(ctx context.Context, snap Snapshot, now time.Time, rep *PassReport) (PassWrite, error) {
	w := PassWrite{Lease: p.lease(now)}
	var deletes, creates []Action
	for _, b := range snap.StaleClaims {
		if TakeoverDue(b, now, p.opts.Policy) {
			w.Takeovers = append(w.Takeovers, Takeover{BuildID: b.BuildID, WorkspaceID: b.WorkspaceID, VersionID: b.VersionID, LeaseUntil: b.Lease.Until, Process: b.Process})
			rep.Actions = append(rep.Actions, Action{Kind: ActionTakeover, VersionID: b.VersionID, WorkspaceID: b.WorkspaceID, BuildID: b.BuildID, Reason: ReasonLeaseExpired})
		}
	}
	// Every plan first, to size the lists (a first pass over 10,000 presets
	// has 100,000 creates: growing them was a third of its planning).
	plans := make([]PresetPlan, len(snap.Presets))
	nDeletes, nCreates := 0, 0
	for i, ps := range snap.Presets {
		plans[i] = CalculateActions(ps, now, p.opts.Policy)
		if ps.Preset.Unreadable != "" {
			p.opts.Logger.WarnContext(ctx, "preset left as it is", "preset_id", ps.Preset.ID.String(), "template", ps.Template.Name, "preset", ps.Preset.Name, "reason", plans[i].Blocked)
		}
		for _, a := range plans[i].Actions {
			switch a.Kind {
			case ActionDelete:
				nDeletes++
			case ActionCreate:
				nCreates++
			}
		}
	}
	deletes, creates = make([]Action, 0, nDeletes), make([]Action, 0, nCreates)
	rep.Presets = slices.Grow(rep.Presets, len(snap.Presets))
	for i, ps := range snap.Presets {
		plan := plans[i]
		rep.Presets = append(rep.Presets, PresetReport{Organization: ps.Template.Organization, Template: ps.Template.Name, Preset: ps.Preset.Name, Plan: plan})
		for _, a := range plan.Actions {
			switch a.Kind {
			case ActionDelete:
				deletes = append(deletes, a)
			case ActionCreate:
				creates = append(creates, a)
			case ActionCancel:
				w.Cancels = append(w.Cancels, a.BuildID)
				rep.Actions = append(rep.Actions, a)
			case ActionTakeover:
				w.Takeovers = append(w.Takeovers, Takeover{BuildID: a.BuildID, WorkspaceID: a.WorkspaceID, PresetID: a.PresetID, VersionID: a.VersionID,
					LeaseUntil: a.Build.Lease.Until, Process: a.Build.Process, Cleanup: true})
				rep.Actions = append(rep.Actions, a)
			}
		}
		if plan.StatusChanged {
			w.Statuses = append(w.Statuses, StatusChange{PresetID: ps.Preset.ID, Status: plan.Status, Reason: plan.StatusReason, VersionID: plan.StatusVersionID})
			if kind, ok := statusKinds[plan.Status]; ok {
				n := notify.Notification{Kind: kind, CreatedAt: now, Organization: ps.Template.Organization, TemplateID: ps.Template.ID, Template: ps.Template.Name,
					VersionID: ps.ActiveVersion.ID, Version: ps.ActiveVersion.Name, PresetID: ps.Preset.ID, Preset: ps.Preset.Name, Reason: plan.StatusReason}
				recips, err := p.opts.Recipients(ctx, BuildContext{Organization: n.Organization, TemplateID: n.TemplateID, Template: n.Template, VersionID: n.VersionID, Version: n.Version, PresetID: n.PresetID, Preset: n.Preset})
				if err != nil {
					return w, fmt.Errorf("recipients of preset %s: %w", ps.Preset.Name, err)
				}
				for _, r := range recips {
					w.Messages = append(w.Messages, notify.NewMessage(n, r))
				}
			}
		}
	}
	budget := len(deletes) + len(creates)
	if p.opts.MaxBuilds > 0 && budget > p.opts.MaxBuilds {
		budget = p.opts.MaxBuilds
	}
	index := presetIndex(snap)
	rep.Actions = slices.Grow(rep.Actions, budget)
	w.Creates = make([]CreateSpec, 0, min(budget, len(creates)))
	for i := range len(deletes) + len(creates) {
		var a Action
		if i < len(deletes) {
			a = deletes[i]
		} else {
			a = creates[i-len(deletes)]
		}
		if budget == 0 {
			rep.Deferred++
			continue
		}
		budget--
		rep.Actions = append(rep.Actions, a)
		ps := index[a.PresetID]
		if a.Kind == ActionDelete {
			w.Deletes = append(w.Deletes, DeleteSpec{WorkspaceID: a.WorkspaceID, PresetID: a.PresetID, VersionID: a.VersionID})
			continue
		}
		w.Creates = append(w.Creates, CreateSpec{PresetID: a.PresetID, TemplateID: ps.Template.ID, VersionID: a.VersionID,
			WorkspaceName: prebuildName(ps.Template.Name, ps.Preset.Name)})
	}
	return w, nil
}

var statusKinds = map[PresetStatus]notify.Kind{
	StatusReplacementProne: notify.KindPresetReplacementProne,
	StatusHardLimited:      notify.KindPresetHardLimited,
}

func presetIndex(snap Snapshot) map[uuid.UUID]*PresetSnapshot {
	m := make(map[uuid.UUID]*PresetSnapshot, len(snap.Presets))
	for i := range snap.Presets {
		m[snap.Presets[i].Preset.ID] = &snap.Presets[i]
	}
	return m
}

var nameUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

func prebuildName(template, preset string) string {
	base := strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(template+"-"+preset), "-"), "-")
	if len(base) > 40 {
		base = base[:40]
	}
	return "prebuild-" + base + "-" + uuid.NewString()[:6]
}

// Plan computes what a pass would do now, without writing anything.
func (p *Pool) Plan(ctx context.Context) (PassReport, error) {
	now := p.opts.Now()
	rep := PassReport{At: now}
	snap, err := p.store.Snapshot(ctx, now, p.opts.HistoryLimit)
	if err != nil {
		return rep, fmt.Errorf("read pool: %w", err)
	}
	_, err = p.planPass(ctx, snap, now, &rep)
	return rep, err
}

// ReconcileOnce runs one pass: it records the pass's decisions under the
// pass lock (the builds it records are leased to this pool), in chunks of
// PassChunk builds, and runs the builds (deletes first) through the
// executor as their chunk commits, renewing their leases while they run.
// Builds whose lease ran out are taken over: recorded abandoned, and
// their workspaces deleted (after making sure a command left on this host
// is gone). When ctx ends, no further build starts; running ones are
// killed, recorded canceled and cleaned up within StopTimeout.
func (p *Pool) ReconcileOnce(ctx context.Context) (PassReport, error) {
	if p.exec == nil {
		return PassReport{}, errors.New("reconcile: no executor")
	}
	start := time.Now()
	now := p.opts.Now()
	rep := PassReport{At: now}
	var index map[uuid.UUID]*PresetSnapshot
	var prebuilds map[uuid.UUID]Prebuild
	var stale map[uuid.UUID]ProcessInfo
	// The store records the pass's builds in chunks and hands each over
	// as it commits: the first builds start while the rest is recorded.
	q := newBuildQueue()
	passDone := make(chan error, 1)
	go func() {
		_, err := p.store.Pass(ctx, now, p.opts.HistoryLimit, func(snap Snapshot) (PassWrite, error) {
			rep.Presets, rep.Actions, rep.Deferred = nil, nil, 0
			index = presetIndex(snap)
			prebuilds = map[uuid.UUID]Prebuild{}
			for _, ps := range snap.Presets {
				for _, pb := range ps.Prebuilds {
					prebuilds[pb.WorkspaceID] = pb
				}
			}
			w, err := p.planPass(ctx, snap, now, &rep)
			stale = map[uuid.UUID]ProcessInfo{}
			for _, to := range w.Takeovers {
				stale[to.WorkspaceID] = to.Process
			}
			w.OnRecorded, w.Chunk = q.push, p.opts.PassChunk
			return w, err
		})
		q.close()
		passDone <- err
	}()
	rep.Builds = p.runBuilds(ctx, q, func(b Build) Job {
		job := p.prebuildJob(index, prebuilds, b)
		if pi, ok := stale[b.WorkspaceID]; ok && b.Transition == TransitionDelete {
			job.stale = &pi
		}
		return job
	})
	err := <-passDone
	if errors.Is(err, ErrPassLocked) && len(rep.Builds) == 0 {
		rep.Locked = true
		p.opts.Logger.InfoContext(ctx, "reconcile pass skipped: another reconciler holds the lock")
		return rep, nil
	}
	if err != nil && len(rep.Builds) == 0 {
		return rep, fmt.Errorf("reconcile pass: %w", err)
	}
	rep.Duration = time.Since(start)
	if err := p.store.RecordPassDuration(context.WithoutCancel(ctx), rep.Duration, p.opts.Now()); err != nil {
		p.opts.Logger.WarnContext(ctx, "record pass duration", "error", err.Error())
	}
	if err != nil {
		// Some builds were recorded and ran; the rest is the next pass's.
		return rep, fmt.Errorf("reconcile pass: %w", err)
	}
	return rep, nil
}

// buildQueue hands the builds a pass records, chunk by chunk, to the
// runner; push never blocks (the pass lock is held until the last chunk).
type buildQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []Build
	closed bool
}

func newBuildQueue() *buildQueue {
	q := &buildQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *buildQueue) push(bs []Build) {
	q.mu.Lock()
	q.items = append(q.items, bs...)
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *buildQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// next waits for the next build; false once the queue is closed and empty.
func (q *buildQueue) next() (Build, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		return Build{}, false
	}
	b := q.items[0]
	q.items = q.items[1:]
	return b, true
}

// prebuildJob describes a prebuild build for the executor.
func (p *Pool) prebuildJob(index map[uuid.UUID]*PresetSnapshot, prebuilds map[uuid.UUID]Prebuild, b Build) Job {
	ps := index[b.PresetID]
	job := Job{BuildID: b.ID, WorkspaceID: b.WorkspaceID, Owner: PrebuildsOwner, VersionID: b.TemplateVersionID}
	if ps != nil {
		job.PresetID, job.Preset, job.Parameters = ps.Preset.ID, ps.Preset.Name, ps.Preset.Parameters
		job.TemplateID, job.Template, job.Organization = ps.Template.ID, ps.Template.Name, ps.Template.Organization
		if b.TemplateVersionID == ps.ActiveVersion.ID {
			job.Version = ps.ActiveVersion.Name
		}
	}
	job.Kind, job.WorkspaceName = JobCreate, b.WorkspaceName
	if b.Transition == TransitionDelete {
		job.Kind = JobDelete
		if pb, ok := prebuilds[b.WorkspaceID]; ok && job.WorkspaceName == "" {
			job.WorkspaceName = pb.Name
		}
	}
	return job
}

// runBuilds runs the builds q hands over, as they come, at most
// Parallelism at a time; every delete (they come first) finishes before
// any create starts. Reports keep the recorded order, followed by the
// cleanups of cancelled builds.
func (p *Pool) runBuilds(ctx context.Context, q *buildQueue, jobOf func(Build) Job) []BuildReport {
	hb := p.startHeartbeat(ctx)
	defer hb.close()
	var mu sync.Mutex
	var reports []*BuildReport
	var extra []BuildReport
	sem := make(chan struct{}, p.opts.Parallelism)
	var wg sync.WaitGroup
	deletesDone := false
	for {
		b, ok := q.next()
		if !ok {
			break
		}
		job := jobOf(b)
		if job.Kind != JobDelete && !deletesDone {
			wg.Wait()
			deletesDone = true
		}
		br := &BuildReport{}
		mu.Lock()
		reports = append(reports, br)
		mu.Unlock()
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, more := p.runBuild(ctx, hb, b, job)
			mu.Lock()
			*br = r
			extra = append(extra, more...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	out := make([]BuildReport, 0, len(reports)+len(extra))
	for _, r := range reports {
		out = append(out, *r)
	}
	return append(out, extra...)
}

// runBuild runs one recorded build and records its outcome; a cancelled
// build is recorded canceled and its workspace cleaned up (the reports of
// the cleanup builds are returned too).
func (p *Pool) runBuild(ctx context.Context, hb *heartbeat, b Build, job Job) (BuildReport, []BuildReport) {
	br := BuildReport{Kind: job.Kind, BuildID: b.ID, WorkspaceID: b.WorkspaceID, Preset: job.Preset}
	if job.WorkspaceName == "" {
		job.WorkspaceName = "prebuild-" + b.WorkspaceID.String()[:8]
	}
	if ctx.Err() != nil {
		// Shutting down: this build never starts (a delete's workspace is
		// left to the next reconciler, through the cleanup build's lease).
		job.cleanup = true
		return p.cancelBuild(ctx, hb, b, job, br, "claimdrift: not started: the reconciler is stopping\n")
	}
	if job.stale != nil {
		if err := p.killStale(ctx, *job.stale); err != nil {
			br.Status, br.Error = BuildPending, err.Error()
			p.opts.Logger.ErrorContext(ctx, "takeover: old build command may still run; delete left for the next takeover", "build_id", b.ID.String(), "error", err.Error())
			return br, nil
		}
	}
	if err := p.store.StartBuild(ctx, b.ID, p.opts.Now()); err != nil {
		br.Status, br.Error = BuildCanceled, err.Error()
		return br, nil
	}
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hb.hold(b.ID, cancel)
	job.OnStart = func(pi ProcessInfo) {
		if err := p.store.SetBuildProcess(context.WithoutCancel(ctx), b.ID, p.opts.Owner, pi); err != nil {
			p.opts.Logger.WarnContext(ctx, "record build process", "build_id", b.ID.String(), "error", err.Error())
		}
	}
	res, err := p.exec.Run(bctx, job)
	// The command is over: nothing is left to kill if the lease is lost.
	// Released before its outcome is recorded, so that a renewal that no
	// longer finds the finished build does not report it taken over.
	hb.release(b.ID)
	switch cause := context.Cause(bctx); {
	case err != nil && errors.Is(cause, ErrLeaseLost):
		// Someone else holds the build now (or will): its outcome is theirs.
		br.Status, br.Error = BuildAbandoned, cause.Error()
		p.opts.Logger.WarnContext(ctx, "build abandoned", "kind", string(job.Kind), "build_id", b.ID.String(), "error", cause.Error())
		return br, nil
	case err != nil && (bctx.Err() != nil || errors.Is(err, ErrBuildTimeout)):
		return p.cancelBuild(ctx, hb, b, job, br, res.Log+"\nclaimdrift: "+err.Error()+"\n")
	}
	br.Status = BuildSucceeded
	if err != nil {
		br.Status, br.Error = BuildFailed, err.Error()
	}
	p.opts.Logger.InfoContext(ctx, "build finished", "kind", string(job.Kind), "build_id", b.ID.String(), "workspace_id", b.WorkspaceID.String(),
		"preset", job.Preset, "status", string(br.Status))
	if err := p.retryWrite(ctx, "record build", func(wctx context.Context) error {
		return p.store.FinishBuild(wctx, b.ID, br.Status, res.Log, p.opts.Now())
	}); err != nil {
		br.Error = strings.TrimSpace(br.Error + "; record build: " + err.Error())
	}
	return br, nil
}

// cancelBuild records b canceled and runs the cleanup delete the store
// records for it: at once when the build was stopped by its timeout,
// within StopTimeout during a shutdown (what does not finish is left to
// the next reconciler, through the cleanup's lease).
func (p *Pool) cancelBuild(ctx context.Context, hb *heartbeat, b Build, job Job, br BuildReport, log string) (BuildReport, []BuildReport) {
	br.Status = BuildCanceled
	p.opts.Logger.InfoContext(ctx, "build canceled", "kind", string(job.Kind), "build_id", b.ID.String(), "workspace_id", b.WorkspaceID.String(), "preset", job.Preset)
	var cleanup Build
	if err := p.retryWrite(ctx, "record canceled build", func(wctx context.Context) error {
		var err error
		cleanup, err = p.store.CancelBuild(wctx, b.ID, log, p.opts.Now(), p.lease(p.opts.Now()))
		return err
	}); err != nil {
		br.Error = "record build: " + err.Error()
		return br, nil
	}
	if cleanup.ID == uuid.Nil || job.cleanup {
		return br, nil
	}
	cctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), p.opts.StopTimeout)
		defer cancel()
	}
	del := job
	del.Kind, del.BuildID, del.stale, del.cleanup = JobDelete, cleanup.ID, nil, true
	if cleanup.WorkspaceName != "" {
		del.WorkspaceName = cleanup.WorkspaceName
	}
	cr, more := p.runBuild(cctx, hb, cleanup, del)
	return br, append([]BuildReport{cr}, more...)
}

// killStale makes sure the process group of a build taken over is gone:
// on this host through the executor; elsewhere the takeover grace has
// already passed.
func (p *Pool) killStale(ctx context.Context, pi ProcessInfo) error {
	if pi.Host != p.opts.Host || pi.PGID <= 0 {
		return nil
	}
	k, ok := p.exec.(ProcessKiller)
	if !ok {
		return nil
	}
	return k.KillProcess(ctx, pi)
}

// Run reconciles every interval until ctx ends; pass errors are logged.
// It returns once the last pass has recorded and cleaned up its builds.
func (p *Pool) Run(ctx context.Context, interval time.Duration, each func(PassReport)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rep, err := p.ReconcileOnce(ctx)
		if err != nil && ctx.Err() == nil {
			p.opts.Logger.ErrorContext(ctx, "reconcile pass failed", "error", err.Error(), "builds_run", len(rep.Builds))
		}
		if each != nil && (err == nil || len(rep.Builds) > 0) {
			each(rep)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ClaimResult is what a claim did.
type ClaimResult struct {
	Claimed Claimed
	// BuildStatus is how the claim build ended.
	BuildStatus BuildStatus
	Log         string
	// Track is set when the claim command wrote a plan.
	Track *TrackResult
	// Replacements are the plan's replacements, when it wrote one.
	Replacements []analyzer.Replacement
}

// Claim hands a ready prebuild of the preset to user (renamed name when
// not empty), runs the claim command, and tracks the plan it wrote.
// ErrNoClaimablePrebuilds when the pool is empty. A failing claim command
// fails the claim build (the workspace stays the user's) and returns an
// error with the result.
//
// The claim build is leased like a reconciler's builds and renewed while
// the command runs, so it never stays running for good: when this process
// dies, a reconciler records it abandoned once the lease runs out. The plan
// file is kept (in its private directory) until its replacements are
// recorded; a failed record is retried for RecordRetry and then reported
// with the path of the kept plan and the command that records it.
func (p *Pool) Claim(ctx context.Context, user, name string, presetID uuid.UUID) (ClaimResult, error) {
	now := p.opts.Now()
	req := ClaimRequest{PresetID: presetID, User: user, Name: name, Now: now, Lease: p.lease(now)}
	if !p.RunsClaims() {
		req.Finished, req.FinishedLog = true, noClaimCommandLog
	}
	c, err := p.store.Claim(ctx, req)
	if err != nil {
		return ClaimResult{}, err
	}
	res := ClaimResult{Claimed: c, BuildStatus: BuildSucceeded}
	if req.Finished {
		// Nothing to run: the claim build was recorded succeeded with the
		// hand-over, in one transaction.
		res.Log = req.FinishedLog
		return res, nil
	}
	hb := p.startHeartbeat(ctx)
	defer hb.close()
	if err := p.store.StartBuild(ctx, c.Build.ID, p.opts.Now()); err != nil {
		return res, fmt.Errorf("start claim build (a reconciler records it abandoned once its lease runs out): %w", err)
	}
	var runErr, trackErr error
	if p.exec != nil {
		job, jerr := p.claimJob(ctx, c, user)
		if jerr != nil {
			runErr = jerr
		} else {
			// The claim command is not fenced by its lease (hb.hold): a
			// takeover only records the claim build abandoned, it deletes
			// nothing, so the user's apply may go on while the database is
			// unreachable.
			bctx, cancel := context.WithCancelCause(ctx)
			job.OnStart = func(pi ProcessInfo) {
				if err := p.store.SetBuildProcess(context.WithoutCancel(ctx), c.Build.ID, p.opts.Owner, pi); err != nil {
					p.opts.Logger.WarnContext(ctx, "record claim build process", "build_id", c.Build.ID.String(), "error", err.Error())
				}
			}
			var jr JobResult
			jr, runErr = p.exec.Run(bctx, job)
			stopped := bctx.Err() != nil
			cancel(nil)
			res.Log = jr.Log
			switch {
			case runErr != nil && (stopped || errors.Is(runErr, ErrBuildTimeout)):
				res.BuildStatus = BuildCanceled
			case runErr != nil:
				res.BuildStatus = BuildFailed
			}
			// A plan written before the command failed (apply errors)
			// still says what the claim replaces: track it either way.
			if jr.PlanPath != "" {
				trackErr = p.trackPlan(ctx, c, jr, &res)
			}
		}
	}
	if runErr != nil && res.BuildStatus == BuildSucceeded {
		res.BuildStatus = BuildFailed
	}
	if runErr != nil {
		res.Log += "\nclaimdrift: " + runErr.Error() + "\n"
	}
	if trackErr != nil {
		res.Log += "\nclaimdrift: " + trackErr.Error() + "\n"
	}
	var recErr error
	switch res.BuildStatus {
	case BuildCanceled:
		recErr = p.retryWrite(ctx, "record canceled claim build", func(wctx context.Context) error {
			_, err := p.store.CancelBuild(wctx, c.Build.ID, res.Log, p.opts.Now(), Lease{})
			return err
		})
	default:
		recErr = p.retryWrite(ctx, "record claim build", func(wctx context.Context) error {
			return p.store.FinishBuild(wctx, c.Build.ID, res.BuildStatus, res.Log, p.opts.Now())
		})
	}
	if recErr != nil {
		recErr = fmt.Errorf("record claim build %s (a reconciler records it abandoned once its lease of %s runs out): %w", c.Build.ID, p.opts.Lease, recErr)
	}
	if runErr != nil {
		runErr = fmt.Errorf("claim build %s %s: %w", c.Build.ID, res.BuildStatus, runErr)
	}
	return res, errors.Join(runErr, trackErr, recErr)
}

// trackPlan analyzes the plan a claim command wrote and records its
// replacements, retrying the write; the plan is removed only once recorded.
func (p *Pool) trackPlan(ctx context.Context, c Claimed, jr JobResult, res *ClaimResult) error {
	kept := func(err error) error {
		if jr.Keep != nil {
			jr.Keep()
		}
		return fmt.Errorf("%w; the claim plan is kept at %s: record it with `claimdrift track --workspace %s --build %s %s`",
			err, jr.PlanPath, c.Workspace.ID, c.Build.ID, jr.PlanPath)
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.RecordRetry)
	report, err := p.opts.AnalyzePlan(actx, jr.PlanPath)
	cancel()
	if err != nil {
		return kept(fmt.Errorf("analyze claim plan: %w", err))
	}
	var tr TrackResult
	err = p.retryWrite(ctx, "record claim replacements", func(wctx context.Context) error {
		var err error
		tr, err = p.TrackResourceReplacement(wctx, c.Workspace.ID, c.Build.ID, report.Replacements)
		return err
	})
	if err != nil {
		return kept(err)
	}
	res.Track, res.Replacements = &tr, report.Replacements
	if jr.Done != nil {
		jr.Done()
	}
	return nil
}

func (p *Pool) claimJob(ctx context.Context, c Claimed, user string) (Job, error) {
	presets, err := p.claimPresets(ctx, c.Build.PresetID)
	if err != nil {
		return Job{}, err
	}
	job := Job{Kind: JobClaim, BuildID: c.Build.ID, WorkspaceID: c.Workspace.ID, WorkspaceName: c.Workspace.Name, Owner: user, Claimant: user, VersionID: c.Build.TemplateVersionID}
	for _, pi := range presets {
		if pi.Preset.ID == c.Build.PresetID {
			if pi.Preset.Unreadable != "" {
				return Job{}, fmt.Errorf("preset %s of template %s is unreadable (%s): with its parameters unknown no claim command runs; claimdrift template import or preset add writes the preset again: %w",
					pi.Preset.Name, pi.Template.Name, pi.Preset.Unreadable, ErrInvalid)
			}
			job.PresetID, job.Preset, job.Parameters = pi.Preset.ID, pi.Preset.Name, pi.Preset.Parameters
			job.TemplateID, job.Template, job.Organization = pi.Template.ID, pi.Template.Name, pi.Template.Organization
		}
	}
	return job, nil
}

// noClaimCommandLog is the log of a claim build that ran no command.
const noClaimCommandLog = "no claim command configured\n"

// ClaimRunner is implemented by executors that may run nothing for a
// claim; RunsClaims reports whether they run a command for one.
type ClaimRunner interface {
	RunsClaims() bool
}

// RunsClaims reports whether a claim runs a command: not without an
// executor, nor with one that says it runs none (a claim is then one
// database transaction).
func (p *Pool) RunsClaims() bool {
	if p.exec == nil {
		return false
	}
	if cr, ok := p.exec.(ClaimRunner); ok {
		return cr.RunsClaims()
	}
	return true
}

// claimPresets reads the claimed preset by id when the store can (a claim
// never reads the whole list), else every preset.
func (p *Pool) claimPresets(ctx context.Context, id uuid.UUID) ([]PresetInfo, error) {
	if pl, ok := p.store.(PresetLookup); ok {
		pi, err := pl.PresetByID(ctx, id)
		if err != nil {
			return nil, err
		}
		return []PresetInfo{pi}, nil
	}
	return p.store.Presets(ctx)
}

// TrackResourceReplacement records what a claim build's plan replaced —
// every replacement, with or without paths — once per build, and queues a
// notification for the template's admins in the same transaction. Tracking
// the same build again changes nothing. Replacements of other builds
// (prebuild creates, later builds) are recorded without a notification.
func (p *Pool) TrackResourceReplacement(ctx context.Context, workspaceID, buildID uuid.UUID, reps []analyzer.Replacement) (TrackResult, error) {
	return p.Track(ctx, TrackRequest{WorkspaceID: workspaceID, BuildID: buildID, Replacements: reps})
}

// Track is TrackResourceReplacement with the provisioner hook's extras
// (a preset and claimant for builds claimdrift did not start).
func (p *Pool) Track(ctx context.Context, req TrackRequest) (TrackResult, error) {
	if req.Now.IsZero() {
		req.Now = p.opts.Now()
	}
	req.Notify = p.claimNotify(req.Now, req.Replacements)
	res, err := p.store.TrackReplacements(ctx, req)
	if err != nil {
		return res, fmt.Errorf("track build %s: %w", req.BuildID, err)
	}
	return res, nil
}

// claimNotify returns the notifications a claim build's replacements
// queue for the template's admins.
func (p *Pool) claimNotify(now time.Time, reps []analyzer.Replacement) func(context.Context, BuildContext) ([]notify.Message, error) {
	return func(ctx context.Context, bc BuildContext) ([]notify.Message, error) {
		if bc.Stage != StageClaim {
			// Only claims are news: a prebuild or a user's later build
			// replacing resources is what Terraform is for.
			return nil, nil
		}
		claimant := bc.Owner
		if claimant == PrebuildsOwner || claimant == "" {
			claimant = bc.Initiator
		}
		n := notify.Notification{Kind: notify.KindResourceReplaced, CreatedAt: now, Organization: bc.Organization,
			TemplateID: bc.TemplateID, Template: bc.Template, VersionID: bc.VersionID, Version: bc.Version, PresetID: bc.PresetID, Preset: bc.Preset,
			WorkspaceID: bc.WorkspaceID, Workspace: bc.WorkspaceName, Claimant: claimant, BuildID: bc.BuildID, Replacements: notify.ResourcesFrom(reps)}
		recips, err := p.opts.Recipients(ctx, bc)
		if err != nil {
			return nil, fmt.Errorf("notification recipients: %w", err)
		}
		var msgs []notify.Message
		for _, r := range recips {
			msgs = append(msgs, notify.NewMessage(n, r))
		}
		return msgs, nil
	}
}
