package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
)

func newAdminsCmd(io ioStreams, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admins",
		Short: "Manage who hears about replacements: recipients per template, per organization, or by default",
		Long: `A notification goes to the template's own recipients, else to its
organization's, else to the default recipients. With none at all it is
written to the log with a warning.`,
	}
	cmd.AddCommand(newAdminsAddCmd(io, g), newAdminsListCmd(io, g), newAdminsRemoveCmd(io, g))
	return cmd
}

type adminsAddOptions struct {
	template, org      string
	isDefault          bool
	webhook, email     string
	secretFile, format string
}

func newAdminsAddCmd(io ioStreams, g *globalOptions) *cobra.Command {
	o := &adminsAddOptions{}
	cmd := &cobra.Command{
		Use:   "add (--template T | --org O | --default) (--webhook URL [--secret-file F] [--payload generic|slack] | --email ADDR)",
		Short: "Add a recipient",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := o.recipient()
			if err != nil {
				return err
			}
			return withNotifyStore(cmd.Context(), io, g, func(s notifyStore) error {
				got, err := s.AddRecipient(cmd.Context(), r)
				if err != nil {
					return fmt.Errorf("add recipient: %w", err)
				}
				if enc, ok := s.(interface{ SecretsEncrypted() bool }); r.Secret != "" && (!ok || !enc.SecretsEncrypted()) {
					fmt.Fprintln(io.ErrOut, "claimdrift: warning: the webhook secret is stored UNENCRYPTED in the database; pass --secret-key-file (or set CLAIMDRIFT_SECRET_KEY_FILE) to encrypt secrets at rest")
				}
				_, err = fmt.Fprintf(io.Out, "%s\t%s\t%s %s%s\n", got.ID, scopeLabel(got), got.Channel, got.Target(), secretLabel(got))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.template, "template", "", "the template whose admins these are (with --org when the name exists in several organizations)")
	f.StringVar(&o.org, "org", "", "the organization whose admins these are")
	f.BoolVar(&o.isDefault, "default", false, "a default recipient, for templates and organizations with none of their own")
	f.StringVar(&o.webhook, "webhook", "", "POST notifications to this http(s) URL")
	f.StringVar(&o.secretFile, "secret-file", "", "file holding the secret that signs webhook deliveries (HMAC-SHA256)")
	f.StringVar(&o.format, "payload", "generic", "webhook body: generic (claimdrift.notification/v1 JSON) or slack (incoming webhook)")
	f.StringVar(&o.email, "email", "", "mail notifications to this address (notify dispatch --smtp-addr)")
	return cmd
}

func (o *adminsAddOptions) recipient() (notify.Recipient, error) {
	var r notify.Recipient
	switch {
	case o.isDefault && (o.template != "" || o.org != ""):
		return r, usageError{errors.New("--default takes no --template or --org")}
	case o.isDefault:
		r.Scope = notify.ScopeDefault
	case o.template != "":
		r.Scope, r.Template, r.Organization = notify.ScopeTemplate, o.template, o.org
	case o.org != "":
		r.Scope, r.Organization = notify.ScopeOrganization, o.org
	default:
		return r, usageError{errors.New("give --template T, --org O or --default")}
	}
	switch {
	case o.webhook != "" && o.email != "":
		return r, usageError{errors.New("give --webhook or --email, not both")}
	case o.webhook != "":
		r.Channel, r.Address, r.Payload = notify.ChannelWebhook, o.webhook, notify.PayloadFormat(o.format)
		if o.secretFile != "" {
			b, err := os.ReadFile(o.secretFile)
			if err != nil {
				return r, fmt.Errorf("read secret file: %w", err)
			}
			secret := strings.TrimRight(string(b), "\r\n")
			if strings.TrimSpace(secret) == "" {
				return r, usageError{fmt.Errorf("secret file %s is empty", o.secretFile)}
			}
			r.Secret = notify.Secret(secret)
		}
	case o.email != "":
		if o.secretFile != "" || o.format != "generic" {
			return r, usageError{errors.New("--secret-file and --payload apply to --webhook only")}
		}
		r.Channel, r.Address = notify.ChannelEmail, o.email
	default:
		return r, usageError{errNoRecipientFlag}
	}
	if err := r.Validate(); err != nil {
		return r, usageError{err}
	}
	return r, nil
}

func scopeLabel(r notify.Recipient) string {
	switch r.Scope {
	case notify.ScopeTemplate:
		if r.Organization != "" {
			return "template " + reconcile.QuoteText(r.Organization) + "/" + reconcile.QuoteText(r.Template)
		}
		return "template " + reconcile.QuoteText(r.Template)
	case notify.ScopeOrganization:
		return "organization " + reconcile.QuoteText(r.Organization)
	}
	return "default"
}

func secretLabel(r notify.Recipient) string {
	if r.Secret != "" {
		return " (secret set)"
	}
	return ""
}

type recipientJSON struct {
	ID           uuid.UUID `json:"id"`
	Scope        string    `json:"scope"`
	Template     string    `json:"template,omitempty"`
	Organization string    `json:"organization,omitempty"`
	Channel      string    `json:"channel"`
	Target       string    `json:"target"`
	Payload      string    `json:"payload,omitempty"`
	SecretSet    bool      `json:"secret_set"`
}

func newAdminsListCmd(io ioStreams, g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List recipients (secrets are never shown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			return withNotifyStore(cmd.Context(), io, g, func(s notifyStore) error {
				list, err := s.ListRecipients(cmd.Context())
				if err != nil {
					return err
				}
				if format == "json" {
					out := make([]recipientJSON, 0, len(list))
					for _, r := range list {
						out = append(out, recipientJSON{ID: r.ID, Scope: string(r.Scope), Template: r.Template, Organization: r.Organization,
							Channel: string(r.Channel), Target: r.Target(), Payload: string(r.Payload), SecretSet: r.Secret != ""})
					}
					enc := json.NewEncoder(io.Out)
					enc.SetIndent("", "  ")
					return enc.Encode(out)
				}
				if len(list) == 0 {
					_, err := fmt.Fprintln(io.Out, "no recipients: notifications go to the log (add some with `claimdrift admins add`)")
					return err
				}
				tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSCOPE\tCHANNEL\tTARGET\tPAYLOAD\tSECRET")
				for _, r := range list {
					secret := "-"
					if r.Secret != "" {
						secret = "(secret set)"
					}
					payload := string(r.Payload)
					if r.Channel != notify.ChannelWebhook {
						payload = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, scopeLabel(r), r.Channel, r.Target(), payload, secret)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json")
	return cmd
}

func newAdminsRemoveCmd(io ioStreams, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a recipient (an unambiguous id prefix is enough); its queued messages are dead-lettered",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withNotifyStore(cmd.Context(), io, g, func(s notifyStore) error {
				list, err := s.ListRecipients(cmd.Context())
				if err != nil {
					return err
				}
				ids := make([]uuid.UUID, 0, len(list))
				for _, r := range list {
					ids = append(ids, r.ID)
				}
				id, err := resolveID(args[0], "recipient", ids)
				if err != nil {
					return err
				}
				if err := s.RemoveRecipient(cmd.Context(), id); err != nil {
					return err
				}
				_, err = fmt.Fprintf(io.Out, "removed recipient %s\n", id)
				return err
			})
		},
	}
}
