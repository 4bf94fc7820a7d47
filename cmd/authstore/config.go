package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"
)

// serveConfig is everything `authstore serve` can be told.
type serveConfig struct {
	Addr              string
	NoMigrate         bool
	Issuer            string
	Audience          string
	AccessTTL         time.Duration
	RefreshTTL        time.Duration
	RefreshGrace      time.Duration
	SigningAlg        string
	CORSOrigins       string
	PasswordMaxLength int
	PasswordMinLength int
	PasswordBlocklist string
	LogFormat         string
	LogLevel          string
	MaxBodyBytes      int64
	IPRateLimit       int
	IPRefreshLimit    int
	SubnetRateLimit   int
	TrustedProxies    string
	Metrics           bool
	PprofAddr         string
	MemoryLimit       int64
	ShutdownDelay     time.Duration

	db   dbConfig
	keys keysConfig
}

// dbConfig is how a command reaches the database and the secret key.
type dbConfig struct {
	DB            string
	SecretKeyFile string
	MaxConns      int
	Timeout       time.Duration
	SQLiteSync    string
}

// addFlags defines the database flags on fs.
func (c *dbConfig) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", "authstore.db", "database: a SQLite file path, or postgres://user:pass@host:port/dbname?sslmode=...")
	fs.StringVar(&c.SecretKeyFile, "secret-key-file", "", "file holding the secret key (default: AUTHSTORE_SECRET_KEY, else FILE.key beside a SQLite database)")
	fs.IntVar(&c.MaxConns, "db-max-conns", 0, "database connections per instance: the PostgreSQL pool, SQLite's readers (0: 10 for PostgreSQL, max(4, CPUs) for SQLite)")
	fs.DurationVar(&c.Timeout, "db-timeout", 5*time.Second, "longest a single database call may take before the request fails with 503")
	fs.StringVar(&c.SQLiteSync, "sqlite-sync", "normal", "SQLite durability: normal (commits survive a process crash) or full (also a power loss, at an fsync per commit)")
}

func (c dbConfig) check() error {
	switch {
	case c.DB == "":
		return badFlag("db", "must not be empty")
	case c.MaxConns < 0:
		return badFlag("db-max-conns", "must not be negative")
	case c.Timeout <= 0:
		return badFlag("db-timeout", "must be positive")
	case c.SQLiteSync != "normal" && c.SQLiteSync != "full":
		return badFlag("sqlite-sync", "%q is not normal or full", c.SQLiteSync)
	}
	return nil
}

// keysConfig is the signing-key schedule.
type keysConfig struct {
	Rotation        time.Duration
	ActivationDelay time.Duration
	Reload          time.Duration
}

func (c *keysConfig) addFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.Rotation, "key-rotation", 720*time.Hour, "age at which the signing key is replaced automatically (0: never)")
	fs.DurationVar(&c.ActivationDelay, "key-activation-delay", 10*time.Minute, "how long a new signing key is published in the JWKS before it signs")
	fs.DurationVar(&c.Reload, "key-reload", time.Minute, "how often each instance re-reads the signing keys")
}

func (c keysConfig) check() error {
	switch {
	case c.Rotation < 0:
		return badFlag("key-rotation", "must not be negative")
	case c.Rotation > 0 && c.Rotation < time.Minute:
		return badFlag("key-rotation", "must be 0 (never) or at least 1m")
	case c.ActivationDelay < 0:
		return badFlag("key-activation-delay", "must not be negative")
	case c.Reload < 10*time.Millisecond:
		return badFlag("key-reload", "must be at least 10ms")
	}
	return nil
}

// jwksMaxAge is how long verifiers may cache the JWKS: half of what is left
// of the activation delay once every instance has reloaded, at most 5
// minutes. A key created at T is in every instance's JWKS by T+reload and
// signs from T+delay, so a JWKS cached at any moment lists it before any
// token it signs can arrive.
func (c keysConfig) jwksMaxAge() time.Duration {
	age := (c.ActivationDelay - c.Reload) / 2
	return min(max(age, 0), 5*time.Minute).Truncate(time.Second)
}

// retention is how long a superseded key stays in the JWKS: every token it
// signed has expired by then, allowing for an instance that reloads late
// and a minute of clock skew between instances.
func retention(accessTTL time.Duration, k keysConfig) time.Duration {
	return accessTTL + k.Reload + time.Minute
}

