package reconcile

import (
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
)

// Snapshot is everything one reconcile pass knows, read at once.
type Snapshot struct {
	Now     time.Time
	Presets []PresetSnapshot
	// Claims are the unfinished claim (and other non-prebuild) builds
	// whose lease ran out: their claimer died.
	StaleClaims []InProgressBuild
}

// PresetSnapshot is the state of one preset's pool.
type PresetSnapshot struct {
	Preset        Preset
	Template      Template
	ActiveVersion TemplateVersion
	// Prebuilds are the ready prebuilds: owned by PrebuildsOwner, not
	// deleted, whose latest build is a succeeded start.
	Prebuilds []Prebuild
	// InProgress are the unfinished prebuild builds (creates and deletes).
	InProgress []InProgressBuild
	// Creates are the finished prebuild creates, newest first (bounded),
	// back to and including the latest succeeded create of the active
	// version: the decisions (consecutive failures, backoff) never look
	// further, so a store need not read the older history.
	Creates []BuildOutcome
	// Claims are the claim builds, newest first (bounded).
	Claims []ClaimOutcome
	// FailedDeletes are prebuild workspaces whose last build is a failed
	// delete: they still exist and are deleted again.
	FailedDeletes []FailedDelete
}

// FailedDelete is a prebuild workspace whose delete failed.
type FailedDelete struct {
	WorkspaceID uuid.UUID
	VersionID   uuid.UUID
	FailedAt    time.Time
}

// Prebuild is one ready prebuild.
type Prebuild struct {
	WorkspaceID uuid.UUID
	Name        string
	BuildID     uuid.UUID
	VersionID   uuid.UUID
	CreatedAt   time.Time
}

// InProgressBuild is an unfinished prebuild build.
type InProgressBuild struct {
	BuildID     uuid.UUID
	WorkspaceID uuid.UUID
	VersionID   uuid.UUID
	Transition  Transition
	Status      BuildStatus
	CreatedAt   time.Time
	// Lease and Process are those recorded by the build's runner.
	Lease   Lease
	Process ProcessInfo
}

// BuildOutcome is how a finished prebuild create ended.
type BuildOutcome struct {
	BuildID     uuid.UUID
	VersionID   uuid.UUID
	Status      BuildStatus
	CompletedAt time.Time
}

// ClaimOutcome is one claim and whether its build replaced resources.
type ClaimOutcome struct {
	BuildID     uuid.UUID
	WorkspaceID uuid.UUID
	VersionID   uuid.UUID
	At          time.Time
	Replaced    bool
}

// ReplacementPolicy says what the reconciler does about presets whose
// claims keep replacing resources.
type ReplacementPolicy string

// Replacement policies.
const (
	// OnReplacementReport records and notifies, nothing more (default).
	OnReplacementReport ReplacementPolicy = "report"
	// OnReplacementPause marks the preset replacement_prone and stops
	// creating prebuilds for it.
	OnReplacementPause ReplacementPolicy = "pause"
)

// Policy holds the reconciler's tunables. The zero value is not useful;
// start from DefaultPolicy.
type Policy struct {
	OnReplacement ReplacementPolicy
	// A preset is replacement-prone when at least ReplacementThreshold of
	// its last ReplacementWindow claims replaced something.
	ReplacementThreshold int
	ReplacementWindow    int
	// Each consecutive failed create within BackoffLookback delays the
	// next create by one more BackoffInterval (linear backoff).
	BackoffInterval time.Duration
	BackoffLookback time.Duration
	// HardLimit consecutive failed creates stop creation until resumed;
	// zero disables the limit.
	HardLimit int
	// Host is the reconciler's host name: an expired build that ran here
	// is taken over as soon as its lease runs out (its process group is
	// killed first when still there).
	Host string
	// TakeoverGrace is how long after its lease ran out a build that ran
	// on another host (or whose host is unknown) is taken over: the time
	// its reconciler has to notice it lost the lease and kill the build,
	// plus the clock skew between hosts.
	TakeoverGrace time.Duration
}

// DefaultPolicy returns the defaults of the reconcile command's flags.
func DefaultPolicy() Policy {
	return Policy{
		OnReplacement:        OnReplacementReport,
		ReplacementThreshold: 3,
		ReplacementWindow:    5,
		BackoffInterval:      time.Minute,
		BackoffLookback:      time.Hour,
		HardLimit:            3,
		TakeoverGrace:        DefaultLease,
	}
}

// ActionKind is what an action does.
type ActionKind string

// Action kinds.
const (
	ActionCreate ActionKind = "create"
	ActionDelete ActionKind = "delete"
	ActionCancel ActionKind = "cancel"
	// ActionTakeover takes over an unfinished build whose lease ran out:
	// it is recorded abandoned and its workspace deleted.
	ActionTakeover ActionKind = "takeover"
)

