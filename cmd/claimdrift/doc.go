// Command claimdrift finds the resources a Terraform plan replaces, says
// why, and keeps pools of prebuilt workspaces healthy.
//
// This package is the CLI and nothing more: each command parses its flags
// into an options struct and calls a function of analyzer, reconcile or
// notify, which know nothing of cobra. main.go runs the root command with a
// signal-cancelled context; exit.go is the one place that maps errors to
// exit codes (0 success or nothing found, 1 error, 2 findings).
//
// Commands by area: analyze, presets (analyze*.go, presets_cmd.go); lint
// (lint_*.go); template, preset, reconcile, claim, track, status, metrics
// (pool_*.go); admins, outbox, notify (notify_*.go); serve, token and the
// client mode of track and claim (serve*.go, token.go).
package main
