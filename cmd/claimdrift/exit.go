package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
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
	msg = escapeControls(msg)
	// The README promises one line on stderr, usage errors included.
	var ue usageError
	if errors.As(err, &ue) {
		msg += " (see 'claimdrift --help')"
	}
	fmt.Fprintf(io.ErrOut, "claimdrift: %s\n", msg)
	return exitError
}

// escapeControls replaces control characters (escape codes, carriage
// returns) and invalid UTF-8 with Go escapes, so that an error quoting a
// hostile name cannot rewrite the terminal or forge a log line.
func escapeControls(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
