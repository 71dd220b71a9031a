// Package tfshow turns a binary plan file (`terraform plan -out`) into the
// JSON plan document the analyzer reads, by running `terraform show -json`
// (or `tofu show -json`) with a binary whose version matches the plan's.
//
// It is the analyzer's only I/O edge beyond a reader: it finds binaries
// (an explicit path, hc-install's lookup on PATH, tofu on PATH; never the
// working directory),
// asks their versions (terraform-exec), reads the version that wrote the
// plan from the plan file itself, and streams `show -json` output to the
// caller without buffering it whole.
package tfshow
