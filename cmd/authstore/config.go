package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// serveConfig is everything `authstore serve` can be told.
type serveConfig struct {
	Addr              string
	DB                string
	Issuer            string
	Audience          string
	AccessTTL         time.Duration
	RefreshTTL        time.Duration
	RefreshGrace      time.Duration
	SigningAlg        string
	CORSOrigins       string
	PasswordMaxLength int
	LogFormat         string
	LogLevel          string
	MaxBodyBytes      int64
}

// envName returns the environment variable that sets flag name:
// --refresh-ttl is AUTHSTORE_REFRESH_TTL.
func envName(flagName string) string {
	return "AUTHSTORE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseServeFlags reads the serve flags from args, with AUTHSTORE_* variables
// as defaults. A bad value fails with one line naming the flag or variable.
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("authstore serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Addr, "addr", ":8080", "address to listen on, host:port")
	fs.StringVar(&c.DB, "db", "authstore.db", "database: a file path (SQLite)")
	fs.StringVar(&c.Issuer, "issuer", "authstore", "the iss claim of access tokens")
	fs.StringVar(&c.Audience, "audience", "authstore", "the aud claim of access tokens (empty: none)")
	fs.DurationVar(&c.AccessTTL, "access-ttl", 20*time.Minute, "access token lifetime")
	fs.DurationVar(&c.RefreshTTL, "refresh-ttl", 720*time.Hour, "refresh token lifetime from its issue")
	fs.DurationVar(&c.RefreshGrace, "refresh-grace", 10*time.Second, "window in which a just-rotated refresh token returns the current one (0 disables)")
	fs.StringVar(&c.SigningAlg, "signing-alg", "EdDSA", "access token signature: EdDSA, ES256 or RS256")
	fs.StringVar(&c.CORSOrigins, "cors-origins", "*", "comma-separated allowed browser origins, or * for any (always with credentials)")
	fs.IntVar(&c.PasswordMaxLength, "password-max-length", 128, "longest accepted password, in characters (at least 64)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 64<<10, "largest accepted request body in bytes")
	// The flag package calls Usage on every parse error; the usage text is
	// printed only for --help, so that a mistake is reported in one line.
	fs.Usage = func() {}
	printUsage := func() {
		fmt.Fprintf(stderr, "Usage: authstore serve [flags]\n\nEach flag can also be set by the environment variable shown.\nAUTHSTORE_SECRET_KEY holds the secret key (base64 or hex, 32 bytes or more);\nwithout it a key file is created beside the database (FILE.key, mode 0600).\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  --%s (%s)\n    \t%s (default %q)\n", f.Name, envName(f.Name), f.Usage, f.DefValue)
		})
	}

	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = usageError{fmt.Sprintf("invalid value %q for %s: %v", v, envName(f.Name), unwrapFlagErr(serr))}
			}
		}
	})
	if err != nil {
		return c, err
	}
	if perr := fs.Parse(args); perr != nil {
		if errors.Is(perr, flag.ErrHelp) {
			printUsage()
			return c, flag.ErrHelp
		}
		return c, usageError{perr.Error()}
	}
	if fs.NArg() > 0 {
		return c, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return c, c.check()
}

func unwrapFlagErr(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// check refuses values the server could not run with.
func (c serveConfig) check() error {
	bad := func(flagName, format string, args ...any) error {
		return usageError{fmt.Sprintf("invalid value for --%s: %s", flagName, fmt.Sprintf(format, args...))}
	}
	switch {
	case c.Addr == "":
		return bad("addr", "must not be empty")
	case c.DB == "":
		return bad("db", "must not be empty")
	case c.AccessTTL <= 0:
		return bad("access-ttl", "must be positive")
	case c.RefreshTTL <= 0:
		return bad("refresh-ttl", "must be positive")
	case c.RefreshGrace < 0:
		return bad("refresh-grace", "must not be negative")
	case c.RefreshGrace >= c.RefreshTTL:
		return bad("refresh-grace", "must be shorter than --refresh-ttl")
	case c.PasswordMaxLength < 64 || c.PasswordMaxLength > 4096:
		return bad("password-max-length", "must be between 64 and 4096")
	case strings.TrimSpace(strings.ReplaceAll(c.CORSOrigins, ",", "")) == "":
		return bad("cors-origins", "must be * (any origin) or a list of origins")
	case c.MaxBodyBytes < 1024:
		return bad("max-body-bytes", "must be at least 1024")
	}
	switch c.SigningAlg {
	case "EdDSA", "ES256", "RS256":
	default:
		return bad("signing-alg", "%q is not one of EdDSA, ES256, RS256", c.SigningAlg)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return bad("log-format", "%q is not text or json", c.LogFormat)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return bad("log-level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// corsOrigins returns the configured origin list; nil means any origin.
func (c serveConfig) corsOrigins() []string {
	var out []string
	for o := range strings.SplitSeq(c.CORSOrigins, ",") {
		o = strings.TrimSpace(o)
		if o == "*" {
			return nil
		}
		if o != "" {
			out = append(out, o)
		}
	}
	return out
}

func (c serveConfig) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel)) // checked by check
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
