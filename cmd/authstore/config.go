package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
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
	JWTSecretFile     string
	CORSOrigins       string
	PasswordMaxLength int
	PasswordMinLength int
	PasswordBlocklist string
	AllowCommon       bool
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
	return usageError{Msg: fmt.Sprintf("--%s: %s", flagName, fmt.Sprintf(format, args...))}
}

// fromEnv rewrites a badFlag error about a flag that took its value from
// its environment variable (and not from args) to name the variable.
func fromEnv(err error, args []string, getenv func(string) string) error {
	var u usageError
	if !errors.As(err, &u) || !strings.HasPrefix(u.Msg, "--") {
		return err
	}
	name, rest, ok := strings.Cut(u.Msg[2:], ":")
	if !ok || getenv(envName(name)) == "" {
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
	return usageError{Msg: envName(name) + ":" + rest}
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
	fs.StringVar(&c.SigningAlg, "signing-alg", "EdDSA", "algorithm of new signing keys: EdDSA, ES256 or RS256 (an existing key signs until it is rotated); or HS256, the original's compatibility mode: tokens MACed with the shared secret of AUTHSTORE_JWT_SECRET or --jwt-secret-file, an empty JWKS, no key rotation")
	fs.StringVar(&c.JWTSecretFile, "jwt-secret-file", "", "with --signing-alg HS256: file holding the shared secret (its bytes, less one trailing line break; at least 32), when AUTHSTORE_JWT_SECRET is unset")
	c.keys.addFlags(fs)
	fs.StringVar(&c.CORSOrigins, "cors-origins", "*", "comma-separated allowed browser origins, or * for any (always with credentials)")
	fs.IntVar(&c.PasswordMaxLength, "password-max-length", 128, "longest accepted password, in characters (at least 64)")
	fs.IntVar(&c.PasswordMinLength, "password-min-length", 8, "shortest password signup accepts, in characters (at least 8; NIST SP 800-63B asks 15 where the password is the only factor)")
	fs.StringVar(&c.PasswordBlocklist, "password-blocklist", "", "file of passwords signup refuses as too common, one per line (added to the built-in list of about 49,000)")
	fs.BoolVar(&c.AllowCommon, "allow-common-passwords", false, "let signup accept commonly used passwords (for practice deployments whose fixtures use them; never in production)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 100<<10, "largest accepted request body in bytes, counted after Content-Encoding (body-parser's 100kb)")
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
	return c, fromEnv(c.check(), args, getenv)
}

// secretHelp explains where the secret key comes from.
const secretHelp = `Each flag can also be set by the environment variable shown.
AUTHSTORE_SECRET_KEY holds the secret key (base64 or hex, 32 bytes or more);
without it, --secret-key-file names a file holding it, and for a SQLite
database a key file is created beside it (FILE.key, mode 0600). Every
instance on one PostgreSQL database needs the same secret key.
With --signing-alg HS256, AUTHSTORE_JWT_SECRET (or --jwt-secret-file) holds
the secret shared with the services verifying access tokens, used byte for
byte as the HMAC key; at least 32 bytes.

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
				err = usageError{Msg: fmt.Sprintf("%s: %q %s", envName(f.Name), v, expected(f))}
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
		return usageError{Msg: explainParseError(fs, perr)}
	}
	if fs.NArg() > 0 {
		return usageError{Msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// flagValueError matches the flag package's complaint about a value.
var flagValueError = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-(\S+): `)

// explainParseError rewrites an error of fs.Parse to name the flag as it is
// written (--name) and say what it takes: `--db-timeout: "5" is not a
// duration (e.g. 5s)`.
func explainParseError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
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

// checkAddr refuses an address that is not host:port with a port from 0
// to 65535 (the host may be empty, meaning every interface).
func checkAddr(flagName, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return badFlag(flagName, "%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return badFlag(flagName, "%q: the port must be a number from 0 to 65535", addr)
	}
	return nil
}

// checkOrigins refuses a --cors-origins entry that a browser could never
// send as its Origin header: each must be * or scheme://host[:port], with
// no path (not even "/"), query, fragment or user.
func checkOrigins(list string) error {
	n := 0
	for o := range strings.SplitSeq(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		n++
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
			return badFlag("cors-origins", "%q is not an origin: want * or scheme://host[:port] with no path, as browsers send it (e.g. https://app.example.com)", o)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return badFlag("cors-origins", "%q: the port must be a number from 1 to 65535", o)
			}
		}
	}
	if n == 0 {
		return badFlag("cors-origins", "must be * (any origin) or a list of origins")
	}
	return nil
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
	case c.AllowCommon && c.PasswordBlocklist != "":
		return bad("allow-common-passwords", "turns the common-password check off; it cannot be used with --password-blocklist")
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
	if err := checkOrigins(c.CORSOrigins); err != nil {
		return err
	}
	if err := checkAddr("addr", c.Addr); err != nil {
		return err
	}
	if c.PprofAddr != "" {
		if err := checkAddr("pprof-addr", c.PprofAddr); err != nil {
			return err
		}
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	switch c.SigningAlg {
	case "EdDSA", "ES256", "RS256", "HS256":
	default:
		return bad("signing-alg", "%q is not one of EdDSA, ES256, RS256, HS256", c.SigningAlg)
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

// logConfig is the log flags of the commands other than serve, which has
// them in serveConfig.
type logConfig struct {
	Format string
	Level  string
}

func (c *logConfig) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Format, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.Level, "log-level", "info", "log level: debug, info, warn or error")
}

// logger checks the flags and returns the logger writing to w they ask for.
func (c logConfig) logger(w io.Writer) (*slog.Logger, error) {
	sc := serveConfig{LogFormat: c.Format, LogLevel: c.Level}
	switch c.Format {
	case "text", "json":
	default:
		return nil, badFlag("log-format", "%q is not text or json", c.Format)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, badFlag("log-level", "%q is not debug, info, warn or error", c.Level)
	}
	return sc.logger(w), nil
}
