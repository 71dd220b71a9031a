package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/reconcile"
)

func newPresetCmd(io ioStreams, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "preset", Short: "Manage presets and their pools of prebuilt workspaces"}
	cmd.AddCommand(newPresetAddCmd(io, g), newPresetListCmd(io, g), newPresetResumeCmd(io, g))
	return cmd
}

type presetAddOptions struct {
	template, org, name string
	instances           int
	ttl                 time.Duration
	timezone            string
	schedules           []string
	params              []string
}

func newPresetAddCmd(io ioStreams, g *globalOptions) *cobra.Command {
	o := &presetAddOptions{}
	cmd := &cobra.Command{
		Use:   "add --template T --name P --instances N [--ttl 24h] [--timezone TZ --schedule 'CRON=N' …]",
		Short: "Add a preset (or update the one with that name)",
		Long: `Add a preset to a template, or update the preset of that name: every
setting (instances, TTL, timezone, schedules, parameters) is replaced by
the flags given.

--schedule 'CRON=N' sets the pool size to N while the five-field cron
expression matches the current minute in --timezone (first match wins);
outside every schedule the pool size is --instances.`,
		Example: `  claimdrift preset add --template dev --name small --instances 2 --ttl 24h \
    --param cpu=2 --timezone Europe/Paris --schedule '* 8-18 * * 1-5=5'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPresetAdd(cmd.Context(), o, io, g) },
	}
	f := cmd.Flags()
	f.StringVar(&o.template, "template", "", "template name (required)")
	f.StringVar(&o.org, "org", "", "organization of the template (when the name is in several)")
	f.StringVar(&o.name, "name", "", "preset name (required)")
	f.IntVar(&o.instances, "instances", 0, "prebuilds to keep ready")
	f.DurationVar(&o.ttl, "ttl", 0, "replace prebuilds older than this (0: never)")
	f.StringVar(&o.timezone, "timezone", "", "IANA timezone the schedules are evaluated in (default UTC)")
	f.StringArrayVar(&o.schedules, "schedule", nil, "'CRON=N': keep N prebuilds while CRON matches (repeatable)")
	f.StringArrayVar(&o.params, "param", nil, "'NAME=VALUE' parameter value (repeatable)")
	return cmd
}

func runPresetAdd(ctx context.Context, o *presetAddOptions, io ioStreams, g *globalOptions) error {
	if o.template == "" || o.name == "" {
		return usageError{errors.New("--template and --name are required")}
	}
	spec := reconcile.PresetSpec{TemplateName: o.template, Organization: o.org, Name: o.name, DesiredInstances: o.instances, TTL: o.ttl,
		Timezone: o.timezone, Parameters: map[string]string{}, Now: time.Now()}
	for _, s := range o.schedules {
		sc, err := reconcile.ParseSchedule(s)
		if err != nil {
			return usageError{fmt.Errorf("--schedule: %w", err)}
		}
		spec.Schedules = append(spec.Schedules, sc)
	}
	for _, p := range o.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("--param %q: want 'NAME=VALUE'", p)}
		}
		spec.Parameters[k] = v
	}
	// The store checks the same; checking here first keeps a bad flag from
	// opening (or creating) the database.
	if err := spec.Validate(); err != nil {
		return usageError{err}
	}
	return withStore(ctx, io, g, func(s poolStore) error {
		p, err := s.SavePreset(ctx, spec)
		if err != nil {
			return fmt.Errorf("save preset: %w", err)
		}
		fmt.Fprintln(io.Out, p.ID)
		return nil
	})
}

type presetListOptions struct{ format string }

func newPresetListCmd(io ioStreams, g *globalOptions) *cobra.Command {
	o := &presetListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List presets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.format != "text" && o.format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", o.format)}
			}
			return withStore(cmd.Context(), io, g, func(s poolStore) error {
				list, err := s.Presets(cmd.Context())
				if err != nil {
					return err
				}
				return writePresetList(io, o.format, list)
			})
		},
	}
	cmd.Flags().StringVarP(&o.format, "format", "f", "text", "output format: text, json")
	return cmd
}

type presetJSON struct {
	ID           string               `json:"id"`
	Organization string               `json:"organization"`
	Template     string               `json:"template"`
	Name         string               `json:"name"`
	Instances    int                  `json:"instances"`
	TTLSeconds   int64                `json:"ttl_seconds"`
	Timezone     string               `json:"timezone,omitempty"`
	Schedules    []reconcile.Schedule `json:"schedules"`
	Parameters   map[string]string    `json:"parameters"`
	Status       string               `json:"status"`
	StatusReason string               `json:"status_reason,omitempty"`
	// Unreadable says why the stored parameters or schedules could not be
	// read; they are then empty, and the pool is left as it is.
	Unreadable string `json:"unreadable,omitempty"`
}

func writePresetList(io ioStreams, format string, list []reconcile.PresetInfo) error {
	rows := make([]presetJSON, 0, len(list))
	for _, pi := range list {
		p := pi.Preset
		sc := p.Schedules
		if sc == nil {
			sc = []reconcile.Schedule{}
		}
		rows = append(rows, presetJSON{ID: p.ID.String(), Organization: pi.Template.Organization, Template: pi.Template.Name, Name: p.Name,
			Instances: p.DesiredInstances, TTLSeconds: int64(p.TTL / time.Second), Timezone: p.Timezone, Schedules: sc, Parameters: p.Parameters,
			Status: string(p.Status), StatusReason: p.StatusReason, Unreadable: p.Unreadable})
	}
	if format == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TEMPLATE\tPRESET\tINSTANCES\tTTL\tSCHEDULES\tPARAMETERS\tSTATUS")
	for _, r := range rows {
		var sc []string
		for _, s := range r.Schedules {
			sc = append(sc, fmt.Sprintf("%s=%d", s.Cron, s.Instances))
		}
		if r.Timezone != "" && len(sc) > 0 {
			sc = append(sc, "("+r.Timezone+")")
		}
		keys := make([]string, 0, len(r.Parameters))
		for k := range r.Parameters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var params []string
		for _, k := range keys {
			params = append(params, reconcile.QuoteText(k)+"="+reconcile.QuoteText(r.Parameters[k]))
		}
		ttl := "-"
		if r.TTLSeconds > 0 {
			ttl = (time.Duration(r.TTLSeconds) * time.Second).String()
		}
		status := r.Status
		if r.Unreadable != "" {
			status += " (unreadable: " + reconcile.QuoteText(r.Unreadable) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", reconcile.QuoteText(r.Template), reconcile.QuoteText(r.Name), r.Instances, ttl, orDash(strings.Join(sc, " ")), orDash(strings.Join(params, ",")), status)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newPresetResumeCmd(io ioStreams, g *globalOptions) *cobra.Command {
	var template string
	cmd := &cobra.Command{
		Use:   "resume PRESET",
		Short: "Resume a preset stopped as replacement-prone or at its failure limit",
		Long: `Clear a preset's status so the reconciler creates prebuilds for it again.
Failures and claims before now stop counting toward the failure limit and
the replacement threshold.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return withStore(ctx, io, g, func(s poolStore) error {
				pi, err := findPreset(ctx, s, template, args[0])
				if err != nil {
					return err
				}
				if err := s.ResumePreset(ctx, pi.Preset.ID, time.Now()); err != nil {
					return err
				}
				fmt.Fprintf(io.Out, "preset %s of template %s resumed (was %s)\n", reconcile.QuoteText(pi.Preset.Name), reconcile.QuoteText(pi.Template.Name), pi.Preset.Status)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&template, "template", "", "template of the preset (when the name is in several)")
	return cmd
}
