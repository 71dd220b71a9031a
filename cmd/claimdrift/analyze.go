package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/render"
	"github.com/claimdrift/claimdrift/analyzer/tfshow"
)

// analyzeOptions are the flags of `claimdrift analyze`.
type analyzeOptions struct {
	plan         string
	format       string
	ignore       []string
	terraform    string
	chdir        string
	maxValueLen  int
	stepSummary  string
	claimRefs    []string
	statefulType []string
}

func newAnalyzeCmd(io ioStreams, g *globalOptions) *cobra.Command {
	o := &analyzeOptions{}
	cmd := &cobra.Command{
		Use:   "analyze [PLAN | -]",
		Short: "List every resource a plan replaces, and why",
		Long: `Analyze a Terraform or OpenTofu plan and list every resource it will
replace: the attribute paths that forced it, the reason, the order, and the
values before and after at each path. Resources changed outside Terraform
(drift) and a summary of all planned actions are included.

PLAN may be (told apart by content, not by name):
  - the JSON document of 'terraform show -json PLANFILE' (or tofu),
  - the stream of 'terraform plan -json' (no attribute paths in it),
  - a binary plan file from 'terraform plan -out PLANFILE': claimdrift runs
    'terraform show -json' on it with a binary of the version that wrote it
    (--terraform, else terraform on PATH, else tofu on PATH).
Without PLAN, or with "-", the plan is read from standard input.

Sensitive values are never printed. Exit code 2 when anything is replaced,
0 when nothing is, 1 on any error.`,
		Example: `  terraform plan -out plan.tfplan && terraform show -json plan.tfplan | claimdrift analyze
  claimdrift analyze plan.tfplan --format markdown > comment.md
  terraform plan -json | claimdrift analyze --format github
  claimdrift analyze plan.json --ignore 'coder_*' --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.plan = "-"
			if len(args) == 1 {
				o.plan = args[0]
			}
			if o.stepSummary == "" && io.Getenv != nil {
				o.stepSummary = io.Getenv("GITHUB_STEP_SUMMARY")
			}
			return runAnalyze(cmd.Context(), o, io, g.useColor(io))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "f", "text", "output format: "+strings.Join(render.Formats, ", "))
	f.StringArrayVar(&o.ignore, "ignore", nil, "drop replacements whose type or address matches this glob ('*' and '?'; repeatable), e.g. 'coder_*'")
	f.StringVar(&o.terraform, "terraform", "", "terraform or tofu binary to show a binary plan file with")
	f.StringVar(&o.chdir, "chdir", "", "working directory for 'terraform show' (the initialized directory a binary plan came from)")
	f.StringArrayVar(&o.claimRefs, "claim-ref", nil, "also treat references matching this glob as claim-sensitive (repeatable), e.g. 'var.owner'")
	f.StringArrayVar(&o.statefulType, "stateful-type", nil, "also treat resource types matching this glob as holding data: high risk (repeatable)")
	f.IntVar(&o.maxValueLen, "max-value-len", 0, "shorten before/after values past this many characters (0: 120 in text formats, 1024 in json)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(render.Formats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// runAnalyze reads the plan, prints the report and returns errFindings when
// the plan replaces something.
func runAnalyze(ctx context.Context, o *analyzeOptions, streams ioStreams, color bool) error {
	if !slices.Contains(render.Formats, o.format) {
		return usageError{fmt.Errorf("--format %q: want one of %s", o.format, strings.Join(render.Formats, ", "))}
	}
	if err := validateGlobs("--ignore", o.ignore); err != nil {
		return err
	}
	if err := validateGlobs("--claim-ref", o.claimRefs); err != nil {
		return err
	}
	if _, err := analyzer.NewClaimMatcher(o.claimRefs); err != nil {
		return usageError{err}
	}
	if hint := configHint(o.plan); hint != "" {
		return errors.New(hint)
	}
	if o.maxValueLen < 0 {
		return usageError{fmt.Errorf("--max-value-len %d: must not be negative", o.maxValueLen)}
	}
	if o.plan == "-" {
		if f, ok := streams.In.(*os.File); ok && isTerminal(f) {
			return usageError{errors.New("no plan given: pass a plan file or pipe one in (terraform show -json PLANFILE | claimdrift analyze)")}
		}
	}
	rep, err := loadReport(ctx, o.plan, streams.In, planSource{terraform: o.terraform, chdir: o.chdir},
		analyzer.Options{Ignore: o.ignore, MaxValueLen: o.maxValueLen, ClaimRefs: o.claimRefs, StatefulTypes: o.statefulType})
	if err != nil {
		return err
	}
	ropts := render.Options{Color: color, MaxValueLen: o.maxValueLen}
	if err := render.Write(streams.Out, o.format, rep, ropts); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if o.format == "github" && o.stepSummary != "" {
		if err := appendFile(o.stepSummary, func(w io.Writer) error { return render.Markdown(w, rep, ropts) }); err != nil {
			return fmt.Errorf("write job summary: %w", err)
		}
	}
	if rep.HasReplacements() {
		return errFindings
	}
	return nil
}

// planSource says how to turn a binary plan file into JSON.
type planSource struct {
	terraform string
	chdir     string
}

// loadReport opens a plan (file path or "-" for stdin; JSON document,
// plan -json stream or binary plan file) and analyzes it.
func loadReport(ctx context.Context, path string, stdin io.Reader, src planSource, opts analyzer.Options) (*analyzer.Report, error) {
	name := path
	if name == "-" {
		name = "standard input"
	}
	rc, err := tfshow.OpenPlan(ctx, path, stdin, tfshow.OpenOptions{
		Options: tfshow.Options{Explicit: src.terraform, ExtraDirs: toolDirs()},
		Dir:     src.chdir,
	})
	if err != nil {
		return nil, err
	}
	rep, err := analyzer.Analyze(rc, opts)
	closeErr := rc.Close()
	if closeErr != nil {
		// A failed `terraform show` explains a truncated stream better.
		return nil, fmt.Errorf("read plan %s: %w", name, closeErr)
	}
	if err != nil {
		return nil, fmt.Errorf("read plan %s: %w", name, err)
	}
	return rep, nil
}

// toolDirs are searched for terraform after PATH: none. A binary is never
// taken from the working directory (./.tools/bin of whatever repository
// the command runs in); `make` puts the project's .tools/bin on PATH, and
// --terraform names any other.
func toolDirs() []string { return nil }

// appendFile opens name for appending and lets fn write to it.
func appendFile(name string, fn func(w io.Writer) error) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// configHint explains, for a path that names Terraform configuration (a .tf
// or .tf.json file, or a directory) rather than a plan, which command reads
// it; "" for anything else.
func configHint(path string) string {
	if path == "-" {
		return ""
	}
	const use = "claimdrift lint %s checks a template's .tf files without running terraform; analyze reads a plan (terraform plan -out plan.tfplan, then claimdrift analyze plan.tfplan)"
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Sprintf("read plan %s: is a directory: "+use, path, path)
	}
	if strings.HasSuffix(path, ".tf") || strings.HasSuffix(path, ".tf.json") {
		return fmt.Sprintf("%s is Terraform configuration, not a plan: "+use, path, filepath.Dir(path))
	}
	return ""
}
