package main

import (
	"io"
	"os"
)

// ioStreams are the standard streams a command reads and writes; tests
// replace them with buffers.
type ioStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutIsTTY tells whether Out is a terminal (color is only used then).
	OutIsTTY bool
	// Getenv reads the environment; tests substitute their own.
	Getenv func(string) string
}

func ioStreamsFromOS() ioStreams {
	return ioStreams{
		In:       os.Stdin,
		Out:      os.Stdout,
		ErrOut:   os.Stderr,
		OutIsTTY: isTerminal(os.Stdout),
		Getenv:   os.Getenv,
	}
}

// isTerminal reports whether f is a character device (a terminal), without
// pulling in a terminal library.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	return fi.Mode()&os.ModeCharDevice != 0
}
