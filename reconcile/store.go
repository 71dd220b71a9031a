package reconcile

import (
	"context"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/google/uuid"
)

// Store is the pool's persistence, implemented by reconcile/sqlite and
// reconcile/postgres (which also implement notify.Outbox). Every method is
// safe for concurrent use by several processes on one database.
type Store interface {
	// ImportTemplate creates or updates a template, adds (or reuses by
	// name) a version, makes it active, and upserts the presets by name.
	ImportTemplate(ctx context.Context, in TemplateImport) (ImportResult, error)
	// SavePreset creates a preset, or updates the one with the same name.
	SavePreset(ctx context.Context, spec PresetSpec) (Preset, error)
	// Presets lists every preset with its template, ordered by
	// organization, template and preset name.
	Presets(ctx context.Context) ([]PresetInfo, error)
	// ResumePreset clears a preset's status: failures and claims before
	// now stop counting.
	ResumePreset(ctx context.Context, presetID uuid.UUID, now time.Time) error

	// Snapshot reads the state of every pool with a fixed number of queries;
	// histories hold at most historyLimit entries per preset.
	Snapshot(ctx context.Context, now time.Time, historyLimit int) (Snapshot, error)
	// Pass runs one reconcile pass exclusively: it reads the snapshot,
	// calls plan, and records plan's writes before any other reconciler
	// can read the pool again (in chunks of PassWrite.Chunk builds, under
	// a pass lock that outlives a crash by at most the lease). It returns
	// the builds it recorded (pending), or ErrPassLocked when another
	// reconciler holds the pass. An error after the first chunk returns
	// the builds recorded until then with it.
	Pass(ctx context.Context, now time.Time, historyLimit int, plan func(Snapshot) (PassWrite, error)) ([]Build, error)
	// StartBuild moves a pending build to running; ErrNotFound when it is
	// no longer pending (canceled, or taken by someone else).
	StartBuild(ctx context.Context, buildID uuid.UUID, now time.Time) error
	// SetBuildProcess records where an unfinished build's command runs
	// (host, process group, start time); ErrNotFound when owner no longer
	// holds the build.
	SetBuildProcess(ctx context.Context, buildID uuid.UUID, owner string, p ProcessInfo) error
	// RenewLeases extends to until the lease of every unfinished build
	// owner holds, and returns the ids of those builds.
	RenewLeases(ctx context.Context, owner string, until time.Time) ([]uuid.UUID, error)
	// CancelBuild records an unfinished build canceled (a shutdown or a
	// timeout stopped it) and, for a prebuild create that started or any
	// prebuild delete, records in the same transaction a pending delete
	// build of its workspace held by cleanup, which it returns (zero ID
	// when none). ErrNotFound when the build is
	// already finished.
	CancelBuild(ctx context.Context, buildID uuid.UUID, log string, now time.Time, cleanup Lease) (Build, error)
	// FinishBuild records how a build ended, with its (bounded) log; a
	// succeeded delete marks the workspace deleted.
	FinishBuild(ctx context.Context, buildID uuid.UUID, status BuildStatus, log string, now time.Time) error

	// Claim hands one ready prebuild of the preset to a user atomically;
	// ErrNoClaimablePrebuilds when there is none.
	Claim(ctx context.Context, req ClaimRequest) (Claimed, error)
	// TrackReplacements records a build's replacements once (idempotent
	// per build) and, in the same transaction, queues the notifications
	// req.Notify returns.
	TrackReplacements(ctx context.Context, req TrackRequest) (TrackResult, error)

	// Counters returns the per-preset totals metrics are derived from.
	Counters(ctx context.Context) ([]PresetCounters, error)
	// RecordPassDuration keeps the duration of the last reconcile pass.
	RecordPassDuration(ctx context.Context, d time.Duration, at time.Time) error
	// LastPassDuration returns it (zero when no pass ran).
	LastPassDuration(ctx context.Context) (time.Duration, time.Time, error)

	// Enqueue adds messages to the outbox, dropping those whose dedup key
	// is already queued.
	Enqueue(ctx context.Context, msgs []notify.Message) error

	Close() error
}

// PresetSpec describes a preset to save.
type PresetSpec struct {
	// TemplateID, or TemplateName (and Organization when names clash).
	TemplateID       uuid.UUID
	TemplateName     string
	Organization     string
	Name             string
	Parameters       map[string]string
	DesiredInstances int
	TTL              time.Duration
	Timezone         string
	Schedules        []Schedule
	Now              time.Time
}

// TemplateImport is a template version and its presets, as read from a plan.
type TemplateImport struct {
	Name         string
	Organization string
	// Version names the version; "" picks the next "vN".
	Version string
	Presets []PresetSpec
	Now     time.Time
}

// ImportResult is what ImportTemplate did.
type ImportResult struct {
	Template Template
	Version  TemplateVersion
	Presets  []Preset
}

// PresetInfo is a preset with its template.
type PresetInfo struct {
	Preset   Preset
	Template Template
}

