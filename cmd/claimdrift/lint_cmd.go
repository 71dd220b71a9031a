package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/lint"
)

// addLintCommands registers `lint` and `presets` (issue 4).
func addLintCommands(root *cobra.Command, io ioStreams, g *globalOptions) {
	root.AddCommand(newLintCmd(io, g))
	// The `presets` command (plan-based, issue 4) is registered here too.
}

// lintOptions are the flags of `claimdrift lint`.
type lintOptions struct {
	dirs      []string
	format    string
	failOn    string
	claimRefs []string
	plan      string
	terraform string
}

func newLintCmd(io ioStreams, g *globalOptions) *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint [DIR...]",
		Short: "Find template resources that claiming a prebuilt workspace would replace, without running terraform",
		Long: `Read the .tf files of workspace templates (each DIR, default the current
directory, and the local modules it calls) and report every managed resource
attribute that depends on a claim-sensitive value and that no
lifecycle.ignore_changes covers. Values are followed through locals,
variables, module inputs and outputs, data sources, other resources'
arguments, the computed values of resources a claim replaces (the
coder_agent token and init script), count/for_each and dynamic blocks.
Modules that are not local are reported as not read. For an exact answer,
run claimdrift simulate (terraform plans a real claim).

Claim-sensitive by default: every attribute of data.coder_workspace_owner,
name, owner*, is_prebuild, is_prebuild_claim and prebuild_count of
data.coder_workspace, and data.coder_external_auth.*.access_token.
Add more with --claim-ref (dot-separated glob steps, e.g. var.owner; var,
local and module patterns apply in the root module).

Severity: error when claimdrift's table knows the attribute forces
replacement, warning when it does not know, info when the provider updates
the attribute in place. ignore_changes = all is a warning (too broad), info
on a resource that holds data (volumes, disks). A module lint cannot read
(registry, git, missing) is a warning; count/for_each that follow a
claim-sensitive value, and more than one default preset, are errors.

With --plan (one DIR only), the findings are checked against a plan's real
replacements (the plan of a claim: JSON, 'terraform plan -json' stream, or a
binary plan file shown with terraform in DIR), and replacements the static
pass missed are reported; a plan of another template is an error.

Exit code 2 when a finding is at or above --fail-on, 0 when none is, 1 on
any error (a file that does not parse is reported as file:line: message).`,
		Example: `  claimdrift lint ./templates/docker
  claimdrift lint --format sarif > lint.sarif
  claimdrift lint --format github --fail-on warning
  claimdrift lint --claim-ref var.owner --plan claim.json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.dirs = args
			if len(o.dirs) == 0 {
				o.dirs = []string{"."}
			}
			return runLint(cmd.Context(), o, io, g.useColor(io))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "f", "text", "output format: "+strings.Join(lint.Formats, ", "))
	f.StringVar(&o.failOn, "fail-on", "error", "exit 2 when a finding has this severity or a higher one: error, warning or info")
	f.StringArrayVar(&o.claimRefs, "claim-ref", nil, "also treat references matching this pattern as claim-sensitive (repeatable), e.g. var.owner")
	f.StringVar(&o.plan, "plan", "", "confirm the findings against this plan's replacements (JSON, plan -json stream or binary plan file)")
	f.StringVar(&o.terraform, "terraform", "", "terraform or tofu binary to show a binary --plan file with")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(lint.Formats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"error", "warning", "info"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// runLint lints the template, prints the findings and returns errFindings
// when one is at or above --fail-on.
func runLint(ctx context.Context, o *lintOptions, io ioStreams, color bool) error {
	if !slices.Contains(lint.Formats, o.format) {
		return usageError{fmt.Errorf("--format %q: want one of %s", o.format, strings.Join(lint.Formats, ", "))}
	}
	failOn, err := lint.ParseSeverity(o.failOn)
	if err != nil {
		return usageError{fmt.Errorf("--fail-on: %w", err)}
	}
	if o.plan != "" && len(o.dirs) > 1 {
		return usageError{fmt.Errorf("--plan is the plan of one template: give one directory, not %d", len(o.dirs))}
	}
	var results []*lint.Result
	for _, dir := range o.dirs {
		res, err := lintDir(ctx, o, dir, io)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	res := lint.Merge(results...)
	if err := lint.Write(io.Out, o.format, res, lint.WriteOptions{Color: color, ToolVersion: buildVersion()}); err != nil {
		return fmt.Errorf("write findings: %w", err)
	}
	if res.AtLeast(failOn) {
		return errFindings
	}
	return nil
}

// lintDir lints one template directory and, with --plan, confirms its
// findings against the plan.
func lintDir(ctx context.Context, o *lintOptions, dir string, io ioStreams) (*lint.Result, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, usageError{fmt.Errorf("lint %s: not a directory", dir)}
	}
	prefix := filepath.ToSlash(filepath.Clean(dir))
	if prefix == "." {
		prefix = ""
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	res, err := lint.Lint(os.DirFS(dir), lint.Options{ClaimRefs: o.claimRefs, PathPrefix: prefix, Root: root})
	if err != nil {
		return nil, err
	}
	if o.plan != "" {
		rep, err := loadReport(ctx, o.plan, io.In, planSource{terraform: o.terraform, chdir: dir}, analyzer.Options{ClaimRefs: o.claimRefs})
		if err != nil {
			return nil, err
		}
		if err := lint.Confirm(res, rep); err != nil {
			return nil, fmt.Errorf("lint --plan %s: %w", o.plan, err)
		}
	}
	return res, nil
}
