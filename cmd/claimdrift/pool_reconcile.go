package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
)

type execOptions struct {
	executor                       string
	createCmd, deleteCmd, claimCmd string
	timeout                        time.Duration
	recordRetry                    time.Duration
	src                            planSource
}

func addExecFlags(cmd *cobra.Command, o *execOptions, withBuildCmds bool) {
	f := cmd.Flags()
	if withBuildCmds {
		f.StringVar(&o.executor, "executor", "exec", "how builds run: exec (shell commands)")
		f.StringVar(&o.createCmd, "create-cmd", "", "shell command that creates a prebuild (CLAIMDRIFT_* variables describe it; exit 0 = success)")
		f.StringVar(&o.deleteCmd, "delete-cmd", "", "shell command that deletes a prebuild")
	}
	f.StringVar(&o.claimCmd, "claim-cmd", "", "shell command run for a claim; a plan it writes to $CLAIMDRIFT_PLAN_OUT is analyzed and tracked")
	f.DurationVar(&o.timeout, "build-timeout", 30*time.Minute, "give up on a build command after this long: its process group is killed and the build recorded canceled")
	f.DurationVar(&o.recordRetry, "record-retry", 30*time.Second, "how long a failed database write of a build's outcome (or a claim's replacements) is retried")
	f.StringVar(&o.src.terraform, "terraform", "", "terraform or tofu binary to show a binary claim plan with")
	f.StringVar(&o.src.chdir, "chdir", "", "working directory for 'terraform show' of a binary claim plan")
}

func (o *execOptions) executorFor() (*reconcile.ExecExecutor, error) {
	if o.executor != "" && o.executor != "exec" {
		return nil, usageError{fmt.Errorf("--executor %q: only exec is available", o.executor)}
	}
	if err := validateDurations(durationFlag{name: "build-timeout", value: o.timeout, min: time.Second, max: 7 * 24 * time.Hour, zeroOK: true}); err != nil {
		return nil, err
	}
	if o.recordRetry < 0 {
		return nil, usageError{errors.New("--record-retry must not be negative")}
	}
	return reconcile.NewExecExecutor(reconcile.ExecOptions{CreateCmd: o.createCmd, DeleteCmd: o.deleteCmd, ClaimCmd: o.claimCmd, Timeout: o.timeout}), nil
}

// analyzePlan is the pool's plan reader: the CLI's loader, so binary plans
// are converted with terraform show like in `analyze`.
func (o *execOptions) analyzePlan(io ioStreams) func(ctx context.Context, path string) (*analyzer.Report, error) {
	return func(ctx context.Context, path string) (*analyzer.Report, error) {
		return loadReport(ctx, path, io.In, o.src, analyzer.Options{})
	}
}

type reconcileOptions struct {
	once, dryRun bool
	format       string
	interval     time.Duration
	maxBuilds    int
	parallel     int
	stopTimeout  time.Duration
	notifyVia    string
	dispatch     dispatchOptions
	policy       policyOptions
	exec         execOptions
}

func newReconcileCmd(io ioStreams, g *globalOptions) *cobra.Command {
	o := &reconcileOptions{}
	cmd := &cobra.Command{
		Use:   "reconcile [--once] [--dry-run] [--interval 1m] --executor exec --create-cmd … --delete-cmd …",
		Short: "Keep every preset's pool of prebuilt workspaces at its desired size",
		Long: `Reconcile the pools: each pass reads the state of every preset at once,
decides what to create, delete or cancel (desired size from the preset or
its schedules, TTL expiry, inactive template versions, failure backoff and
limit, replacement-prone presets), records the decisions atomically and
runs the builds, deletes first, at most --max-builds per pass. Several
reconcilers may share one database: they never create more than desired.

Builds are leased (--build-lease): a reconciler renews the leases of the
builds it runs; a build whose lease ran out (its reconciler died) is taken
over by the next pass of any reconciler: recorded abandoned (no failure),
its workspace deleted (the command's process group killed first when it
ran on this host; after --takeover-grace when it ran on another), and
recreated as needed. Build commands run in their own process group, which
dies with the reconciler. On SIGTERM/SIGINT no build starts; running ones
are killed, recorded canceled and deleted (within --stop-timeout), then
the command exits 0. Delete commands must be idempotent.

Build commands get the job in CLAIMDRIFT_* variables: ACTION, TRANSITION,
BUILD_ID, WORKSPACE_ID, WORKSPACE_NAME, PRESET, PRESET_ID, TEMPLATE,
TEMPLATE_ID, TEMPLATE_VERSION, TEMPLATE_VERSION_ID, ORGANIZATION, PARAMETERS
(JSON), OWNER, CLAIMANT. Exit status 0 means the build succeeded; the output
(bounded) is kept as the build log.

Queued notifications are delivered while it runs (--notify deliver: to
the recipients of "claimdrift admins", the log for templates with none;
the --smtp-* and retry flags are those of "claimdrift notify dispatch"), or
left for a separate "claimdrift notify dispatch" (--notify none).`,
		Example: `  claimdrift reconcile --once --dry-run
  claimdrift reconcile --create-cmd ./create.sh --delete-cmd ./delete.sh --on-replacement pause`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReconcile(cmd.Context(), o, io, g) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.once, "once", false, "run one pass and exit")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the actions a pass would take and exit, changing nothing")
	f.StringVarP(&o.format, "format", "f", "text", "output format of the pass reports: text, json")
	addReconcileLoopFlags(cmd, o)
	return cmd
}

