package main

import "github.com/spf13/cobra"

// addNotifyCommands registers `admins`, `outbox` and `notify` (issue 6).
func addNotifyCommands(root *cobra.Command, io ioStreams, g *globalOptions) {}