// DefaultLease is the default build lease (reconcile --build-lease).
const DefaultLease = 30 * time.Second

// Reasons recorded on actions.
const (
	ReasonBelowDesired      = "below desired"
	ReasonExpired           = "expired"
	ReasonExtraneous        = "extraneous"
	ReasonInactiveVersion   = "inactive template version"
	ReasonDeprecatedVersion = "deprecated template version"
	ReasonLeaseExpired      = "build lease expired"
	ReasonDeleteFailed      = "earlier delete failed"
)

// Action is one thing the reconciler should do.
type Action struct {
	Kind     ActionKind `json:"kind"`
	PresetID uuid.UUID  `json:"preset_id"`
	// VersionID is the version to build (create) or of the prebuild (delete).
	VersionID uuid.UUID `json:"version_id"`
	// WorkspaceID is the prebuild to delete; uuid.Nil for create.
	WorkspaceID uuid.UUID `json:"workspace_id,omitempty"`
	// BuildID is the pending build to cancel, or the one to take over.
	BuildID uuid.UUID `json:"build_id,omitempty"`
	Reason  string    `json:"reason"`
	// Build is the unfinished build a takeover is about.
	Build *InProgressBuild `json:"-"`
}

// PresetPlan is CalculateActions' verdict for one preset.
type PresetPlan struct {
	PresetID uuid.UUID
	// Desired is the pool size wanted now (schedule or preset).
	Desired int
	// Running counts every ready prebuild, Eligible those on the active
	// version and not expired (the ones a claim may get).
	Running  int
	Eligible int
	// Creating and Deleting count unfinished prebuild builds.
	Creating int
	Deleting int
	// Status is the preset's status after this pass; StatusChanged tells
	// the reconciler to record it (and notify).
	Status          PresetStatus
	StatusReason    string
	StatusChanged   bool
	StatusVersionID uuid.UUID
	// ConsecutiveFailures counts failed creates since the last success.
	ConsecutiveFailures int
	// BackoffUntil is when creation may resume; zero when not backing off.
	BackoffUntil time.Time
	// Blocked says why no prebuild is created although below desired, or
	// why nothing is decided for an Unreadable preset.
	Blocked string
	Actions []Action
}

// CalculateActions decides what to do for one preset at now. It is pure:
// same input, same output; the clock is an argument.
//
// Rules, in order: the desired count comes from the first cron schedule
// matching now in the preset's timezone, else the preset; a deprecated or
// missing active version wants nothing. Prebuilds of an inactive or
// deprecated version are deleted and their pending creates canceled;
// prebuilds older than the TTL are deleted. Unfinished creates count
// toward the pool so a pass never overshoots; workspaces whose delete
// failed are deleted again after a backoff interval; extra prebuilds are deleted
// oldest first once no create is in flight; unfinished builds whose lease
// ran out (TakeoverDue) are taken over and no longer count. Creation stops while the
// preset is replacement-prone (pause policy) or hard-limited, and backs off
// linearly after recent failures. A preset whose stored data is Unreadable
// gets no action and keeps its status; Blocked says why.
func CalculateActions(s PresetSnapshot, now time.Time, pol Policy) PresetPlan {
	plan := calculateActions(s, now, pol)
	if s.Preset.Unreadable != "" {
		// Without its parameters and schedules nothing is decided for the
		// pool: no build, no status change. What it holds is still counted.
		plan.Actions, plan.StatusChanged = nil, false
		plan.Status, plan.StatusReason, plan.StatusVersionID = s.Preset.Status, s.Preset.StatusReason, s.Preset.StatusVersionID
		if plan.Status == "" {
			plan.Status = StatusHealthy
		}
		plan.BackoffUntil = time.Time{}
		plan.Blocked = "unreadable preset: " + s.Preset.Unreadable + "; its pool is left as it is until `claimdrift template import` or `claimdrift preset add` writes the preset again"
	}
	return plan
}

