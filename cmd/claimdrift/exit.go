package main

import (
	"errors"
	"fmt"
	"strings"
)

// Exit codes, the same for every command (see DESIGN.md).
const (
	exitOK       = 0 // nothing found, or success
	exitError    = 1 // bad input, I/O error, usage error
	exitFindings = 2 // replacements (analyze), problems (lint)
)

// errFindings is returned by a command that ran fine and found what it looks
// for; it maps to exit code 2 and prints nothing more.
var errFindings = errors.New("findings")

// usageError marks errors in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode maps a command's error to the process exit code and prints the
// error as one line on stderr. It is the only place that does so.
func exitCode(err error, io ioStreams) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errFindings):
		return exitFindings
	}
	msg := strings.TrimSpace(err.Error())
	// One clear line: fold any newlines from wrapped errors.
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
	fmt.Fprintf(io.ErrOut, "claimdrift: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(io.ErrOut, "Run 'claimdrift --help' for usage.")
	}
	return exitError
}
