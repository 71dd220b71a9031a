package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// globalOptions are the flags every command shares.
type globalOptions struct {
	noColor bool
	db      string
	store   storeOptions // --db-*-timeout, --secret-key-file (pool_cmd.go)
}

func newRootCmd(io ioStreams) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "claimdrift",
		Short: "Find what a Terraform plan replaces, say why, and keep prebuilt workspace pools healthy",
		Long: `claimdrift reads Terraform or OpenTofu plans and finds every resource the
plan will replace and exactly why: the attribute paths that forced it, the
reason, and the values before and after. It records replacements that happen
when prebuilt workspaces are claimed, and reconciles pools of prebuilds.

Exit codes: 0 nothing found or success, 1 error, 2 findings (replacements for
analyze, problems for lint).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().BoolVar(&g.noColor, "no-color", false, "never use color (also NO_COLOR)")

	root.AddCommand(newVersionCmd(io))
	root.AddCommand(newAnalyzeCmd(io, g))
	root.AddCommand(newPresetsCmd(io))
	root.AddCommand(newSimulateCmd(io, g))
	addLintCommands(root, io, g)
	addPoolCommands(root, io, g)
	addNotifyCommands(root, io, g)
	root.AddCommand(newServeCmd(io, g), newTokenCmd(io, g))
	return root
}

func newVersionCmd(io ioStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the claimdrift version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(io.Out, "claimdrift %s\n", buildVersion())
			return err
		},
	}
}

// useColor decides whether output to io.Out may use ANSI color: only on a
// terminal, never with --no-color or NO_COLOR set (https://no-color.org).
func (g *globalOptions) useColor(io ioStreams) bool {
	if g.noColor || !io.OutIsTTY {
		return false
	}
	if io.Getenv != nil && io.Getenv("NO_COLOR") != "" {
		return false
	}
	return true
}
