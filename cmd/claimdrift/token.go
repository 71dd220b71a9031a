package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/api"
)

// tokenStore is what the token commands need from a store.
type tokenStore interface {
	CreateToken(ctx context.Context, t reconcile.APIToken) error
	Tokens(ctx context.Context) ([]reconcile.APIToken, error)
	RevokeToken(ctx context.Context, idOrName string, now time.Time) (reconcile.APIToken, error)
}

func newTokenCmd(io ioStreams, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage the bearer tokens of the serve API (create, list, revoke)",
		Long: `API tokens authenticate requests to "claimdrift serve". Each has a name and
scopes: track (upload plans, Coder notifications), claim (claim prebuilds),
read (presets, history, analyze, the status page), admin (every scope).
claimdrift stores only the SHA-256 of a token: it is printed once, at
creation.`,
	}
	cmd.AddCommand(newTokenCreateCmd(io, g), newTokenListCmd(io, g), newTokenRevokeCmd(io, g))
	return cmd
}

func tokenStoreOf(s poolStore) (tokenStore, error) {
	ts, ok := s.(tokenStore)
	if !ok {
		return nil, fmt.Errorf("store %T keeps no API tokens", s)
	}
	return ts, nil
}

func newTokenCreateCmd(io ioStreams, g *globalOptions) *cobra.Command {
	var name, scopes string
	cmd := &cobra.Command{
		Use:   "create --name N --scope S[,S]",
		Short: "Create a token and print it (once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(name) == "" {
				return usageError{errors.New("--name is required")}
			}
			sc, err := api.ParseScopes(scopes)
			if err != nil {
				return usageError{fmt.Errorf("--scope: %w", err)}
			}
			token, hash, err := api.NewToken()
			if err != nil {
				return err
			}
			return withStore(cmd.Context(), io, g, func(s poolStore) error {
				ts, err := tokenStoreOf(s)
				if err != nil {
					return err
				}
				t := reconcile.APIToken{ID: uuid.New(), Name: name, Scopes: sc, Hash: hash, CreatedAt: time.Now().UTC()}
				if err := ts.CreateToken(cmd.Context(), t); err != nil {
					if errors.Is(err, reconcile.ErrDuplicate) {
						return usageError{fmt.Errorf("a token named %q exists (revoke it or pick another name)", name)}
					}
					return err
				}
				fmt.Fprintln(io.Out, token)
				fmt.Fprintf(io.ErrOut, "token %q (%s, scopes %s) created; it is shown only this once\n", name, t.ID, strings.Join(sc, ","))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the token (unique)")
	cmd.Flags().StringVar(&scopes, "scope", "", "comma-separated scopes: track, claim, read, admin")
	return cmd
}

func newTokenListCmd(io ioStreams, g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list [--format json]",
		Short: "List the tokens (never the tokens themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want text or json", format)}
			}
			return withStore(cmd.Context(), io, g, func(s poolStore) error {
				ts, err := tokenStoreOf(s)
				if err != nil {
					return err
				}
				list, err := ts.Tokens(cmd.Context())
				if err != nil {
					return err
				}
				if format == "json" {
					if list == nil {
						list = []reconcile.APIToken{}
					}
					enc := json.NewEncoder(io.Out)
					enc.SetIndent("", "  ")
					return enc.Encode(list)
				}
				tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
				for _, t := range list {
					revoked := "-"
					if t.Revoked() {
						revoked = t.RevokedAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Scopes, ","), t.CreatedAt.UTC().Format(time.RFC3339), revoked)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output format: text, json")
	return cmd
}

func newTokenRevokeCmd(io ioStreams, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID|NAME",
		Short: "Revoke a token: requests with it are refused (401) from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd.Context(), io, g, func(s poolStore) error {
				ts, err := tokenStoreOf(s)
				if err != nil {
					return err
				}
				t, err := ts.RevokeToken(cmd.Context(), args[0], time.Now().UTC())
				if err != nil {
					return err
				}
				fmt.Fprintf(io.Out, "token %q (%s) revoked\n", t.Name, t.ID)
				return nil
			})
		},
	}
}
