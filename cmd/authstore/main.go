// Command authstore runs the authstore authentication server and its tools.
//
//	authstore serve [flags]                run the HTTP server
//	authstore migrate [up|status] [flags]  apply or list database migrations
//	authstore keys list|rotate [flags]     show or rotate the signing keys
//	authstore users list|show|disable|enable|delete   manage users
//	authstore sessions list|revoke         list or revoke sessions
//	authstore import FILE.jsonl | --from-postgres DSN   import users
//	authstore bench [flags]                load-test a server and report
//	authstore version                      print the version
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
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts the drain, a second one kills at once.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "authstore:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `authstore: an authentication service (signup, signin, rotating refresh tokens).

Usage:
  authstore serve [flags]                run the HTTP server (authstore serve --help lists the flags)
  authstore migrate [up|status] [flags]  apply or list database migrations
  authstore keys list|rotate [flags]     show or rotate the signing keys
  authstore users list|show|disable|enable|delete [ID-OR-LOGIN]   manage users
  authstore sessions list USER | revoke SESSION-ID                  list or revoke sessions
  authstore import FILE.jsonl | --from-postgres DSN                 import users, keeping IDs and hashes
  authstore bench [flags]                load-test a server and report (authstore bench --help)
  authstore version                      print the version
`

// run is the whole program; main only adds the process's signals, arguments,
// environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		return keysCmd(ctx, args[1:], getenv, stdout, stderr)
	case "users":
		return usersCmd(ctx, args[1:], getenv, stdout, stderr)
	case "sessions":
		return sessionsCmd(ctx, args[1:], getenv, stdout, stderr)
	case "import":
		return importCmd(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "authstore", version)
		return nil
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}
