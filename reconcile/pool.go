package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
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
	// transport). Default: one default recipient.
	Recipients func(BuildContext) []string
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
		opts.Recipients = func(BuildContext) []string { return []string{""} }
	}
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
func (p *Pool) planPass(snap Snapshot, now time.Time, rep *PassReport) PassWrite {
	var w PassWrite
	var deletes, creates []Action
	for _, ps := range snap.Presets {
		plan := CalculateActions(ps, now, p.opts.Policy)
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
			case ActionTimeout:
				w.TimedOut = append(w.TimedOut, a.BuildID)
				rep.Actions = append(rep.Actions, a)
			}
		}
		if plan.StatusChanged {
			w.Statuses = append(w.Statuses, StatusChange{PresetID: ps.Preset.ID, Status: plan.Status, Reason: plan.StatusReason, VersionID: plan.StatusVersionID})
			if kind, ok := statusKinds[plan.Status]; ok {
				n := notify.Notification{Kind: kind, CreatedAt: now, Organization: ps.Template.Organization, TemplateID: ps.Template.ID, Template: ps.Template.Name,
					VersionID: ps.ActiveVersion.ID, Version: ps.ActiveVersion.Name, PresetID: ps.Preset.ID, Preset: ps.Preset.Name, Reason: plan.StatusReason}
				for _, r := range p.opts.Recipients(BuildContext{Organization: n.Organization, TemplateID: n.TemplateID, Template: n.Template, VersionID: n.VersionID, Version: n.Version, PresetID: n.PresetID, Preset: n.Preset}) {
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
	for _, a := range append(deletes, creates...) {
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
	return w
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
	p.planPass(snap, now, &rep)
	return rep, nil
}

// ReconcileOnce runs one pass: it records the pass's decisions atomically,
// then runs the builds (deletes first) through the executor.
func (p *Pool) ReconcileOnce(ctx context.Context) (PassReport, error) {
	if p.exec == nil {
		return PassReport{}, errors.New("reconcile: no executor")
	}
	start := time.Now()
	now := p.opts.Now()
	rep := PassReport{At: now}
	var index map[uuid.UUID]*PresetSnapshot
	var prebuilds map[uuid.UUID]Prebuild
	builds, err := p.store.Pass(ctx, now, p.opts.HistoryLimit, func(snap Snapshot) (PassWrite, error) {
		rep.Presets, rep.Actions, rep.Deferred = nil, nil, 0
		index = presetIndex(snap)
		prebuilds = map[uuid.UUID]Prebuild{}
		for _, ps := range snap.Presets {
			for _, pb := range ps.Prebuilds {
				prebuilds[pb.WorkspaceID] = pb
			}
		}
		return p.planPass(snap, now, &rep), nil
	})
	if errors.Is(err, ErrPassLocked) {
		rep.Locked = true
		p.opts.Logger.InfoContext(ctx, "reconcile pass skipped: another reconciler holds the lock")
		return rep, nil
	}
	if err != nil {
		return rep, fmt.Errorf("reconcile pass: %w", err)
	}
	jobs := make([]Job, len(builds))
	for i, b := range builds {
		ps := index[b.PresetID]
		job := Job{BuildID: b.ID, WorkspaceID: b.WorkspaceID, Owner: PrebuildsOwner, VersionID: b.TemplateVersionID}
		if ps != nil {
			job.PresetID, job.Preset, job.Parameters = ps.Preset.ID, ps.Preset.Name, ps.Preset.Parameters
			job.TemplateID, job.Template, job.Organization = ps.Template.ID, ps.Template.Name, ps.Template.Organization
			if b.TemplateVersionID == ps.ActiveVersion.ID {
				job.Version = ps.ActiveVersion.Name
			}
		}
		job.Kind = JobCreate
		if b.Transition == TransitionDelete {
			job.Kind = JobDelete
			job.WorkspaceName = prebuilds[b.WorkspaceID].Name
		}
		jobs[i] = job
	}
	rep.Builds = p.runBuilds(ctx, builds, jobs)
	rep.Duration = time.Since(start)
	if err := p.store.RecordPassDuration(ctx, rep.Duration, p.opts.Now()); err != nil {
		p.opts.Logger.WarnContext(ctx, "record pass duration", "error", err.Error())
	}
	return rep, nil
}

// runBuilds runs the pass's builds, at most Parallelism at a time, every
// delete before any create; reports keep the recorded order.
func (p *Pool) runBuilds(ctx context.Context, builds []Build, jobs []Job) []BuildReport {
	reports := make([]BuildReport, len(builds))
	for _, kind := range []JobKind{JobDelete, JobCreate} {
		sem := make(chan struct{}, p.opts.Parallelism)
		var wg sync.WaitGroup
		for i := range builds {
			if jobs[i].Kind != kind {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				reports[i] = p.runBuild(ctx, builds[i], jobs[i])
			}()
		}
		wg.Wait()
	}
	return reports
}

// runBuild runs one recorded build and records its outcome.
func (p *Pool) runBuild(ctx context.Context, b Build, job Job) BuildReport {
	br := BuildReport{Kind: job.Kind, BuildID: b.ID, WorkspaceID: b.WorkspaceID, Preset: job.Preset}
	if job.WorkspaceName == "" {
		job.WorkspaceName = "prebuild-" + b.WorkspaceID.String()[:8]
	}
	if err := p.store.StartBuild(ctx, b.ID, p.opts.Now()); err != nil {
		br.Status, br.Error = BuildCanceled, err.Error()
		return br
	}
	res, err := p.exec.Run(ctx, job)
	br.Status = BuildSucceeded
	if err != nil {
		br.Status, br.Error = BuildFailed, err.Error()
	}
	p.opts.Logger.InfoContext(ctx, "build finished", "kind", string(job.Kind), "build_id", b.ID.String(), "workspace_id", b.WorkspaceID.String(),
		"preset", job.Preset, "status", string(br.Status))
	if err := p.store.FinishBuild(context.WithoutCancel(ctx), b.ID, br.Status, res.Log, p.opts.Now()); err != nil {
		br.Error = strings.TrimSpace(br.Error + "; record build: " + err.Error())
	}
	return br
}

// Run reconciles every interval until ctx ends; pass errors are logged.
func (p *Pool) Run(ctx context.Context, interval time.Duration, each func(PassReport)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rep, err := p.ReconcileOnce(ctx)
		if err != nil && ctx.Err() == nil {
			p.opts.Logger.ErrorContext(ctx, "reconcile pass failed", "error", err.Error())
		} else if each != nil && err == nil {
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
func (p *Pool) Claim(ctx context.Context, user, name string, presetID uuid.UUID) (ClaimResult, error) {
	c, err := p.store.Claim(ctx, ClaimRequest{PresetID: presetID, User: user, Name: name, Now: p.opts.Now()})
	if err != nil {
		return ClaimResult{}, err
	}
	res := ClaimResult{Claimed: c, BuildStatus: BuildSucceeded}
	if err := p.store.StartBuild(ctx, c.Build.ID, p.opts.Now()); err != nil {
		return res, fmt.Errorf("start claim build: %w", err)
	}
	var runErr error
	if p.exec != nil {
		job, jerr := p.claimJob(ctx, c, user)
		if jerr != nil {
			runErr = jerr
		} else {
			var jr JobResult
			jr, runErr = p.exec.Run(ctx, job)
			res.Log = jr.Log
			// A plan written before the command failed (apply errors)
			// still says what the claim replaces: track it either way.
			if jr.PlanPath != "" {
				if err := p.trackPlan(ctx, c, jr.PlanPath, &res); err != nil {
					runErr = errors.Join(runErr, err)
				}
			}
		}
	}
	if runErr != nil {
		res.BuildStatus = BuildFailed
		res.Log += "\nclaimdrift: " + runErr.Error() + "\n"
	}
	if err := p.store.FinishBuild(context.WithoutCancel(ctx), c.Build.ID, res.BuildStatus, res.Log, p.opts.Now()); err != nil {
		return res, fmt.Errorf("record claim build: %w", err)
	}
	if runErr != nil {
		return res, fmt.Errorf("claim build %s failed: %w", c.Build.ID, runErr)
	}
	return res, nil
}

func (p *Pool) trackPlan(ctx context.Context, c Claimed, path string, res *ClaimResult) error {
	defer os.Remove(path)
	report, err := p.opts.AnalyzePlan(ctx, path)
	if err != nil {
		return fmt.Errorf("analyze claim plan: %w", err)
	}
	tr, err := p.TrackResourceReplacement(ctx, c.Workspace.ID, c.Build.ID, report.Replacements)
	if err != nil {
		return err
	}
	res.Track, res.Replacements = &tr, report.Replacements
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
			job.PresetID, job.Preset, job.Parameters = pi.Preset.ID, pi.Preset.Name, pi.Preset.Parameters
			job.TemplateID, job.Template, job.Organization = pi.Template.ID, pi.Template.Name, pi.Template.Organization
		}
	}
	return job, nil
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
func (p *Pool) claimNotify(now time.Time, reps []analyzer.Replacement) func(BuildContext) []notify.Message {
	return func(bc BuildContext) []notify.Message {
		if bc.Stage != StageClaim {
			// Only claims are news: a prebuild or a user's later build
			// replacing resources is what Terraform is for.
			return nil
		}
		claimant := bc.Owner
		if claimant == PrebuildsOwner || claimant == "" {
			claimant = bc.Initiator
		}
		n := notify.Notification{Kind: notify.KindResourceReplaced, CreatedAt: now, Organization: bc.Organization,
			TemplateID: bc.TemplateID, Template: bc.Template, VersionID: bc.VersionID, Version: bc.Version, PresetID: bc.PresetID, Preset: bc.Preset,
			WorkspaceID: bc.WorkspaceID, Workspace: bc.WorkspaceName, Claimant: claimant, BuildID: bc.BuildID, Replacements: notify.ResourcesFrom(reps)}
		var msgs []notify.Message
		for _, r := range p.opts.Recipients(bc) {
			msgs = append(msgs, notify.NewMessage(n, r))
		}
		return msgs
	}
}