// badFlag is a usage error about one flag's value.
func badFlag(flagName, format string, args ...any) error {
	return usageError{fmt.Sprintf("invalid value for --%s: %s", flagName, fmt.Sprintf(format, args...))}
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
	fs.StringVar(&c.Addr, "addr", ":8080", "address to listen on, host:port")
	c.db.addFlags(fs)
	fs.BoolVar(&c.NoMigrate, "no-migrate", false, "do not apply pending database migrations at start (run authstore migrate instead)")
	fs.StringVar(&c.Issuer, "issuer", "authstore", "the iss claim of access tokens")
	fs.StringVar(&c.Audience, "audience", "authstore", "the aud claim of access tokens (empty: none)")
	fs.DurationVar(&c.AccessTTL, "access-ttl", 20*time.Minute, "access token lifetime")
	fs.DurationVar(&c.RefreshTTL, "refresh-ttl", 720*time.Hour, "refresh token lifetime from its issue")
	fs.DurationVar(&c.RefreshGrace, "refresh-grace", 10*time.Second, "window in which a just-rotated refresh token returns the current one (0 disables)")
	fs.StringVar(&c.SigningAlg, "signing-alg", "EdDSA", "algorithm of new signing keys: EdDSA, ES256 or RS256 (an existing key signs until it is rotated)")
	c.keys.addFlags(fs)
	fs.StringVar(&c.CORSOrigins, "cors-origins", "*", "comma-separated allowed browser origins, or * for any (always with credentials)")
	fs.IntVar(&c.PasswordMaxLength, "password-max-length", 128, "longest accepted password, in characters (at least 64)")
	fs.IntVar(&c.PasswordMinLength, "password-min-length", 8, "shortest password signup accepts, in characters (at least 8; NIST SP 800-63B asks 15 where the password is the only factor)")
	fs.StringVar(&c.PasswordBlocklist, "password-blocklist", "", "file of passwords signup refuses as too common, one per line (added to the built-in list of about 49,000)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 64<<10, "largest accepted request body in bytes")
	fs.IntVar(&c.IPRateLimit, "ip-rate-limit", 100, "signup and signin requests per minute per client IP (0: no limit)")
	fs.IntVar(&c.IPRefreshLimit, "ip-refresh-rate-limit", 1000, "requests per minute per client IP on every other route (0: no limit)")
	fs.IntVar(&c.SubnetRateLimit, "subnet-rate-limit", 400, "signup and signin requests per minute of all the client IPs of one IPv4 /24 or IPv6 /48 together (0: no limit)")
	fs.Int64Var(&c.MemoryLimit, "memory-limit", 112<<20, "soft limit of the Go heap in bytes, so garbage collection runs sooner under a flood (0: none; GOMEMLIMIT wins)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "serve Go's net/http/pprof profiles on this separate address, e.g. 127.0.0.1:6060 (empty: off)")
	fs.BoolVar(&c.Metrics, "metrics", false, "serve Prometheus metrics at GET /metrics on --addr (allow only your scraper to reach it)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs (or IPs) of proxies whose X-Forwarded-For is believed")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", 5*time.Second, "on SIGTERM or SIGINT, how long /readyz answers 503 and connections close after each response before the server stops (0: stop at once)")
	if err := parseFlags(fs, args, getenv, stderr, "Usage: authstore serve [flags]\n\n"+secretHelp); err != nil {
		return c, err
	}
	return c, c.check()
}

// secretHelp explains where the secret key comes from.
const secretHelp = `Each flag can also be set by the environment variable shown.
AUTHSTORE_SECRET_KEY holds the secret key (base64 or hex, 32 bytes or more);
without it, --secret-key-file names a file holding it, and for a SQLite
database a key file is created beside it (FILE.key, mode 0600). Every
instance on one PostgreSQL database needs the same secret key.

`

// parseFlags sets fs's flags from AUTHSTORE_* variables, then from args. A
// mistake fails with one line naming the flag or variable; --help prints
// header and the flags to stderr and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer, header string) error {
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error; the usage text is
	// printed only for --help, so that a mistake is reported in one line.
	fs.Usage = func() {}
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
		return err
	}
	if perr := fs.Parse(args); perr != nil {
		if errors.Is(perr, flag.ErrHelp) {
			fmt.Fprint(stderr, header)
			fs.VisitAll(func(f *flag.Flag) {
				fmt.Fprintf(stderr, "  --%s (%s)\n    \t%s (default %q)\n", f.Name, envName(f.Name), f.Usage, f.DefValue)
			})
			return flag.ErrHelp
		}
		return usageError{perr.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func unwrapFlagErr(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// check refuses values the server could not run with.
func (c serveConfig) check() error {
	bad := badFlag
	if err := c.db.check(); err != nil {
		return err
	}
	if err := c.keys.check(); err != nil {
		return err
	}
	switch {
	case c.Addr == "":
		return bad("addr", "must not be empty")
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
	case c.PasswordMinLength < 8 || c.PasswordMinLength > c.PasswordMaxLength:
		return bad("password-min-length", "must be at least 8 and at most --password-max-length")
	case strings.TrimSpace(strings.ReplaceAll(c.CORSOrigins, ",", "")) == "":
		return bad("cors-origins", "must be * (any origin) or a list of origins")
	case c.MaxBodyBytes < 1024:
		return bad("max-body-bytes", "must be at least 1024")
	case c.MemoryLimit < 0:
		return bad("memory-limit", "must not be negative")
	case c.ShutdownDelay < 0:
		return bad("shutdown-delay", "must not be negative")
	case c.IPRateLimit < 0:
		return bad("ip-rate-limit", "must not be negative")
	case c.IPRefreshLimit < 0:
		return bad("ip-refresh-rate-limit", "must not be negative")
	case c.SubnetRateLimit < 0:
		return bad("subnet-rate-limit", "must not be negative")
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
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

// trustedProxies parses --trusted-proxies: CIDRs, or bare IPs meaning one
// address.
func (c serveConfig) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for p := range strings.SplitSeq(c.TrustedProxies, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if pfx, err := netip.ParsePrefix(p); err == nil {
			out = append(out, pfx.Masked())
			continue
		}
		ip, err := netip.ParseAddr(p)
		if err != nil {
			return nil, badFlag("trusted-proxies", "%q is not a CIDR or an IP address", p)
		}
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
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
