package main

import "github.com/spf13/cobra"

// addPoolCommands registers the prebuild pool commands (issue 5).
func addPoolCommands(root *cobra.Command, io ioStreams, g *globalOptions) {}
