// Command authstore runs the authstore authentication server and its tools.
//
//	authstore serve [flags]                run the HTTP server
//	authstore migrate [up|status] [flags]  apply or list database migrations
//	authstore keys list|rotate|retire       show, rotate or remove signing keys
//	authstore users list|show|disable|enable|delete   manage users
//	authstore sessions list|revoke         list or revoke sessions
//	authstore import FILE.jsonl | --from-postgres DSN   import users
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
	"runtime/debug"
	"syscall"

	"github.com/authstore/auth/internal/cmdline"
)

// version is set at build time with -ldflags "-X main.version=..."; "dev"
// defers to the module version in the build info.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts the drain, a second one kills at once.
	go func() { <-ctx.Done(); stop() }()
	runCtx := ctx
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		runCtx = withTerminal(ctx, os.Stdin)
	}
	err := run(runCtx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
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
	var r rowsRejectedError
	if errors.As(err, &r) {
		return 3
	}
	return 1
}

// versionLine describes this build from its build info (ok false: none):
// the version (-ldflags -X main.version, else the module's), and the VCS
// revision, its commit time and whether the tree had uncommitted changes,
// when the build recorded them (go build in a checkout does; go run and
// go test do not). Go records no build time: the commit time stands in.
func versionLine(bi *debug.BuildInfo, ok bool) string {
	v := version
	if !ok {
		return "authstore " + v
	}
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	out := "authstore " + v
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if r := settings["vcs.revision"]; r != "" {
		out += " revision " + r
		if settings["vcs.modified"] == "true" {
			out += " (dirty)"
		}
		if t := settings["vcs.time"]; t != "" {
			out += " committed " + t
		}
	}
	return out + " " + bi.GoVersion
}

// usageError is a mistake on the command line; authstore exits with
// status 2 for it.
type usageError = cmdline.UsageError

const usage = `authstore: an authentication service (signup, signin, rotating refresh tokens).

Usage:
  authstore serve [flags]                run the HTTP server (authstore serve --help lists the flags)
  authstore migrate [up|status] [flags]  apply or list database migrations
  authstore keys list|rotate|retire       show, rotate or remove signing keys (authstore keys --help)
  authstore users list|show|disable|enable|delete [ID-OR-LOGIN]   manage users
  authstore sessions list USER | revoke SESSION-ID                  list or revoke sessions
  authstore import FILE.jsonl | --from-postgres DSN                 import users, keeping IDs and hashes
  authstore version                      print the version

The load generator is a command of its own: authstore-bench (authstore-bench --help).
`

// run is the whole program; main only adds the process's signals, arguments,
// environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{Msg: "no command given"}
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
		return benchMoved(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionLine(debug.ReadBuildInfo()))
		return nil
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{Msg: fmt.Sprintf("unknown command %q", args[0])}
}
