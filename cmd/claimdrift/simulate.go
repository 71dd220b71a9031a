package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/render"
	"github.com/claimdrift/claimdrift/analyzer/simulate"
	"github.com/claimdrift/claimdrift/analyzer/tfshow"
)

// simulateOptions are the flags of `claimdrift simulate`.
type simulateOptions struct {
	dir           string
	format        string
	terraform     string
	preset        string
	owner         string
	ownerEmail    string
	ownerName     string
	ownerGroups   []string
	workspaceName string
	vars          []string
	varFiles      []string
	params        []string
	ignore        []string
	claimRefs     []string
	statefulType  []string
	maxValueLen   int
	maxRounds     int
	keepWorkdir   bool
}

func newSimulateCmd(io ioStreams, g *globalOptions) *cobra.Command {
	o := &simulateOptions{}
	cmd := &cobra.Command{
		Use:   "simulate [DIR]",
		Short: "Predict what claiming a prebuilt workspace of a template replaces",
		Long: `Simulate the claim of a prebuilt workspace of the template in DIR (default
.) and report what the claim's plan replaces, as 'claimdrift analyze' does.

For each preset that keeps prebuilds (data.coder_workspace_preset; --preset
picks one; a template without presets runs once with parameter defaults),
claimdrift plans as the prebuild (owner "prebuilds", a generated workspace
name, is_prebuild, the preset's parameter values), turns that plan into a
synthetic state, and plans as the claimant (--owner, --workspace-name,
is_prebuild_claim, the same workspace id) against it with -refresh=false.
The providers decide what is replaced, so the prediction is theirs.
A parameter without a default needs a value from the preset or --param
NAME=VALUE; claimdrift names it when neither gives one.

DIR must be initialized ('terraform init'; with dev_overrides only
'terraform get'). claimdrift works on a private copy in a temporary
directory: it never writes inside DIR, never uses the template's backend
and never applies. Providers are still configured and data sources read
(cloud providers need their credentials, as for any plan).

Instances a claim destroys and creates under another address (count or
for_each keyed by the owner) are reported as re-keyed. Exit code 2 when
the claim replaces or re-keys anything, 0 when it does not, 1 on any error.`,
		Example: `  claimdrift simulate ./templates/docker
  claimdrift simulate --preset Standard --owner bob --format markdown
  claimdrift simulate --var region=eu-west-1 --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.dir = "."
			if len(args) == 1 {
				o.dir = args[0]
			}
			return runSimulate(cmd.Context(), o, io, g.useColor(io))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "f", "text", "output format: "+strings.Join(render.Formats, ", "))
	f.StringVar(&o.terraform, "terraform", "", "terraform or tofu binary to plan with")
	f.StringVar(&o.preset, "preset", "", "simulate only this preset (default: every preset that keeps prebuilds)")
	f.StringVar(&o.owner, "owner", "alice", "the claimant's user name")
	f.StringVar(&o.ownerEmail, "owner-email", "", "the claimant's email (default OWNER@example.com)")
	f.StringVar(&o.ownerName, "owner-name", "", "the claimant's full name")
	f.StringArrayVar(&o.ownerGroups, "owner-group", nil, "a group the claimant belongs to (repeatable; default none)")
	f.StringVar(&o.workspaceName, "workspace-name", "", "the claimed workspace's name (default OWNER-workspace)")
	f.StringArrayVar(&o.vars, "var", nil, "set a variable, NAME=VALUE (repeatable), as terraform plan -var")
	f.StringArrayVar(&o.varFiles, "var-file", nil, "load variables from a file (repeatable), as terraform plan -var-file")
	f.StringArrayVar(&o.params, "param", nil, "a coder parameter's value, NAME=VALUE (repeatable), for parameters the preset does not set")
	f.StringArrayVar(&o.ignore, "ignore", nil, "drop replacements whose type or address matches this glob (repeatable)")
	f.StringArrayVar(&o.claimRefs, "claim-ref", nil, "also treat references matching this glob as claim-sensitive (repeatable)")
	f.StringArrayVar(&o.statefulType, "stateful-type", nil, "also treat resource types matching this glob as holding data (repeatable)")
	f.IntVar(&o.maxValueLen, "max-value-len", 0, "shorten before/after values past this many characters")
	f.IntVar(&o.maxRounds, "max-rounds", simulate.DefaultMaxRounds, "re-plans allowed to settle the synthetic prebuild state")
	f.BoolVar(&o.keepWorkdir, "keep-workdir", false, "keep the private working copy (synthetic state, plans) and name it in the report")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(render.Formats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// runSimulate simulates the claim and prints the reports; errFindings when
// anything is replaced or re-keyed.
func runSimulate(ctx context.Context, o *simulateOptions, streams ioStreams, color bool) error {
	if !slices.Contains(render.Formats, o.format) {
		return usageError{fmt.Errorf("--format %q: want one of %s", o.format, strings.Join(render.Formats, ", "))}
	}
	if o.owner == "" {
		return usageError{fmt.Errorf("--owner must not be empty")}
	}
	params := map[string]string{}
	for _, p := range o.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("--param %q: want NAME=VALUE", p)}
		}
		params[k] = v
	}
	results, err := simulate.Run(ctx, simulate.Options{
		Dir:           o.dir,
		Binary:        tfshow.Options{Explicit: o.terraform, ExtraDirs: toolDirs()},
		Preset:        o.preset,
		Owner:         o.owner,
		OwnerEmail:    o.ownerEmail,
		OwnerName:     o.ownerName,
		OwnerGroups:   o.ownerGroups,
		WorkspaceName: o.workspaceName,
		Vars:          o.vars,
		VarFiles:      o.varFiles,
		Params:        params,
		MaxRounds:     o.maxRounds,
		KeepWorkdir:   o.keepWorkdir,
		Analyzer: analyzer.Options{Ignore: o.ignore, MaxValueLen: o.maxValueLen,
			ClaimRefs: o.claimRefs, StatefulTypes: o.statefulType},
	})
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if err := simulate.Write(streams.Out, o.format, results, render.Options{Color: color, MaxValueLen: o.maxValueLen}); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for i := range results {
		if results[i].HasFindings() {
			return errFindings
		}
	}
	return nil
}
