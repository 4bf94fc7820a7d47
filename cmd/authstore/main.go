// Command authstore runs the authstore authentication server and its tools.
//
//	authstore serve [flags]                run the HTTP server
//	authstore migrate [up|status] [flags]  apply or list database migrations
//	authstore keys list|rotate|retire       show, rotate or remove signing keys
//	authstore users list|show|disable|enable|delete   manage users
//	authstore sessions list|revoke         list or revoke sessions
//	authstore import FILE.jsonl | --from-postgres DSN   import users
//	authstore healthcheck [--url URL]      GET /healthz, for a container's HEALTHCHECK
//	authstore version                      print the version
//
// The load generator is a command of its own, authstore-bench. cli.go
// declares the commands, their flags and their help; each command is in
// the file named after it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/authstore/auth/internal/cmdline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts the drain, a second one kills at once.
	go func() { <-ctx.Done(); stop() }()
	runCtx := ctx
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		runCtx = withTerminal(ctx, os.Stdin)
	} else {
		runCtx = withInput(ctx, os.Stdin)
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

// exitCode is the exit status for err: 0 for --help, 2 for a mistake on
// the command line, 3 for an import that rejected rows, 1 otherwise.
func exitCode(err error) int {
	var r rowsRejectedError
	if errors.As(err, &r) {
		return 3
	}
	return cmdline.ExitCode(err)
}

// usageError is a mistake on the command line; authstore exits with
// status 2 for it.
type usageError = cmdline.UsageError

// run is the whole program; main only adds the process's signals, arguments,
// environment and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{Msg: "no command given"}
	}
	e := cmdEnv{getenv: getenv, stdout: stdout, stderr: stderr}
	for _, c := range commands() {
		if c.name == args[0] || slices.Contains(c.aliases, args[0]) {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprint(stderr, usage)
	return usageError{Msg: fmt.Sprintf("unknown command %q", args[0])}
}

// run runs c with args, the arguments after its name.
func (c command) run(ctx context.Context, e cmdEnv, args []string) error {
	switch {
	case c.raw != nil:
		return c.raw(ctx, e, args)
	case len(c.subs) > 0:
		return c.runGroup(ctx, e, args)
	}
	e.name = c.name
	name := "authstore " + c.name
	if c.args == stdlibFlags {
		name = c.name
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	act := c.flags(fs, e)
	var pos []string
	switch c.args {
	case leadingArg:
		switch {
		case len(args) > 1 && args[0] == "--":
			pos, args = args[1:2], args[2:]
		case len(args) > 0 && isLeadingArg(fs, args[0]):
			pos, args = args[:1], args[1:]
		}
	case argsAnywhere:
		args, pos = cmdline.SplitArgs(fs, args)
	case stdlibFlags:
		fs.SetOutput(e.stderr)
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return err
			}
			return usageError{Msg: err.Error()}
		}
		return act(ctx, e, fs.Args())
	}
	if err := cmdline.Parse(fs, args, e.getenv, e.stderr, c.help); err != nil {
		return err
	}
	e.args = args
	return act(ctx, e, pos)
}

// isLeadingArg reports whether a, the first argument of a leadingArg command,
// is its positional argument rather than a flag: any word that is not a flag
// fs defines nor a request for help, so a key id starting with "-" is taken
// as one.
func isLeadingArg(fs *flag.FlagSet, a string) bool {
	if a == "" {
		return false
	}
	if a[0] != '-' {
		return true
	}
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	return name != "" && name != "h" && name != "help" && fs.Lookup(name) == nil
}

// runGroup runs the subcommand of group c that args[0] names (or its
// default); --help, -h or help prints the group's help and every flag of
// every subcommand.
func (c command) runGroup(ctx context.Context, e cmdEnv, args []string) error {
	var word string
	switch {
	case c.defaultSub != "" && (len(args) == 0 || args[0] == "" || args[0][0] == '-'):
		word = c.defaultSub
	case len(args) == 0:
		return usageError{Msg: c.needSub}
	case c.defaultSub == "" && (args[0] == "--help" || args[0] == "-h" || args[0] == "help"):
		c.printHelp(e)
		return flag.ErrHelp
	default:
		word, args = args[0], args[1:]
	}
	for _, sub := range c.subs {
		if sub.name == c.name+" "+word {
			return sub.run(ctx, e, args)
		}
	}
	if c.unknownSub == "" {
		return usageError{Msg: c.needSub}
	}
	return usageError{Msg: fmt.Sprintf(c.unknownSub, word)}
}

// printHelp writes group c's help to e.stderr, then the flags its
// subcommands share and those each has of its own.
func (c command) printHelp(e cmdEnv) {
	fmt.Fprint(e.stderr, c.help)
	var (
		names []string
		sets  []*flag.FlagSet
	)
	for _, sub := range c.subs {
		fs := flag.NewFlagSet("authstore "+sub.name, flag.ContinueOnError)
		sub.flags(fs, e)
		names, sets = append(names, "authstore "+sub.name), append(sets, fs)
	}
	cmdline.PrintGroupFlags(e.stderr, "authstore "+c.name, names, sets)
}
