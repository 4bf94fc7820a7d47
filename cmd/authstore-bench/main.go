// Command authstore-bench load-tests an authstore server and reports
// throughput, latency percentiles and, for a server it starts itself, the
// server's memory and CPU time per request.
//
//	authstore-bench [flags]   (authstore-bench --help lists the flags)
//
// It is a command of its own, apart from authstore, so that the server
// binary does not link the load generator and its plotting library.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/authstore/auth/internal/cmdline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal ends the run, a second one kills at once.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "authstore-bench:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitCode is 0 for --help, 2 for a mistake on the command line and 1 for
// any other error.
func exitCode(err error) int { return cmdline.ExitCode(err) }

// run is the whole program; main only adds the process's signals,
// arguments, environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	return loadTest(ctx, cfg, stdout, stderr)
}