// calculateActions is CalculateActions for a readable preset.
func calculateActions(s PresetSnapshot, now time.Time, pol Policy) PresetPlan {
	p := s.Preset
	active := s.ActiveVersion.ID
	usable := active != uuid.Nil && !s.ActiveVersion.Deprecated
	plan := PresetPlan{PresetID: p.ID, Status: p.Status, StatusReason: p.StatusReason, StatusVersionID: p.StatusVersionID}
	if plan.Status == "" {
		plan.Status = StatusHealthy
	}
	if usable {
		plan.Desired = DesiredInstances(p, now)
	}
	if p.TTL < 0 {
		// A row written by an older version; a negative TTL is no TTL.
		p.TTL = 0
	}

	// Prebuilds: stale version, expired, or valid.
	var valid []Prebuild
	for _, pb := range s.Prebuilds {
		switch {
		case pb.VersionID != active:
			plan.Actions = append(plan.Actions, Action{Kind: ActionDelete, PresetID: p.ID, VersionID: pb.VersionID, WorkspaceID: pb.WorkspaceID, Reason: ReasonInactiveVersion})
		case !usable:
			plan.Actions = append(plan.Actions, Action{Kind: ActionDelete, PresetID: p.ID, VersionID: pb.VersionID, WorkspaceID: pb.WorkspaceID, Reason: ReasonDeprecatedVersion})
		case p.TTL > 0 && !now.Before(pb.CreatedAt.Add(p.TTL)):
			plan.Actions = append(plan.Actions, Action{Kind: ActionDelete, PresetID: p.ID, VersionID: pb.VersionID, WorkspaceID: pb.WorkspaceID, Reason: ReasonExpired})
		default:
			valid = append(valid, pb)
		}
	}
	plan.Running = len(s.Prebuilds)
	plan.Eligible = len(valid)

	// Workspaces whose delete failed are deleted again, one backoff
	// interval (at least a minute) after the failure.
	for _, fd := range s.FailedDeletes {
		if !now.Before(fd.FailedAt.Add(max(pol.BackoffInterval, time.Minute))) {
			plan.Actions = append(plan.Actions, Action{Kind: ActionDelete, PresetID: p.ID, VersionID: fd.VersionID, WorkspaceID: fd.WorkspaceID, Reason: ReasonDeleteFailed})
		}
	}

	// Unfinished builds: count creates on the active version, cancel the
	// pending ones that would build a version nobody wants.
	for i, b := range s.InProgress {
		if TakeoverDue(b, now, pol) {
			plan.Actions = append(plan.Actions, Action{Kind: ActionTakeover, PresetID: p.ID, VersionID: b.VersionID, WorkspaceID: b.WorkspaceID, BuildID: b.BuildID,
				Reason: ReasonLeaseExpired, Build: &s.InProgress[i]})
			continue
		}
		switch b.Transition {
		case TransitionStart:
			if b.VersionID == active && usable {
				plan.Creating++
				continue
			}
			if b.Status == BuildPending {
				reason := ReasonInactiveVersion
				if b.VersionID == active {
					reason = ReasonDeprecatedVersion
				}
				plan.Actions = append(plan.Actions, Action{Kind: ActionCancel, PresetID: p.ID, VersionID: b.VersionID, WorkspaceID: b.WorkspaceID, BuildID: b.BuildID, Reason: reason})
			}
		case TransitionDelete:
			plan.Deleting++
		}
	}

	// Status transitions.
	if plan.Status == StatusReplacementProne && p.StatusVersionID != active && active != uuid.Nil {
		plan.setStatus(StatusHealthy, "resumed: new active template version", active)
	}
	plan.ConsecutiveFailures = consecutiveFailures(s, p.ResumedAt)
	if plan.Status == StatusHealthy && pol.HardLimit > 0 && plan.ConsecutiveFailures >= pol.HardLimit {
		plan.setStatus(StatusHardLimited, fmt.Sprintf("prebuild creation failed %d times in a row (hard limit %d)", plan.ConsecutiveFailures, pol.HardLimit), active)
	}
	if plan.Status == StatusHealthy && pol.OnReplacement == OnReplacementPause && pol.ReplacementThreshold > 0 {
		replaced, considered := recentReplacements(s, p.ResumedAt, pol.ReplacementWindow)
		if replaced >= pol.ReplacementThreshold {
			plan.setStatus(StatusReplacementProne, fmt.Sprintf("%d of the last %d claims replaced resources", replaced, considered), active)
		}
	}

	// Extraneous prebuilds, oldest first, only when nothing is being created
	// (a failing create must not leave the pool short).
	if extra := len(valid) - plan.Desired; extra > 0 && plan.Creating == 0 {
		sort.SliceStable(valid, func(i, j int) bool {
			if !valid[i].CreatedAt.Equal(valid[j].CreatedAt) {
				return valid[i].CreatedAt.Before(valid[j].CreatedAt)
			}
			return valid[i].WorkspaceID.String() < valid[j].WorkspaceID.String()
		})
		for _, pb := range valid[:extra] {
			plan.Actions = append(plan.Actions, Action{Kind: ActionDelete, PresetID: p.ID, VersionID: pb.VersionID, WorkspaceID: pb.WorkspaceID, Reason: ReasonExtraneous})
		}
	}

	// Creates.
	missing := plan.Desired - len(valid) - plan.Creating
	if missing <= 0 {
		return plan
	}
	switch {
	case plan.Status != StatusHealthy:
		plan.Blocked = fmt.Sprintf("preset is %s: %s", plan.Status, plan.StatusReason)
		return plan
	}
	if until, n := backoffUntil(s, now, pol); now.Before(until) {
		plan.BackoffUntil = until
		plan.Blocked = fmt.Sprintf("backing off after %d failed creates until %s", n, until.UTC().Format(time.RFC3339))
		return plan
	}
	for range missing {
		plan.Actions = append(plan.Actions, Action{Kind: ActionCreate, PresetID: p.ID, VersionID: active, Reason: ReasonBelowDesired})
	}
	return plan
}

