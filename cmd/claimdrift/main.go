package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], ioStreamsFromOS())
	stop()
	os.Exit(code)
}

// run builds the root command, executes it and maps its error to an exit
// code. It is what the end-to-end tests call in-process.
func run(ctx context.Context, args []string, io ioStreams) int {
	root := newRootCmd(io)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return exitCode(err, io)
}
