package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	// Env is the base environment (default os.Environ()). Database URLs
	// and claimdrift's own settings (CLAIMDRIFT_*, DATABASE_URL, PGPASSWORD,
	// PGPASSFILE) are removed from it: build commands never see them.
	Env []string
	// Dir is the working directory ("" = current).
	Dir string
	// MaxLog bounds the kept output (default DefaultMaxLog).
	MaxLog int
	// Timeout bounds each command (0 = none besides ctx); a command that
	// runs longer has its process group killed and fails with
	// ErrBuildTimeout.
	Timeout time.Duration
	// PlanDir is where each claim gets a private (0700) directory for the
	// plan it writes (default os.TempDir()). Before its first claim the
	// executor removes the directories there whose owner process is gone
	// (sweepPlanDirs).
	PlanDir string
	// Host names this machine in ProcessInfo (default os.Hostname).
	Host string
}

// ExecExecutor runs shell commands for builds. Each command gets the job in
// CLAIMDRIFT_* environment variables; exit status 0 means the build
// succeeded; stdout and stderr, bounded, become the build log. A claim
// command may write a plan (JSON document, `plan -json` stream or binary
// plan) to $CLAIMDRIFT_PLAN_OUT; claimdrift then analyzes and tracks it.
//
// Each command runs in its own process group, which is killed as a whole
// when the build is cancelled or times out, when it ends (no process it
// left behind survives it), and, on Linux, when the reconciler dies.
type ExecExecutor struct {
	opts ExecOptions
	// sweep removes, once, the plan directories of claims whose process
	// is gone (see sweepPlanDirs).
	sweep sync.Once
}

// NewExecExecutor returns an executor with defaults filled in.
func NewExecExecutor(opts ExecOptions) *ExecExecutor {
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	opts.Env = BuildEnv(opts.Env)
	if opts.MaxLog <= 0 {
		opts.MaxLog = DefaultMaxLog
	}
	if opts.PlanDir == "" {
		opts.PlanDir = os.TempDir()
	}
	if opts.Host == "" {
		opts.Host = defaultHost()
	}
	return &ExecExecutor{opts: opts}
}

// BuildEnv returns env without what build commands must not inherit:
// claimdrift's own variables (CLAIMDRIFT_DB holds the database URL and its
// password) and the usual database credentials.
func BuildEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "CLAIMDRIFT_"), name == "DATABASE_URL", name == "PGPASSWORD", name == "PGPASSFILE":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// supervise is the shell that runs a build command ($1) in the background
// of its process group and kills the whole group when the reconciler dies:
//   - it traps SIGTERM, the parent-death signal, and turns it into SIGKILL
//     for the group;
//   - a watcher checks every second that the shell's parent is still the
//     one it started with (Linux's /proc; elsewhere it never fires), and
//     kills the group if not: a signal that arrives just before the shell
//     waits can stay unhandled until the command ends (a SIGKILLed
//     reconciler's create outlived it that way, now and then, in CI).
//
// The watcher's output goes nowhere, so that it never holds the build's
// log pipe open; it is stopped when the command ends, and what is left of
// it dies with the group (run kills the group after every command).
const supervise = `trap 'trap - TERM; kill -KILL 0' TERM
sh -c "$1" & c=$!
read -r _ _ _ pp _ </proc/$$/stat 2>/dev/null
(while sleep 1; do read -r _ _ _ now _ </proc/$$/stat 2>/dev/null; [ "${now:-$pp}" = "$pp" ] || kill -KILL 0; done) </dev/null >/dev/null 2>&1 & w=$!
wait "$c"; s=$?
kill "$w" 2>/dev/null
exit "$s"`

// RunsClaims implements ClaimRunner: a claim runs a command only when
// ClaimCmd is set.
func (e *ExecExecutor) RunsClaims() bool { return e.opts.ClaimCmd != "" }

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
			return JobResult{Log: noClaimCommandLog}, nil
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
	var planDir, planPath string
	if job.Kind == JobClaim {
		e.sweep.Do(func() { sweepPlanDirs(e.opts.PlanDir, time.Now()) })
		planDir, err = makePlanDir(e.opts.PlanDir)
		if err != nil {
			return JobResult{}, fmt.Errorf("claim plan directory: %w", err)
		}
		planPath = filepath.Join(planDir, "plan")
		env = append(env, "CLAIMDRIFT_PLAN_OUT="+planPath)
	}
	runCtx := ctx
	if e.opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, e.opts.Timeout)
		defer cancel()
	}
	out := newBoundedBuffer(e.opts.MaxLog)
	runErr := e.run(runCtx, command, append(append([]string{}, e.opts.Env...), env...), out, job.OnStart)
	res := JobResult{Log: out.String()}
	if planDir != "" {
		if fi, err := os.Stat(planPath); err == nil && fi.Size() > 0 {
			res.PlanPath = planPath
			res.Done = func() { os.RemoveAll(planDir) }
			res.Keep = func() { keepPlanDir(planDir) }
		} else {
			os.RemoveAll(planDir)
		}
	}
	if runErr != nil {
		if ctx.Err() == nil && runCtx.Err() != nil {
			return res, fmt.Errorf("%s command: %w after %s (its process group was killed)", job.Kind, ErrBuildTimeout, e.opts.Timeout)
		}
		return res, fmt.Errorf("%s command: %w", job.Kind, runErr)
	}
	return res, nil
}

// run starts command in its own process group and waits for it. The
// goroutine stays locked to its OS thread from start to end: the
// parent-death signal is tied to the thread that forked the child, and Go
// may end a thread that no goroutine is locked to.
func (e *ExecExecutor) run(ctx context.Context, command string, env []string, out io.Writer, onStart func(ProcessInfo)) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := exec.CommandContext(ctx, "sh", "-c", supervise, "claimdrift-build", command)
	cmd.Env = env
	cmd.Dir = e.opts.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = groupAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return err
	}
	pgid := cmd.Process.Pid
	if onStart != nil {
		onStart(ProcessInfo{Host: e.opts.Host, PGID: pgid, StartTime: procStartTime(pgid)})
	}
	err := cmd.Wait()
	// Whatever the command left running in its group ends with it.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return err
}

// KillProcess implements ProcessKiller: it kills the process group of a
// build command started on this host, unless its leader's process id now
// belongs to another process (a different start time), and waits up to
// five seconds (or ctx) for the group to be gone.
func (e *ExecExecutor) KillProcess(ctx context.Context, p ProcessInfo) error {
	if p.PGID <= 1 || p.Host != e.opts.Host {
		return nil
	}
	if st := procStartTime(p.PGID); st != 0 && p.StartTime != 0 && st != p.StartTime {
		return nil // the id was reused: the old leader is gone; a group id in use is never reused
	}
	if err := syscall.Kill(-p.PGID, syscall.SIGKILL); errors.Is(err, syscall.ESRCH) {
		return nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if !groupAlive(p.PGID) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("process group %d of an earlier build is still there", p.PGID)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
