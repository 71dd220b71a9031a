package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/reconcile"
)

type claimOptions struct {
	preset, template, user, name string
	exec                         execOptions
	remote                       remoteOptions
}

func newClaimCmd(io ioStreams, g *globalOptions) *cobra.Command {
	o := &claimOptions{}
	cmd := &cobra.Command{
		Use:   "claim --preset P --user U [--name N]",
		Short: "Hand a ready prebuilt workspace to a user",
		Long: `Claim one ready prebuild of the preset for the user, atomically (two claims
never get the same workspace), and print its workspace id. With
--claim-cmd, the command runs as the claim build; a plan it writes to
$CLAIMDRIFT_PLAN_OUT is analyzed and its replacements tracked.

Exit 1 with a clear message when the preset has no ready prebuild.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runClaim(cmd.Context(), o, io, g) },
	}
	f := cmd.Flags()
	f.StringVar(&o.preset, "preset", "", "preset name or id (required)")
	f.StringVar(&o.template, "template", "", "template of the preset (when the name is in several)")
	f.StringVar(&o.user, "user", "", "the claimant (required)")
	f.StringVar(&o.name, "name", "", "new workspace name (default: keep the prebuild's)")
	addExecFlags(cmd, &o.exec, false)
	addRemoteFlags(cmd, &o.remote)
	return cmd
}

func runClaim(ctx context.Context, o *claimOptions, io ioStreams, g *globalOptions) error {
	if o.user == "" {
		return usageError{errors.New("--user is required")}
	}
	if o.remote.server != "" {
		return runClaimRemote(ctx, o, io)
	}
	x, err := o.exec.executorFor()
	if err != nil {
		return err
	}
	return withStore(ctx, io, g, func(s poolStore) error {
		pi, err := findPreset(ctx, s, o.template, o.preset)
		if err != nil {
			return err
		}
		log := logger(io)
		pool := reconcile.NewPool(s, x, reconcile.Options{Logger: log, AnalyzePlan: o.exec.analyzePlan(io), Recipients: notifyRecipients(s, log), RecordRetry: o.exec.recordRetry})
		res, err := pool.Claim(ctx, o.user, o.name, pi.Preset.ID)
		if errors.Is(err, reconcile.ErrNoClaimablePrebuilds) {
			return fmt.Errorf("preset %s of template %s has no ready prebuild to claim (see `claimdrift status`)", pi.Preset.Name, pi.Template.Name)
		}
		if res.Claimed.Workspace.ID != uuid.Nil {
			fmt.Fprintln(io.Out, res.Claimed.Workspace.ID)
			fmt.Fprintf(io.ErrOut, "claimed %s for %s (build %s, %s)\n", res.Claimed.Workspace.Name, o.user, res.Claimed.Build.ID, res.BuildStatus)
			if res.Track != nil {
				fmt.Fprintf(io.ErrOut, "the claim plan replaced %d resources\n", res.Track.Replacements)
			}
		}
		return err
	})
}

type trackOptions struct {
	workspace, build, preset, template, user string
	failOnReplace                            bool
	plan                                     string
	src                                      planSource
	remote                                   remoteOptions
}

func newTrackCmd(io ioStreams, g *globalOptions) *cobra.Command {
	o := &trackOptions{}
	cmd := &cobra.Command{
		Use:   "track --workspace W --build B [--preset P] PLAN",
		Short: "Record what a claim build's plan replaced (the provisioner hook)",
		Long: `Analyze the plan of a claim build and record every resource it replaces,
with paths and reason, once per build (tracking the same build again
changes nothing), and queue a notification for the template's admins.

An unknown workspace and build are recorded as a claim of --preset (for
builds claimdrift did not start), owned by --user.

Exit 0 once recorded; with --fail-on-replace, exit 2 when the plan replaces
something.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.plan = "-"
			if len(args) == 1 {
				o.plan = args[0]
			}
			return runTrack(cmd.Context(), o, io, g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.workspace, "workspace", "", "workspace id (required)")
	f.StringVar(&o.build, "build", "", "build id (required)")
	f.StringVar(&o.preset, "preset", "", "preset (name or id) of an unknown workspace")
	f.StringVar(&o.template, "template", "", "template of the preset (when the name is in several)")
	f.StringVar(&o.user, "user", "", "claimant of an unknown workspace")
	f.BoolVar(&o.failOnReplace, "fail-on-replace", false, "exit 2 when the plan replaces something")
	f.StringVar(&o.src.terraform, "terraform", "", "terraform or tofu binary to show a binary plan file with")
	f.StringVar(&o.src.chdir, "chdir", "", "working directory for 'terraform show'")
	addRemoteFlags(cmd, &o.remote)
	return cmd
}

func runTrack(ctx context.Context, o *trackOptions, io ioStreams, g *globalOptions) error {
	if o.remote.server != "" {
		return runTrackRemote(ctx, o, io)
	}
	ws, err := uuid.Parse(o.workspace)
	if err != nil {
		return usageError{fmt.Errorf("--workspace %q: want a UUID", o.workspace)}
	}
	build, err := uuid.Parse(o.build)
	if err != nil {
		return usageError{fmt.Errorf("--build %q: want a UUID", o.build)}
	}
	rep, err := loadReport(ctx, o.plan, io.In, o.src, analyzer.Options{})
	if err != nil {
		return err
	}
	return withStore(ctx, io, g, func(s poolStore) error {
		req := reconcile.TrackRequest{WorkspaceID: ws, BuildID: build, Claimant: o.user, Replacements: rep.Replacements, Now: time.Now()}
		if o.preset != "" {
			pi, err := findPreset(ctx, s, o.template, o.preset)
			if err != nil {
				return err
			}
			req.PresetID = pi.Preset.ID
		}
		res, err := reconcile.NewPool(s, nil, reconcile.Options{Recipients: notifyRecipients(s, logger(io))}).Track(ctx, req)
		if err != nil {
			return err
		}
		switch {
		case !res.New:
			fmt.Fprintf(io.Out, "build %s was already tracked: %d replacements recorded, nothing changed\n", build, res.Replacements)
		case res.Replacements == 0:
			fmt.Fprintf(io.Out, "build %s tracked: nothing replaced\n", build)
		default:
			fmt.Fprintf(io.Out, "build %s tracked: %d replacements recorded, %d notifications queued\n", build, res.Replacements, res.Queued)
		}
		if o.failOnReplace && res.Replacements > 0 {
			return errFindings
		}
		return nil
	})
}
