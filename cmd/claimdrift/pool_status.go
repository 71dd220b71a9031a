package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/reconcile"
)

func newStatusCmd(io ioStreams, g *globalOptions) *cobra.Command {
	var format string
	var pol policyOptions
	cmd := &cobra.Command{
		Use:   "status [--format json]",
		Short: "Show every preset's pool: desired, running, eligible, in progress, claims, replacements, status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			p, err := pol.policy()
			if err != nil {
				return err
			}
			return withStore(cmd.Context(), io, g, func(s poolStore) error {
				states, err := reconcile.NewPool(s, nil, reconcile.Options{Policy: p}).Status(cmd.Context())
				if err != nil {
					return err
				}
				return writeStatus(io, format, states)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output format: text, json")
	addPolicyFlags(cmd, &pol)
	return cmd
}

func writeStatus(io ioStreams, format string, states []reconcile.PresetState) error {
	if states == nil {
		states = []reconcile.PresetState{}
	}
	if format == "json" {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(states)
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TEMPLATE\tPRESET\tDESIRED\tRUNNING\tELIGIBLE\tIN PROGRESS\tCLAIMS\tREPLACED\tSTATUS")
	for _, s := range states {
		status := string(s.Status)
		if s.StatusReason != "" && s.Status != reconcile.StatusHealthy {
			status += " (" + s.StatusReason + ")"
		}
		// Blocked repeats a paused status's reason, said just before.
		if s.Blocked != "" && (s.Status == reconcile.StatusHealthy || !strings.HasPrefix(s.Blocked, "preset is "+string(s.Status)+":")) {
			status += " (" + s.Blocked + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", reconcile.QuoteText(s.Template), reconcile.QuoteText(s.Preset), s.Desired, s.Running, s.Eligible, s.InProgress, s.Claims, s.ClaimsReplaced, status)
	}
	return tw.Flush()
}

func newMetricsCmd(io ioStreams, g *globalOptions) *cobra.Command {
	var pol policyOptions
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "Print the pool's Prometheus metrics once (text exposition format), from the store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := pol.policy()
			if err != nil {
				return err
			}
			return withStore(cmd.Context(), io, g, func(s poolStore) error {
				reg := prometheus.NewRegistry()
				if err := reconcile.NewCollector(s, reconcile.CollectorOptions{Policy: p, Logger: logger(io)}).Register(reg); err != nil {
					return err
				}
				families, err := reg.Gather()
				if err != nil {
					return fmt.Errorf("gather metrics: %w", err)
				}
				enc := expfmt.NewEncoder(io.Out, expfmt.NewFormat(expfmt.TypeTextPlain))
				for _, mf := range families {
					if err := enc.Encode(mf); err != nil {
						return fmt.Errorf("write metrics: %w", err)
					}
				}
				return nil
			})
		},
	}
	addPolicyFlags(cmd, &pol)
	return cmd
}
