// Package cmdline is the command-line plumbing the authstore commands share:
// stdlib flag sets whose flags also read AUTHSTORE_* environment variables
// through an injected getenv, one-line errors that name the flag or the
// variable and say what it takes, and --help listing every flag with its
// variable.
//
// It is written for the standard flag package rather than taken from
// peterbourgon/ff: ff reads the environment with os.LookupEnv and offers
// no way to pass the getenv that run(ctx, args, getenv, ...) is given, and
// its errors are worded differently (notes/shape-cmd.md says more).
package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// UsageError is a mistake on the command line; the commands exit with
// status 2 for it.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// ExitCode is the exit status for err: 0 for --help (flag.ErrHelp), 2 for
// a UsageError, 1 for any other error.
func ExitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var u UsageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// Usage returns a UsageError saying msg.
func Usage(msg string) error { return UsageError{Msg: msg} }

// Usagef returns a UsageError saying fmt.Sprintf(format, args...).
func Usagef(format string, args ...any) error {
	return UsageError{Msg: fmt.Sprintf(format, args...)}
}

// BadFlag is a usage error about one flag's value: "--NAME: what is wrong".
func BadFlag(flagName, format string, args ...any) error {
	return UsageError{Msg: fmt.Sprintf("--%s: %s", flagName, fmt.Sprintf(format, args...))}
}

// EnvName returns the environment variable that sets flag name:
// --refresh-ttl is AUTHSTORE_REFRESH_TTL.
func EnvName(flagName string) string {
	return "AUTHSTORE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// FromEnv rewrites a BadFlag error about a flag that took its value from
// its environment variable (and not from args) to name the variable. Any
// other error is returned as it is.
func FromEnv(err error, args []string, getenv func(string) string) error {
	var u UsageError
	if !errors.As(err, &u) || !strings.HasPrefix(u.Msg, "--") {
		return err
	}
	name, rest, ok := strings.Cut(u.Msg[2:], ":")
	if !ok || getenv(EnvName(name)) == "" {
		return err
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if n := strings.TrimLeft(a, "-"); n != a && (n == name || strings.HasPrefix(n, name+"=")) {
			return err
		}
	}
	return UsageError{Msg: EnvName(name) + ":" + rest}
}

// Parse sets fs's flags from their AUTHSTORE_* variables (read with
// getenv), then from args, which must hold flags only. A mistake fails with
// a one-line UsageError naming the flag or variable; --help prints header
// and the flags to stderr and returns flag.ErrHelp.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer, header string) error {
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error; the usage text is
	// printed only for --help, so that a mistake is reported in one line.
	fs.Usage = func() {}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = UsageError{Msg: fmt.Sprintf("%s: %q %s", EnvName(f.Name), v, expected(f))}
			}
		}
	})
	if err != nil {
		return err
	}
	if perr := fs.Parse(args); perr != nil {
		if errors.Is(perr, flag.ErrHelp) {
			fmt.Fprint(stderr, header)
			PrintFlags(stderr, fs)
			return flag.ErrHelp
		}
		return UsageError{Msg: explainParseError(fs, perr)}
	}
	if fs.NArg() > 0 {
		return UsageError{Msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// PrintFlags writes the help lines of every flag of fs to w: the flag, its
// variable, its usage and its default.
func PrintFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) { printFlag(w, f) })
}

func printFlag(w io.Writer, f *flag.Flag) {
	fmt.Fprintf(w, "  --%s (%s)\n    \t%s (default %q)\n", f.Name, EnvName(f.Name), f.Usage, f.DefValue)
}

// PrintGroupFlags writes the flags of the subcommands of group to w: first
// the ones all of them share (same name, usage and default), then, under
// each subcommand's name, the rest of its own.
func PrintGroupFlags(w io.Writer, group string, names []string, sets []*flag.FlagSet) {
	same := func(a, b *flag.Flag) bool {
		return b != nil && a.Usage == b.Usage && a.DefValue == b.DefValue
	}
	shared := map[string]bool{}
	sets[0].VisitAll(func(f *flag.Flag) {
		for _, fs := range sets[1:] {
			if !same(f, fs.Lookup(f.Name)) {
				return
			}
		}
		shared[f.Name] = true
	})
	if len(sets) > 1 && len(shared) > 0 {
		fmt.Fprintf(w, "Flags of every %s command:\n", group)
		sets[0].VisitAll(func(f *flag.Flag) {
			if shared[f.Name] {
				printFlag(w, f)
			}
		})
	}
	for i, fs := range sets {
		header := false
		fs.VisitAll(func(f *flag.Flag) {
			if len(sets) > 1 && shared[f.Name] {
				return
			}
			if !header {
				fmt.Fprintf(w, "\nFlags of %s:\n", names[i])
				header = true
			}
			printFlag(w, f)
		})
	}
}

// SplitArgs separates the flags of fs (with their values) from positional
// arguments, which may come before, between or after them; everything after
// "--" is positional.
func SplitArgs(fs *flag.FlagSet, args []string) (flags, pos []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return flags, append(pos, args[i+1:]...)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if needsValue(fs, a) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	return flags, pos
}

// needsValue reports whether arg is a flag of fs given without "=value",
// so that the next argument is its value.
func needsValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// explainParseError rewrites an error of fs.Parse to name the flag as it is
// written (--name) and say what it takes: `--db-timeout: "5" is not a
// duration (e.g. 5s)`.
func explainParseError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	// The flag package's complaint about a value.
	flagValueError := regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-(\S+): `)
	if m := flagValueError.FindStringSubmatch(msg); m != nil {
		if f := fs.Lookup(m[2]); f != nil {
			return fmt.Sprintf("--%s: %q %s", f.Name, m[1], expected(f))
		}
	}
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return fmt.Sprintf("unknown flag --%s (--help lists the flags)", strings.TrimLeft(name, "-"))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("--%s needs a value", strings.TrimLeft(name, "-"))
	}
	return msg
}

// expected says what kind of value flag f takes, as the end of a sentence
// whose subject is the value refused.
func expected(f *flag.Flag) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return "is not valid"
	}
	switch g.Get().(type) {
	case time.Duration:
		return "is not a duration (e.g. 5s, 10m or 1h30m)"
	case bool:
		return "is not a boolean (true or false)"
	case int, int64, uint, uint64:
		if strings.HasSuffix(f.Name, "-bytes") || strings.HasSuffix(f.Name, "memory-limit") {
			return "is not a size in bytes (a whole number, e.g. 65536)"
		}
		return "is not a whole number"
	case float64:
		return "is not a number"
	}
	return "is not valid"
}

// StringList is a flag that may be repeated; each use adds one value.
type StringList []string

func (l *StringList) String() string { return strings.Join(*l, " ") }

// Set adds v to the list.
func (l *StringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
