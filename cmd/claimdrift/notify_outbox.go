package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/notify"
)

func newOutboxCmd(io ioStreams, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "Inspect and retry queued notifications",
	}
	cmd.AddCommand(newOutboxListCmd(io, g), newOutboxRetryCmd(io, g))
	return cmd
}

type outboxJSON struct {
	notify.OutboxEntry
	To string `json:"to"`
}

func newOutboxListCmd(io ioStreams, g *globalOptions) *cobra.Command {
	var status, format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List queued, delivered and dead-lettered notifications (status, attempts, last error)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch status {
			case "", "pending", "delivered", "dead":
			default:
				return usageError{fmt.Errorf("--status %q: want pending, delivered or dead", status)}
			}
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			return withNotifyStore(cmd.Context(), io, g, func(s notifyStore) error {
				entries, err := s.OutboxList(cmd.Context(), status)
				if err != nil {
					return err
				}
				byID, err := recipientsByID(cmd.Context(), s)
				if err != nil {
					return err
				}
				if format == "json" {
					out := make([]outboxJSON, 0, len(entries))
					for _, e := range entries {
						out = append(out, outboxJSON{OutboxEntry: e, To: recipientLabel(e.Recipient, byID)})
					}
					enc := json.NewEncoder(io.Out)
					enc.SetIndent("", "  ")
					return enc.Encode(out)
				}
				if len(entries) == 0 {
					_, err := fmt.Fprintln(io.Out, "outbox is empty")
					return err
				}
				tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATUS\tATTEMPTS\tKIND\tTO\tCREATED\tNEXT/DONE\tLAST ERROR")
				for _, e := range entries {
					when := e.NextAttemptAt
					if e.Status != "pending" {
						when = e.DeliveredAt
					}
					// A receiver's answer is quoted in the error: no escape
					// codes or line breaks from it reach the terminal.
					lastErr := escapeControls(strings.Join(strings.Fields(e.LastError), " "))
					if lastErr == "" {
						lastErr = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Status, e.Attempts, e.Kind, recipientLabel(e.Recipient, byID),
						stamp(e.CreatedAt), stamp(when), lastErr)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only this status: pending, delivered, dead")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json")
	return cmd
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func newOutboxRetryCmd(io ioStreams, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "retry ID",
		Short: "Send a notification again (a dead letter, or one waiting for its next attempt) at the next dispatch",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withNotifyStore(cmd.Context(), io, g, func(s notifyStore) error {
				entries, err := s.OutboxList(cmd.Context(), "")
				if err != nil {
					return err
				}
				ids := make([]uuid.UUID, 0, len(entries))
				for _, e := range entries {
					ids = append(ids, e.ID)
				}
				id, err := resolveID(args[0], "outbox message", ids)
				if err != nil {
					return err
				}
				if err := s.RetryOutboxMessage(cmd.Context(), id, time.Now()); err != nil {
					return err
				}
				_, err = fmt.Fprintf(io.Out, "outbox message %s is due again\n", id)
				return err
			})
		},
	}
}
