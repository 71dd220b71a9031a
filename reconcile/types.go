package reconcile

import (
	"errors"
	"time"

	"github.com/google/uuid"
)

// PrebuildsOwner is the owner name of workspaces that are prebuilds: a
// workspace stops being a prebuild when a claim hands it to a user.
const PrebuildsOwner = "prebuilds"

// Sentinel errors callers branch on.
var (
	// ErrNoClaimablePrebuilds is returned by Claim when the preset has no
	// ready prebuild to hand out.
	ErrNoClaimablePrebuilds = errors.New("no claimable prebuilds")
	// ErrNotFound is returned when a named template, preset, workspace or
	// build does not exist.
	ErrNotFound = errors.New("not found")
	// ErrPassLocked is returned by Store.Pass when another reconciler holds
	// the pass lock (PostgreSQL advisory lock); the pass is skipped.
	ErrPassLocked = errors.New("another reconciler is running a pass")
	// ErrAmbiguous is returned when a name matches several records (a
	// template name in several organizations, a preset name in several
	// templates).
	ErrAmbiguous = errors.New("ambiguous name")
)

// Template is a workspace template; prebuilds are always created from its
// active version.
type Template struct {
	ID              uuid.UUID
	Name            string
	Organization    string
	ActiveVersionID uuid.UUID
	CreatedAt       time.Time
}

// TemplateVersion is one imported version of a template.
type TemplateVersion struct {
	ID         uuid.UUID
	TemplateID uuid.UUID
	Name       string
	// Deprecated versions get no prebuilds, even when active.
	Deprecated bool
	CreatedAt  time.Time
}

// PresetStatus is the reconciler's verdict on a preset.
type PresetStatus string

// Preset statuses.
const (
	// StatusHealthy: the reconciler keeps the pool at its desired size.
	StatusHealthy PresetStatus = "healthy"
	// StatusReplacementProne: recent claims keep replacing resources; with
	// the pause policy no new prebuilds are created until a new active
	// template version or `preset resume`.
	StatusReplacementProne PresetStatus = "replacement_prone"
	// StatusHardLimited: prebuild creation failed HardLimit times in a row;
	// no new prebuilds until `preset resume`.
	StatusHardLimited PresetStatus = "hard_limited"
)

// PresetStatuses lists every status, in the order metrics report them.
var PresetStatuses = []PresetStatus{StatusHealthy, StatusReplacementProne, StatusHardLimited}

// Schedule overrides the desired instance count while its cron expression
// matches (evaluated in the preset's timezone).
type Schedule struct {
	Cron      string `json:"cron"`
	Instances int    `json:"instances"`
}

// Preset is a named set of parameter values for a template plus the size
// of its pool of prebuilds.
type Preset struct {
	ID         uuid.UUID
	TemplateID uuid.UUID
	Name       string
	Parameters map[string]string
	// DesiredInstances is the pool size when no schedule matches.
	DesiredInstances int
	// TTL is how long a prebuild may wait for a claim before it is
	// replaced; zero means forever.
	TTL time.Duration
	// Timezone is the IANA zone the schedules are evaluated in ("" = UTC).
	Timezone  string
	Schedules []Schedule
	Status    PresetStatus
	// StatusReason explains Status in one sentence.
	StatusReason string
	// StatusVersionID is the active template version when Status was set;
	// a replacement_prone preset resumes when the active version changes.
	StatusVersionID uuid.UUID
	// ResumedAt is when the preset was last resumed: failures and claims
	// before it no longer count.
	ResumedAt time.Time
	CreatedAt time.Time
	// Unreadable says why the preset's stored parameters or schedules
	// could not be read (a row edited by hand, say); empty when they
	// could. Parameters and Schedules are then empty: CalculateActions
	// leaves the preset's pool as it is, and a claim that runs a command
	// refuses it, until `claimdrift template import` or `preset add`
	// writes it again.
	Unreadable string
}

// Transition is what a build does to its workspace.
type Transition string

// Build transitions.
const (
	TransitionStart  Transition = "start"
	TransitionStop   Transition = "stop"
	TransitionDelete Transition = "delete"
)

// BuildStatus is where a build is in its life.
type BuildStatus string

// Build statuses.
const (
	BuildPending   BuildStatus = "pending"
	BuildRunning   BuildStatus = "running"
	BuildSucceeded BuildStatus = "succeeded"
	BuildFailed    BuildStatus = "failed"
	// BuildCanceled: stopped by a shutdown or a timeout (the command's
	// process group was killed); its workspace is cleaned up.
	BuildCanceled BuildStatus = "canceled"
	// BuildAbandoned: its reconciler stopped renewing the build's lease;
	// another one took it over and cleaned up. Like canceled, it does not
	// count toward backoff or the failure limit.
	BuildAbandoned BuildStatus = "abandoned"
)

// InProgress reports whether the build has not finished.
func (s BuildStatus) InProgress() bool { return s == BuildPending || s == BuildRunning }

// Stage tells why a build runs.
type Stage string

// Build stages.
const (
	// StagePrebuild: the reconciler creates (or deletes) a prebuild.
	StagePrebuild Stage = "prebuild"
	// StageClaim: the build that hands a prebuild to its claimant.
	StageClaim Stage = "claim"
	// StageNormal: any other build.
	StageNormal Stage = "normal"
)

// Workspace is a workspace, prebuilt or owned by a user.
type Workspace struct {
	ID         uuid.UUID
	Name       string
	Owner      string
	TemplateID uuid.UUID
	PresetID   uuid.UUID // uuid.Nil when none
	CreatedAt  time.Time
	ClaimedAt  time.Time // zero until claimed
	DeletedAt  time.Time // zero until deleted
}

// Build is one run of Terraform against a workspace.
type Build struct {
	ID          uuid.UUID
	WorkspaceID uuid.UUID
	// WorkspaceName is the workspace's name when the build was recorded
	// (set on builds the store returns from Pass, Claim and CancelBuild).
	WorkspaceName     string
	Number            int
	TemplateVersionID uuid.UUID
	PresetID          uuid.UUID // uuid.Nil when none
	Transition        Transition
	Status            BuildStatus
	Stage             Stage
	// Initiator is who asked for the build (the claimant for claims).
	Initiator   string
	Log         string
	CreatedAt   time.Time
	StartedAt   time.Time
	CompletedAt time.Time
	// Lease names who runs the unfinished build and until when.
	Lease Lease
	// Process is the build command's process group, once started.
	Process ProcessInfo
}

// Lease is a claim on an unfinished build: Owner (a reconciler or claimer
// process) runs it and renews Until while it does. A build whose lease ran
// out belongs to nobody: the next reconciler takes it over.
type Lease struct {
	Owner string
	// Host is the owner's host; stored as the build's Process.Host.
	Host  string
	Until time.Time
}

// ProcessInfo says where a build command runs: the host, its process
// group and the group leader's start time (clock ticks since boot, from
// /proc), which tells the group apart from a later one with the same id.
type ProcessInfo struct {
	Host      string
	PGID      int
	StartTime int64
}
