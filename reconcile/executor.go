package reconcile

import (
	"context"

	"github.com/google/uuid"
)

// JobKind is what an executor is asked to do.
type JobKind string

// Job kinds.
const (
	JobCreate JobKind = "create"
	JobDelete JobKind = "delete"
	JobClaim  JobKind = "claim"
)

// Job is one build for an executor to carry out.
type Job struct {
	Kind          JobKind
	BuildID       uuid.UUID
	WorkspaceID   uuid.UUID
	WorkspaceName string
	PresetID      uuid.UUID
	Preset        string
	TemplateID    uuid.UUID
	Template      string
	Organization  string
	VersionID     uuid.UUID
	Version       string
	Parameters    map[string]string
	// Owner is the workspace's owner (PrebuildsOwner until claimed).
	Owner string
	// Claimant is the user a claim hands the workspace to.
	Claimant string
	// OnStart, when set, is called once the build's command runs, with
	// where it runs (so that a takeover can find it).
	OnStart func(ProcessInfo)

	stale   *ProcessInfo // takeover: the old build's process, to kill first
	cleanup bool         // this build cleans up after a canceled one
}

// JobResult is what a job left behind.
type JobResult struct {
	// Log is the job's output, bounded.
	Log string
	// PlanPath is the plan the job wrote (claims), "" when none.
	PlanPath string
	// Done, when set, removes what the job left behind (the plan file and
	// its private directory); call it once the plan is recorded.
	Done func()
	// Keep, when set, marks the plan as kept for the user (a plan that
	// could not be recorded, to record later): no later sweep of claim
	// plan directories removes it.
	Keep func()
}

// Executor carries out builds. A nil error means the build succeeded.
// When ctx ends, the build's command (all of its processes) is killed.
type Executor interface {
	Run(ctx context.Context, job Job) (JobResult, error)
}