// addReconcileLoopFlags registers the flags of the reconcile loop, shared
// by `reconcile` and `serve`: interval, limits, notifications, policy,
// delivery and build commands.
func addReconcileLoopFlags(cmd *cobra.Command, o *reconcileOptions) {
	f := cmd.Flags()
	f.DurationVar(&o.interval, "interval", time.Minute, "time between passes")
	f.IntVar(&o.maxBuilds, "max-builds", 0, "start at most this many builds per pass, deletes first (0: no limit)")
	f.IntVar(&o.parallel, "parallel", 4, "run at most this many builds of a pass at once (deletes before creates)")
	f.DurationVar(&o.stopTimeout, "stop-timeout", 10*time.Second, "on SIGTERM/SIGINT, how long the delete commands cleaning up canceled builds may run before exit (the rest is left to the next reconciler)")
	f.StringVar(&o.notifyVia, "notify", "deliver", "deliver queued notifications while reconciling (deliver; log is the same), or leave them to 'claimdrift notify dispatch' (none)")
	addPolicyFlags(cmd, &o.policy)
	addDispatchFlags(cmd, &o.dispatch)
	addExecFlags(cmd, &o.exec, true)
}

// checkLoop validates the reconcile loop's flags and returns the policy.
func (o *reconcileOptions) checkLoop() (reconcile.Policy, error) {
	if o.notifyVia != "deliver" && o.notifyVia != "log" && o.notifyVia != "none" {
		return reconcile.Policy{}, usageError{fmt.Errorf("--notify %q: want deliver or none", o.notifyVia)}
	}
	if err := validateDurations(
		durationFlag{name: "interval", value: o.interval, min: 50 * time.Millisecond, max: 24 * time.Hour},
		durationFlag{name: "stop-timeout", value: o.stopTimeout, min: 100 * time.Millisecond, max: time.Hour},
	); err != nil {
		return reconcile.Policy{}, err
	}
	if err := validateCounts(countFlag{"max-builds", o.maxBuilds, 0, reconcile.MaxInstances}, countFlag{"parallel", o.parallel, 1, 256}); err != nil {
		return reconcile.Policy{}, err
	}
	return o.policy.policy()
}

func runReconcile(ctx context.Context, o *reconcileOptions, io ioStreams, g *globalOptions) error {
	if o.format != "text" && o.format != "json" {
		return usageError{fmt.Errorf("--format %q: want text or json", o.format)}
	}
	pol, err := o.checkLoop()
	if err != nil {
		return err
	}
	if !o.dryRun && (o.exec.createCmd == "" || o.exec.deleteCmd == "") {
		return usageError{errors.New("--create-cmd and --delete-cmd are required (or use --dry-run)")}
	}
	x, err := o.exec.executorFor()
	if err != nil {
		return err
	}
	log := logger(io)
	return withStore(ctx, io, g, func(s poolStore) error {
		pool := reconcile.NewPool(s, x, reconcile.Options{Policy: pol, MaxBuilds: o.maxBuilds, Parallelism: o.parallel, Logger: log, AnalyzePlan: o.exec.analyzePlan(io),
			Recipients: notifyRecipients(s, log), Lease: o.policy.lease, StopTimeout: o.stopTimeout, RecordRetry: o.exec.recordRetry})
		if o.dryRun {
			rep, err := pool.Plan(ctx)
			if err != nil {
				return err
			}
			return writePassReport(io, o.format, rep, true)
		}
		var dispatcher *notify.Dispatcher
		if o.notifyVia != "none" {
			d, err := o.dispatch.newDispatcher(s, log)
			if err != nil {
				return err
			}
			dispatcher = d
		}
		if o.once {
			rep, passErr := pool.ReconcileOnce(ctx)
			if passErr != nil && len(rep.Builds) == 0 {
				return passErr
			}
			// A pass that failed after recording some builds ran those:
			// report them, then fail.
			if err := writePassReport(io, o.format, rep, false); err != nil {
				return err
			}
			if passErr != nil {
				return passErr
			}
			if dispatcher != nil {
				if _, err := dispatcher.DrainOnce(ctx); err != nil {
					log.ErrorContext(ctx, "deliver notifications", "error", err.Error())
				}
			}
			return nil
		}
		// The dispatcher runs beside the passes (its own lanes per
		// recipient), so a slow receiver never delays a pass.
		var wg sync.WaitGroup
		if dispatcher != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = dispatcher.Run(ctx, 10*time.Second)
			}()
		}
		err := pool.Run(ctx, o.interval, func(rep reconcile.PassReport) {
			if err := writePassReport(io, o.format, rep, false); err != nil {
				log.ErrorContext(ctx, "write pass report", "error", err.Error())
			}
		})
		wg.Wait()
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
}

