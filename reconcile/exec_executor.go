package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxLog bounds the output kept as a build log.
const DefaultMaxLog = 64 << 10

// ExecOptions configure an ExecExecutor.
type ExecOptions struct {
	// CreateCmd, DeleteCmd and ClaimCmd are shell commands (run with
	// `sh -c`); an empty ClaimCmd makes claims succeed without running
	// anything.
	CreateCmd, DeleteCmd, ClaimCmd string
	// Env is the base environment (default os.Environ()).
	Env []string
	// Dir is the working directory ("" = current).
	Dir string
	// MaxLog bounds the kept output (default DefaultMaxLog).
	MaxLog int
	// Timeout bounds each command (0 = none besides ctx).
	Timeout time.Duration
	// PlanDir holds the plan files claims write (default os.TempDir()).
	PlanDir string
}

// ExecExecutor runs shell commands for builds. Each command gets the job in
// CLAIMDRIFT_* environment variables; exit status 0 means the build
// succeeded; stdout and stderr, bounded, become the build log. A claim
// command may write a plan (JSON document, `plan -json` stream or binary
// plan) to $CLAIMDRIFT_PLAN_OUT; claimdrift then analyzes and tracks it.
type ExecExecutor struct {
	opts ExecOptions
}

// NewExecExecutor returns an executor with defaults filled in.
func NewExecExecutor(opts ExecOptions) *ExecExecutor {
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.MaxLog <= 0 {
		opts.MaxLog = DefaultMaxLog
	}
	if opts.PlanDir == "" {
		opts.PlanDir = os.TempDir()
	}
	return &ExecExecutor{opts: opts}
}

// Run implements Executor.
func (e *ExecExecutor) Run(ctx context.Context, job Job) (JobResult, error) {
	var command string
	switch job.Kind {
	case JobCreate:
		command = e.opts.CreateCmd
	case JobDelete:
		command = e.opts.DeleteCmd
	case JobClaim:
		command = e.opts.ClaimCmd
		if command == "" {
			return JobResult{Log: "no claim command configured\n"}, nil
		}
	default:
		return JobResult{}, fmt.Errorf("unknown job kind %q", job.Kind)
	}
	if command == "" {
		return JobResult{}, fmt.Errorf("no %s command configured", job.Kind)
	}
	env, err := JobEnv(job)
	if err != nil {
		return JobResult{}, err
	}
	var planPath string
	if job.Kind == JobClaim {
		planPath = filepath.Join(e.opts.PlanDir, "claimdrift-plan-"+job.BuildID.String())
		_ = os.Remove(planPath)
		env = append(env, "CLAIMDRIFT_PLAN_OUT="+planPath)
	}
	if e.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.opts.Timeout)
		defer cancel()
	}
	out := newBoundedBuffer(e.opts.MaxLog)
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Env = append(append([]string{}, e.opts.Env...), env...)
	cmd.Dir = e.opts.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	res := JobResult{Log: out.String()}
	if planPath != "" {
		if fi, err := os.Stat(planPath); err == nil && fi.Size() > 0 {
			res.PlanPath = planPath
		}
	}
	if runErr != nil {
		return res, fmt.Errorf("%s command: %w", job.Kind, runErr)
	}
	return res, nil
}

// JobEnv returns the CLAIMDRIFT_* variables describing job.
func JobEnv(job Job) ([]string, error) {
	params := job.Parameters
	if params == nil {
		params = map[string]string{}
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	transition := TransitionStart
	if job.Kind == JobDelete {
		transition = TransitionDelete
	}
	return []string{
		"CLAIMDRIFT_ACTION=" + string(job.Kind),
		"CLAIMDRIFT_TRANSITION=" + string(transition),
		"CLAIMDRIFT_BUILD_ID=" + job.BuildID.String(),
		"CLAIMDRIFT_WORKSPACE_ID=" + job.WorkspaceID.String(),
		"CLAIMDRIFT_WORKSPACE_NAME=" + job.WorkspaceName,
		"CLAIMDRIFT_PRESET_ID=" + job.PresetID.String(),
		"CLAIMDRIFT_PRESET=" + job.Preset,
		"CLAIMDRIFT_TEMPLATE_ID=" + job.TemplateID.String(),
		"CLAIMDRIFT_TEMPLATE=" + job.Template,
		"CLAIMDRIFT_ORGANIZATION=" + job.Organization,
		"CLAIMDRIFT_TEMPLATE_VERSION_ID=" + job.VersionID.String(),
		"CLAIMDRIFT_TEMPLATE_VERSION=" + job.Version,
		"CLAIMDRIFT_PARAMETERS=" + string(raw),
		"CLAIMDRIFT_OWNER=" + job.Owner,
		"CLAIMDRIFT_CLAIMANT=" + job.Claimant,
	}, nil
}

// boundedBuffer keeps the first and last max/2 bytes written to it.
type boundedBuffer struct {
	mu      sync.Mutex
	max     int
	head    bytes.Buffer
	tail    []byte
	dropped int64
}

func newBoundedBuffer(max int) *boundedBuffer { return &boundedBuffer{max: max} }

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	half := b.max / 2
	if room := half - b.head.Len(); room > 0 {
		k := min(room, len(p))
		b.head.Write(p[:k])
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	b.tail = append(b.tail, p...)
	if over := len(b.tail) - (b.max - half); over > 0 {
		b.dropped += int64(over)
		b.tail = append(b.tail[:0], b.tail[over:]...)
	}
	return n, nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped == 0 {
		return b.head.String() + string(b.tail)
	}
	return b.head.String() + "\n… (" + strconv.FormatInt(b.dropped, 10) + " bytes omitted) …\n" + string(b.tail)
}