// CreateSpec asks Pass to record a new prebuild workspace and its first
// (pending) build.
type CreateSpec struct {
	PresetID      uuid.UUID
	TemplateID    uuid.UUID
	VersionID     uuid.UUID
	WorkspaceName string
}

// DeleteSpec asks Pass to record a pending delete build for a prebuild.
type DeleteSpec struct {
	WorkspaceID uuid.UUID
	PresetID    uuid.UUID
	VersionID   uuid.UUID
}

// StatusChange asks Pass to record a preset's new status.
type StatusChange struct {
	PresetID  uuid.UUID
	Status    PresetStatus
	Reason    string
	VersionID uuid.UUID
}

// PassWrite is what one pass records.
type PassWrite struct {
	Deletes []DeleteSpec
	Creates []CreateSpec
	Cancels []uuid.UUID
	// Takeovers are unfinished builds whose lease ran out: each is
	// recorded abandoned (when its lease is still the one observed) and,
	// with Cleanup, a pending delete of its workspace is recorded.
	Takeovers []Takeover
	Statuses  []StatusChange
	Messages  []notify.Message
	// Lease is given to every build the pass records.
	Lease Lease
	// Chunk bounds the deletes and creates recorded per transaction (0:
	// DefaultPassChunk). The first transaction records the snapshot's
	// other writes and the first chunk; the rest follow in short
	// transactions, each as soon as the one before commits, while the
	// pass lock stays held across them.
	Chunk int
	// OnRecorded, when set, is called after each transaction that
	// recorded builds, with those builds (deletes first), so that they can
	// start while the rest is recorded. It must not block for long: the
	// pass lock is held until the last chunk is recorded.
	OnRecorded func([]Build)
}

// DefaultPassChunk is how many builds a pass records per transaction
// when PassWrite.Chunk is zero.
const DefaultPassChunk = 1000

// Takeover asks Pass to take over an unfinished build whose lease ran out.
type Takeover struct {
	BuildID     uuid.UUID
	WorkspaceID uuid.UUID
	PresetID    uuid.UUID
	VersionID   uuid.UUID
	// LeaseUntil is the lease observed in the snapshot; a build renewed
	// since is left alone.
	LeaseUntil time.Time
	// Cleanup records a pending delete build for the workspace.
	Cleanup bool
	// Process is where the old build ran, for the cleanup's runner.
	Process ProcessInfo
}

// ClaimRequest asks for one prebuild of a preset.
type ClaimRequest struct {
	PresetID uuid.UUID
	User     string
	// Name is the workspace's new name; "" keeps a generated one.
	Name string
	Now  time.Time
	// Lease is given to the claim build.
	Lease Lease
	// Finished records the claim build succeeded at Now in the claim's own
	// transaction, with FinishedLog as its log: the claim runs no command,
	// so there is nothing to lease, start or wait for.
	Finished    bool
	FinishedLog string
}

// Claimed is the result of a claim: the workspace now owned by the user
// and the pending claim build.
type Claimed struct {
	Workspace Workspace
	Build     Build
	// Template and Preset name the claimed preset and its template, as
	// the claim read them.
	Template, Preset string
}

// BuildContext names everything a notification about a build mentions.
type BuildContext struct {
	Organization  string
	TemplateID    uuid.UUID
	Template      string
	VersionID     uuid.UUID
	Version       string
	PresetID      uuid.UUID
	Preset        string
	WorkspaceID   uuid.UUID
	WorkspaceName string
	Owner         string
	BuildID       uuid.UUID
	Stage         Stage
	Initiator     string
}

// TrackRequest records what a build's plan replaced.
type TrackRequest struct {
	WorkspaceID uuid.UUID
	BuildID     uuid.UUID
	// PresetID lets an unknown workspace and build be recorded as a claim
	// of that preset (the hook runs in a provisioner claimdrift did not
	// start); uuid.Nil requires the build or workspace to exist.
	PresetID uuid.UUID
	// Claimant is the owner recorded for an unknown workspace.
	Claimant     string
	Replacements []analyzer.Replacement
	Now          time.Time
	// Notify returns the messages to queue when the build is tracked for
	// the first time with at least one replacement; an error aborts the
	// whole record (nothing is tracked, so a retry notifies).
	Notify func(ctx context.Context, bc BuildContext) ([]notify.Message, error)
}

// TrackResult is what TrackReplacements did.
type TrackResult struct {
	// New is false when the build was already tracked (nothing changed).
	New bool
	// Replacements is the number of replacements recorded for the build.
	Replacements int
	// Queued is the number of notifications queued.
	Queued int
	Build  BuildContext
	// Recorded are the build's recorded replacements as the history
	// shows them (RecordedReplacements' order), for a new track and a
	// repeated one alike.
	Recorded []HistoryReplacement
}

// PresetCounters are totals derived from the store.
type PresetCounters struct {
	PresetID uuid.UUID
	// Created and Failed count finished prebuild creates.
	Created int
	Failed  int
	// Claimed counts claims; ClaimsReplaced those whose build replaced
	// something.
	Claimed        int
	ClaimsReplaced int
}