type passJSON struct {
	At       time.Time               `json:"at"`
	DryRun   bool                    `json:"dry_run,omitempty"`
	Locked   bool                    `json:"locked,omitempty"`
	Presets  []presetPassJSON        `json:"presets"`
	Actions  []reconcile.Action      `json:"actions"`
	Deferred int                     `json:"deferred"`
	Builds   []reconcile.BuildReport `json:"builds"`
	Seconds  float64                 `json:"duration_seconds"`
}

type presetPassJSON struct {
	Organization string                 `json:"organization"`
	Template     string                 `json:"template"`
	Preset       string                 `json:"preset"`
	Desired      int                    `json:"desired"`
	Eligible     int                    `json:"eligible"`
	Creating     int                    `json:"creating"`
	Deleting     int                    `json:"deleting"`
	Status       reconcile.PresetStatus `json:"status"`
	Blocked      string                 `json:"blocked,omitempty"`
}

func writePassReport(io ioStreams, format string, rep reconcile.PassReport, dryRun bool) error {
	out := passJSON{At: rep.At, DryRun: dryRun, Locked: rep.Locked, Actions: rep.Actions, Deferred: rep.Deferred, Builds: rep.Builds, Seconds: rep.Duration.Seconds()}
	if out.Actions == nil {
		out.Actions = []reconcile.Action{}
	}
	if out.Builds == nil {
		out.Builds = []reconcile.BuildReport{}
	}
	names := map[string]string{}
	for _, pr := range rep.Presets {
		p := pr.Plan
		names[p.PresetID.String()] = reconcile.QuoteText(pr.Template) + "/" + reconcile.QuoteText(pr.Preset)
		out.Presets = append(out.Presets, presetPassJSON{Organization: pr.Organization, Template: pr.Template, Preset: pr.Preset, Desired: p.Desired,
			Eligible: p.Eligible, Creating: p.Creating, Deleting: p.Deleting, Status: p.Status, Blocked: p.Blocked})
	}
	if out.Presets == nil {
		out.Presets = []presetPassJSON{}
	}
	if format == "json" {
		enc := json.NewEncoder(io.Out)
		return enc.Encode(out)
	}
	if rep.Locked {
		_, err := fmt.Fprintln(io.Out, "pass skipped: another reconciler holds the lock")
		return err
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	verb := "did"
	if dryRun {
		verb = "would do"
	}
	fmt.Fprintf(tw, "pass at %s %s %d actions (%d deferred by --max-builds)\n", rep.At.UTC().Format(time.RFC3339), verb, len(rep.Actions), rep.Deferred)
	for _, a := range rep.Actions {
		target := ""
		switch a.Kind {
		case reconcile.ActionDelete:
			target = a.WorkspaceID.String()
		case reconcile.ActionCancel, reconcile.ActionTakeover:
			target = a.BuildID.String()
		}
		fmt.Fprintln(tw, row("  "+string(a.Kind), names[a.PresetID.String()], a.Reason, target))
	}
	for _, b := range rep.Builds {
		fmt.Fprintln(tw, row("  build", string(b.Kind), b.BuildID.String(), string(b.Status), b.Error))
	}
	for _, p := range out.Presets {
		if p.Blocked != "" {
			fmt.Fprintf(tw, "  blocked\t%s/%s\t%s\n", reconcile.QuoteText(p.Template), reconcile.QuoteText(p.Preset), p.Blocked)
		}
	}
	return tw.Flush()
}

// row joins table cells with tabs, leaving out empty trailing cells so
// lines carry no trailing blanks.
func row(cells ...string) string {
	for len(cells) > 0 && cells[len(cells)-1] == "" {
		cells = cells[:len(cells)-1]
	}
	return strings.Join(cells, "\t")
}