// TakeoverDue reports whether an unfinished build's lease ran out long
// enough ago to take it over: at once when it ran on pol.Host, after
// pol.TakeoverGrace when it ran elsewhere or nobody recorded where. A
// build with no lease (zero Until) is never taken over.
func TakeoverDue(b InProgressBuild, now time.Time, pol Policy) bool {
	if b.Lease.Until.IsZero() {
		return false
	}
	until := b.Lease.Until
	if b.Process.Host == "" || b.Process.Host != pol.Host {
		until = until.Add(max(pol.TakeoverGrace, 0))
	}
	return now.After(until)
}

func (p *PresetPlan) setStatus(st PresetStatus, reason string, version uuid.UUID) {
	p.Status, p.StatusReason, p.StatusVersionID, p.StatusChanged = st, reason, version, true
}

// DesiredInstances is the preset's pool size at now: the instances of the
// first schedule whose cron matches now in the preset's timezone, else
// DesiredInstances, clamped to 0..MaxInstances (rows written by older
// versions may hold anything). An unknown timezone or a bad expression
// (rejected when the preset is saved) falls back to UTC or skips the
// schedule.
func DesiredInstances(p Preset, now time.Time) int {
	return clampInstances(desiredInstances(p, now))
}

func clampInstances(n int) int {
	return min(max(n, 0), MaxInstances)
}

func desiredInstances(p Preset, now time.Time) int {
	if len(p.Schedules) == 0 {
		return p.DesiredInstances
	}
	loc := time.UTC
	if p.Timezone != "" {
		if l, err := time.LoadLocation(p.Timezone); err == nil {
			loc = l
		}
	}
	local := now.In(loc)
	for _, sc := range p.Schedules {
		c, err := ParseCron(sc.Cron)
		if err != nil {
			continue
		}
		if c.Matches(local) {
			return sc.Instances
		}
	}
	return p.DesiredInstances
}

// consecutiveFailures counts the failed creates on the active version since
// the last success, ignoring those before resumedAt.
func consecutiveFailures(s PresetSnapshot, resumedAt time.Time) int {
	n := 0
	for _, c := range s.Creates {
		if c.VersionID != s.ActiveVersion.ID || !c.CompletedAt.After(resumedAt) {
			continue
		}
		switch c.Status {
		case BuildFailed:
			n++
		case BuildSucceeded:
			return n
		}
	}
	return n
}

// backoffUntil returns when the next create may start: the latest failure
// plus one interval per consecutive failure inside the lookback window.
func backoffUntil(s PresetSnapshot, now time.Time, pol Policy) (time.Time, int) {
	if pol.BackoffInterval <= 0 {
		return time.Time{}, 0
	}
	since := s.Preset.ResumedAt
	if pol.BackoffLookback > 0 && now.Add(-pol.BackoffLookback).After(since) {
		since = now.Add(-pol.BackoffLookback)
	}
	var last time.Time
	n := 0
	for _, c := range s.Creates {
		if c.VersionID != s.ActiveVersion.ID || !c.CompletedAt.After(since) {
			continue
		}
		if c.Status == BuildSucceeded {
			break
		}
		if c.Status != BuildFailed {
			continue
		}
		if n == 0 {
			last = c.CompletedAt
		}
		n++
	}
	if n == 0 {
		return time.Time{}, 0
	}
	return last.Add(time.Duration(n) * pol.BackoffInterval), n
}

// recentReplacements counts, among the last window claims on the active
// version since resumedAt, those that replaced something.
func recentReplacements(s PresetSnapshot, resumedAt time.Time, window int) (replaced, considered int) {
	for _, c := range s.Claims {
		if considered >= window {
			break
		}
		if c.VersionID != s.ActiveVersion.ID || !c.At.After(resumedAt) {
			continue
		}
		considered++
		if c.Replaced {
			replaced++
		}
	}
	return replaced, considered
}
