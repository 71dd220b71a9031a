package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/analyzer"
)

// presetsOptions are the flags of `claimdrift presets`.
type presetsOptions struct {
	plan      string
	format    string
	terraform string
	chdir     string
}

func newPresetsCmd(io ioStreams) *cobra.Command {
	o := &presetsOptions{}
	cmd := &cobra.Command{
		Use:   "presets [PLAN | -]",
		Short: "List the prebuild presets a template's plan declares",
		Long: `List the presets a template declares with data.coder_workspace_preset, as
recorded in a plan: name, parameter values, the prebuild pool size
(instances), the expiration TTL and the scheduling (timezone, cron
schedules with their pool sizes). PLAN is read like 'claimdrift analyze'
reads it (JSON document or binary plan; the plan -json stream does not
carry presets). Sensitive parameter values are masked.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.plan = "-"
			if len(args) == 1 {
				o.plan = args[0]
			}
			return runPresets(cmd.Context(), o, io)
		},
	}
	cmd.Flags().StringVarP(&o.format, "format", "f", "text", "output format: text, json")
	cmd.Flags().StringVar(&o.terraform, "terraform", "", "terraform or tofu binary to show a binary plan file with")
	cmd.Flags().StringVar(&o.chdir, "chdir", "", "working directory for 'terraform show'")
	return cmd
}

func runPresets(ctx context.Context, o *presetsOptions, io ioStreams) error {
	if o.format != "text" && o.format != "json" {
		return usageError{fmt.Errorf("--format %q: want text or json", o.format)}
	}
	rep, err := loadReport(ctx, o.plan, io.In, planSource{terraform: o.terraform, chdir: o.chdir}, analyzer.Options{})
	if err != nil {
		return err
	}
	presets := rep.Presets
	if presets == nil {
		presets = []analyzer.Preset{}
	}
	if o.format == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Schema  string            `json:"schema"`
			Presets []analyzer.Preset `json:"presets"`
		}{"claimdrift.presets/v1", presets})
	}
	if len(presets) == 0 {
		msg := "no presets in this plan (data.coder_workspace_preset)"
		if rep.Input == analyzer.InputPlanStream {
			msg += "; the plan -json stream does not carry them: use terraform show -json PLANFILE"
		}
		_, err := fmt.Fprintln(io.Out, msg)
		return err
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRESET\tINSTANCES\tTTL\tSCHEDULING\tPARAMETERS")
	for _, p := range presets {
		ttl := "-"
		if p.TTLSeconds > 0 {
			ttl = fmt.Sprintf("%ds", p.TTLSeconds)
		}
		sched := "-"
		if len(p.Schedules) > 0 {
			var parts []string
			for _, s := range p.Schedules {
				parts = append(parts, fmt.Sprintf("%q=%d", s.Cron, s.Instances))
			}
			sched = p.Timezone + " " + strings.Join(parts, " ")
		}
		keys := make([]string, 0, len(p.Parameters))
		for k := range p.Parameters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var params []string
		for _, k := range keys {
			params = append(params, k+"="+p.Parameters[k])
		}
		name := p.Name
		if p.Default {
			name += " (default)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", name, p.Instances, ttl, sched, strings.Join(params, ", "))
	}
	return tw.Flush()
}
