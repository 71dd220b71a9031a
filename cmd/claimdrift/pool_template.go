package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/reconcile"
)

type templateImportOptions struct {
	name, org, version string
	plan               string
	src                planSource
}

func newTemplateCmd(io ioStreams, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "template", Short: "Manage the templates prebuilds are created from"}
	o := &templateImportOptions{}
	imp := &cobra.Command{
		Use:   "import --name T [--org O] [--version V] PLAN",
		Short: "Import a template version and its presets from a plan",
		Long: `Import a template: create it (or find it by name and organization), add the
version (named --version, else the next vN; an existing name is reused) and
make it the active version, then create or update the presets the plan
declares (data.coder_workspace_preset: parameters, prebuilds instances,
expiration_policy ttl, scheduling). Prebuilds of the previous version are
replaced by the next reconcile pass.

PLAN is read like 'claimdrift analyze' reads it (JSON document, stream or
binary plan file).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.plan = args[0]
			return runTemplateImport(cmd.Context(), o, io, g)
		},
	}
	f := imp.Flags()
	f.StringVar(&o.name, "name", "", "template name (required)")
	f.StringVar(&o.org, "org", "", "organization")
	f.StringVar(&o.version, "version", "", "version name (default: the next vN)")
	f.StringVar(&o.src.terraform, "terraform", "", "terraform or tofu binary to show a binary plan file with")
	f.StringVar(&o.src.chdir, "chdir", "", "working directory for 'terraform show'")
	cmd.AddCommand(imp)
	return cmd
}

func runTemplateImport(ctx context.Context, o *templateImportOptions, io ioStreams, g *globalOptions) error {
	if o.name == "" {
		return usageError{errors.New("--name is required")}
	}
	rep, err := loadReport(ctx, o.plan, io.In, o.src, analyzer.Options{})
	if err != nil {
		return err
	}
	if err := analyzer.CheckPresets(rep.Presets); err != nil {
		return fmt.Errorf("template import %s: %w", o.plan, err)
	}
	specs, err := presetSpecs(rep.Presets)
	if err != nil {
		return err
	}
	// The store checks the same; refuse a bad plan before touching the
	// database, naming the preset and the field.
	if err := (reconcile.TemplateImport{Name: o.name, Organization: o.org, Version: o.version, Presets: specs}).Validate(); err != nil {
		return fmt.Errorf("import template: %w", err)
	}
	for _, sp := range specs {
		for k, v := range sp.Parameters {
			if v == analyzer.SensitiveValue || v == analyzer.UnknownValue {
				fmt.Fprintf(io.ErrOut, "warning: preset %q parameter %q is %s in the plan; set it with `claimdrift preset add --param`\n", sp.Name, k, v)
			}
		}
	}
	return withStore(ctx, io, g, func(s poolStore) error {
		res, err := s.ImportTemplate(ctx, reconcile.TemplateImport{Name: o.name, Organization: o.org, Version: o.version, Presets: specs, Now: time.Now()})
		if err != nil {
			return fmt.Errorf("import template: %w", err)
		}
		names := make([]string, 0, len(res.Presets))
		for _, p := range res.Presets {
			names = append(names, fmt.Sprintf("%s (%d)", reconcile.QuoteText(p.Name), p.DesiredInstances))
		}
		fmt.Fprintf(io.Out, "template %s version %s is active (%s); presets: %s\n", reconcile.QuoteText(res.Template.Name), reconcile.QuoteText(res.Version.Name), res.Version.ID, orNone(strings.Join(names, ", ")))
		return nil
	})
}

// presetSpecs converts the presets a plan declares.
func presetSpecs(presets []analyzer.Preset) ([]reconcile.PresetSpec, error) {
	var out []reconcile.PresetSpec
	for _, p := range presets {
		if p.TTLSeconds < 0 || p.TTLSeconds > int64(reconcile.MaxTTL/time.Second) {
			return nil, fmt.Errorf("import template: preset %q: ttl: %d seconds: want 0 to %d: %w", p.Name, p.TTLSeconds, int64(reconcile.MaxTTL/time.Second), reconcile.ErrInvalid)
		}
		spec := reconcile.PresetSpec{Name: p.Name, Parameters: p.Parameters, DesiredInstances: p.Instances,
			TTL: time.Duration(p.TTLSeconds) * time.Second, Timezone: p.Timezone}
		for _, sc := range p.Schedules {
			spec.Schedules = append(spec.Schedules, reconcile.Schedule{Cron: sc.Cron, Instances: sc.Instances})
		}
		out = append(out, spec)
	}
	return out, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
