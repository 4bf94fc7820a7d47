package main

// This file is the one place where authstore's command line is declared:
// the table of commands and subcommands, every flag (each also set by its
// AUTHSTORE_* environment variable, see cmdline.Parse) and every help text.
// The commands themselves are in the file named after each.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/internal/cmdline"
)

// cmdEnv is what a command is given besides its context and its flags.
type cmdEnv struct {
	name   string   // the command's name, as in the table: "users show"
	args   []string // the flag arguments as given, for cmdline.FromEnv
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// action runs a command once its flags are parsed; pos holds its
// positional arguments.
type action func(ctx context.Context, e cmdEnv, pos []string) error

// argStyle says how a command's positional arguments mix with its flags.
type argStyle int

const (
	// flagsOnly: flags only; any other argument is "unexpected".
	flagsOnly argStyle = iota
	// leadingArg: an optional first argument that is not a flag, then
	// flags only.
	leadingArg
	// argsAnywhere: positional arguments before, between or after the
	// flags; everything after "--" is positional.
	argsAnywhere
	// stdlibFlags: the flag package's own parsing, messages and usage
	// output, and no environment variables: healthcheck's, which runs in
	// the server's environment and must not take the server's settings.
	stdlibFlags
)

// command is one authstore command, subcommand, or group of subcommands.
// Exactly one of flags, raw and subs is set.
type command struct {
	name    string   // the words after authstore: "serve", "keys rotate"
	aliases []string // other names of a top-level command
	help    string   // what --help prints before the flags
	args    argStyle
	// flags declares the command's flags on fs (the defaults may depend on
	// e.getenv) and returns the action that runs the command with their
	// values once fs is parsed.
	flags func(fs *flag.FlagSet, e cmdEnv) action
	// raw runs a command that parses its arguments itself.
	raw action
	// subs are a group's subcommands; the first argument names one.
	subs []command
	// defaultSub is the subcommand run when the first argument is missing
	// or a flag; "" means there is none.
	defaultSub string
	// needSub is the error when the subcommand is missing; unknownSub the
	// format (with %q) of the error for an unknown one ("": needSub).
	needSub, unknownSub string
}

// commands is the table of authstore's commands.
func commands() []command {
	return []command{
		{name: "serve", help: serveHelp + secretHelp, flags: serveFlags},
		{
			name: "migrate", defaultSub: "up", unknownSub: "unknown migrate action %q (want up or status)",
			subs: []command{
				{name: "migrate up", help: migrateHelp, flags: migrateFlags("up")},
				{name: "migrate status", help: migrateHelp, flags: migrateFlags("status")},
			},
		},
		{
			name: "keys", help: keysHelp + secretHelp, needSub: "keys needs an action: list, rotate or retire",
			subs: []command{
				{name: "keys list", help: keysHelp + secretHelp, flags: keysListFlags},
				{name: "keys rotate", help: keysHelp + secretHelp, flags: keysRotateFlags},
				{name: "keys retire", help: keysHelp + secretHelp, args: leadingArg, flags: keysRetireFlags},
			},
		},
		{
			name: "users", help: usersHelp,
			needSub: "users needs an action: list, show, disable, enable, delete, set-password, verify-email, send-reset or mfa-reset", unknownSub: "unknown users action %q",
			subs: []command{
				{name: "users list", help: usersHelp, args: argsAnywhere, flags: usersListFlags},
				{name: "users show", help: usersHelp, args: argsAnywhere, flags: usersChangeFlags(showUser)},
				{name: "users disable", help: usersHelp, args: argsAnywhere, flags: usersChangeFlags(disableUser)},
				{name: "users enable", help: usersHelp, args: argsAnywhere, flags: usersChangeFlags(enableUser)},
				{name: "users delete", help: usersHelp, args: argsAnywhere, flags: usersDeleteFlags},
				{name: "users set-password", help: usersHelp, args: argsAnywhere, flags: usersSetPasswordFlags},
				{name: "users verify-email", help: usersHelp, args: argsAnywhere, flags: usersChangeFlags(verifyUserEmail)},
				{name: "users send-reset", help: usersHelp + secretHelp, args: argsAnywhere, flags: usersSendResetFlags},
				{name: "users mfa-reset", help: usersHelp, args: argsAnywhere, flags: usersMFAResetFlags},
			},
		},
		{
			name: "sessions", help: sessionsHelp, needSub: "sessions needs an action: list or revoke",
			subs: []command{
				{name: "sessions list", help: sessionsHelp, args: argsAnywhere, flags: sessionsFlags(sessionsList)},
				{name: "sessions revoke", help: sessionsHelp, args: argsAnywhere, flags: sessionsFlags(sessionsRevoke)},
			},
		},
		{name: "import", help: importHelp, args: argsAnywhere, flags: importFlags},
		{name: "bench", raw: benchMoved},
		{name: "healthcheck", args: stdlibFlags, flags: healthcheckFlags},
		{name: "version", aliases: []string{"--version", "-version"}, raw: versionCmd},
		{name: "help", aliases: []string{"--help", "-help", "-h"}, raw: func(_ context.Context, e cmdEnv, _ []string) error {
			fmt.Fprint(e.stdout, usage)
			return nil
		}},
	}
}

// usage is the help of authstore itself.
const usage = `authstore: an authentication service (signup, signin, rotating refresh tokens).

Usage:
  authstore serve [flags]                run the HTTP server (authstore serve --help lists the flags)
  authstore migrate [up|status] [flags]  apply or list database migrations
  authstore keys list|rotate|retire       show, rotate or remove signing keys (authstore keys --help)
  authstore users list|show|disable|enable|delete|set-password|verify-email|send-reset|mfa-reset [ID-OR-LOGIN]   manage users
  authstore sessions list USER | revoke SESSION-ID                  list or revoke sessions
  authstore import FILE.jsonl | --from-postgres DSN                 import users, keeping IDs and hashes
  authstore version                      print the version

The load generator is a command of its own: authstore-bench (authstore-bench --help).
`

// serveHelp is the help of `authstore serve`, followed by secretHelp.
const serveHelp = "Usage: authstore serve [flags]\n\n"

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

// migrateHelp is the help of `authstore migrate`.
const migrateHelp = "Usage: authstore migrate [up|status] [flags]\n\nup applies pending migrations, creating a SQLite database if there is none\n(serve does this at start unless --no-migrate); status lists them. Safe while\nother instances run or start.\n\n"

// keysHelp is the help of `authstore keys`, followed by secretHelp.
const keysHelp = `Usage: authstore keys list|rotate|retire [flags]

list shows the signing keys and their state; rotate creates the next key,
published at once and signing after --activate-in (EdDSA, ES256 and RS256
only: HS256's shared secret is not a stored key).

retire KID [--now] takes a key out of every instance's JWKS at its next
reload (--key-reload), e.g. after a leak; the row stays and list shows it
as removed. Its tokens still pass authstore's own checks until they expire,
unless --now: then every instance refuses them from its next reload too.
The active key can be retired only once a newer key exists, which then
signs at once (authstore keys rotate --activate-in 0 first).

`

// usersHelp is the help of `authstore users`.
const usersHelp = "Usage:\n  authstore users list [--after CURSOR] [--limit N]\n  authstore users show|disable|enable|verify-email ID-OR-LOGIN\n  authstore users delete [--yes] ID-OR-LOGIN\n  authstore users set-password ID-OR-LOGIN\n  authstore users send-reset [--reset-url URL] [--reset-ttl D] ID-OR-LOGIN\n  authstore users mfa-reset ID-OR-LOGIN\n\nlist shows users by creation time and ends a full page with the cursor of the\nnext. A disabled user cannot sign in or refresh; disabling revokes its sessions.\ndelete asks for confirmation on a terminal; elsewhere it needs --yes.\nset-password reads the new password from the terminal (without echo, twice) or\nfrom the first line of standard input, applies signup's password rules and\nrevokes every session of the user. verify-email marks the address verified.\nsend-reset mails a password reset link, as forgot password does (it needs the\nsecret key, which seals the outbox; a running server delivers it).\nmfa-reset removes the user's TOTP and recovery codes, for a user who lost\nthem: the password alone signs in again; sessions and passkeys are kept.\n\n"

// sessionsHelp is the help of `authstore sessions`.
const sessionsHelp = "Usage:\n  authstore sessions list ID-OR-LOGIN\n  authstore sessions revoke SESSION-ID\n\n"

// importHelp is the help of `authstore import`.
const importHelp = `Usage:
  authstore import [flags] FILE.jsonl
  authstore import [flags] --from-postgres postgres://...   (the Fake Store API's "user" table)

Each JSON line is {"uuid","firstName","lastName","login","email","password"} with
password an argon2id PHC string or a bcrypt hash, and optionally "emailVerified"
(or "email_verified") false for an address the source did not verify; imported
addresses count as verified otherwise. Users keep their UUID and hash
(upgraded at their first signin). A user whose UUID exists is skipped, so an import
can be re-run; an invalid one is rejected with its reason.

`

// declare defines the serve flags on fs, bound to c.
func (c *serveConfig) declare(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", ":8080", "address to listen on, host:port")
	c.db.declare(fs)
	fs.BoolVar(&c.NoMigrate, "no-migrate", false, "do not apply pending database migrations at start (run authstore migrate instead)")
	fs.StringVar(&c.Issuer, "issuer", "authstore", "the iss claim of access tokens")
	fs.StringVar(&c.Audience, "audience", "authstore", "the aud claim of access tokens (empty: none)")
	fs.DurationVar(&c.AccessTTL, "access-ttl", 20*time.Minute, "access token lifetime")
	fs.DurationVar(&c.RefreshTTL, "refresh-ttl", 720*time.Hour, "refresh token lifetime from its issue")
	fs.DurationVar(&c.RefreshGrace, "refresh-grace", 10*time.Second, "window in which a just-rotated refresh token returns the current one (0 disables)")
	fs.StringVar(&c.SigningAlg, "signing-alg", "EdDSA", "algorithm of new signing keys: EdDSA, ES256 or RS256 (an existing key signs until it is rotated); or HS256, the original's compatibility mode: tokens MACed with the shared secret of AUTHSTORE_JWT_SECRET or --jwt-secret-file, an empty JWKS, no key rotation")
	fs.StringVar(&c.JWTSecretFile, "jwt-secret-file", "", "with --signing-alg HS256: file holding the shared secret (its bytes, less one trailing line break; at least 32), when AUTHSTORE_JWT_SECRET is unset")
	c.keys.declare(fs)
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
	fs.StringVar(&c.ResetURL, "reset-url", auth.DefaultResetURL, "the front end's password reset page: the link mailed by forgot password, {token} replaced by the token")
	fs.StringVar(&c.VerifyURL, "verify-url", auth.DefaultVerifyURL, "the front end's email verification page: the link mailed at signup, by resend and by email change, {token} replaced by the token")
	fs.DurationVar(&c.ResetTTL, "reset-ttl", auth.DefaultResetTTL, "lifetime of a password reset link")
	fs.DurationVar(&c.VerifyTTL, "verify-ttl", auth.DefaultVerifyTTL, "lifetime of an email verification or email change link")
	fs.BoolVar(&c.RequireVerifiedEmail, "require-verified-email", false, "refuse signin (403 Email not verified, after the password check) until the account's address is verified")
	fs.IntVar(&c.MailRateLimit, "mail-rate-limit", 10, "requests per minute per client IP to the routes that send mail: forgot password, resend verification, change email (0: no limit; each address is also limited to 3 mails an hour)")
	fs.StringVar(&c.WebAuthnRPID, "webauthn-rp-id", "", "passkeys' relying party id: the domain passkeys are bound to, the front end's host or a parent of it, e.g. example.com; changing it orphans every passkey (default: the host of --issuer when it is a URL with a domain name, else localhost)")
	fs.StringVar(&c.WebAuthnOrigins, "webauthn-origins", "", "comma-separated origins of the front-end pages that register and use passkeys, matched exactly, e.g. https://app.example.com; each https (http only on localhost) on the RP id or a subdomain (default: http://localhost:3000 for the RP id localhost, else https://RPID)")
	fs.StringVar(&c.WebAuthnRPName, "webauthn-rp-name", "", "the service name authenticators show when a passkey is made (default: the RP id)")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", 5*time.Second, "on SIGTERM or SIGINT, how long /readyz answers 503 and connections close after each response before the server stops (0: stop at once)")
	fs.StringVar(&c.SMTPURL, "smtp-url", "", "SMTP server for mail: smtp://[user:pass@]host[:port] (STARTTLS when offered; required with a user or ?starttls=required) or smtps://... (implicit TLS, port 465); other options ?auth=MECH, ?timeout=30s; prefer the environment variable, which ps does not show (empty: mail goes to the log, links included, for development only)")
	fs.StringVar(&c.MailFrom, "mail-from", "", "sender address of mail, e.g. 'Example <no-reply@example.com>' (required with --smtp-url)")
	fs.StringVar(&c.MailTemplates, "mail-templates", "", "directory of mail templates replacing the built-in ones file by file: NAME.subject.tmpl, NAME.txt.tmpl, NAME.html.tmpl for NAME verify-email, reset-password, email-changed, confirm-new-email")
}

// declare defines the database flags on fs, bound to c.
func (c *dbConfig) declare(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", "authstore.db", "database: a SQLite file path, or postgres://user:pass@host:port/dbname?sslmode=...")
	fs.StringVar(&c.SecretKeyFile, "secret-key-file", "", "file holding the secret key (default: AUTHSTORE_SECRET_KEY, else FILE.key beside a SQLite database)")
	fs.IntVar(&c.MaxConns, "db-max-conns", 0, "database connections per instance: the PostgreSQL pool, SQLite's readers (0: 10 for PostgreSQL, max(4, CPUs) for SQLite)")
	fs.DurationVar(&c.Timeout, "db-timeout", 5*time.Second, "longest a single database call may take before the request fails with 503")
	fs.StringVar(&c.SQLiteSync, "sqlite-sync", "normal", "SQLite durability: normal (commits survive a process crash) or full (also a power loss, at an fsync per commit)")
}

// declare defines the signing-key schedule flags on fs, bound to c.
func (c *keysConfig) declare(fs *flag.FlagSet) {
	fs.DurationVar(&c.Rotation, "key-rotation", 720*time.Hour, "age at which the signing key is replaced automatically (0: never)")
	fs.DurationVar(&c.ActivationDelay, "key-activation-delay", 10*time.Minute, "how long a new signing key is published in the JWKS before it signs")
	fs.DurationVar(&c.Reload, "key-reload", time.Minute, "how often each instance re-reads the signing keys")
}

// declare defines the log flags of the commands other than serve on fs.
func (c *logConfig) declare(fs *flag.FlagSet) {
	fs.StringVar(&c.Format, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.Level, "log-level", "info", "log level: debug, info, warn or error")
}

// adminConfig is the flags every command but serve, bench and healthcheck
// has: the database and the log.
type adminConfig struct {
	db  dbConfig
	log logConfig
}

func (c *adminConfig) declare(fs *flag.FlagSet) {
	c.db.declare(fs)
	c.log.declare(fs)
}

func serveFlags(fs *flag.FlagSet, _ cmdEnv) action {
	var c serveConfig
	c.declare(fs)
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		if err := cmdline.FromEnv(c.check(), e.args, e.getenv); err != nil {
			return err
		}
		return serve(ctx, e, c)
	}
}

// migrateFlags declares the flags of `authstore migrate ACTION`.
func migrateFlags(act string) func(*flag.FlagSet, cmdEnv) action {
	return func(fs *flag.FlagSet, _ cmdEnv) action {
		var c adminConfig
		c.declare(fs)
		return func(ctx context.Context, e cmdEnv, _ []string) error { return migrate(ctx, e, c, act) }
	}
}

// keysListConfig is the flags of `authstore keys list`, which rotate has
// too: the database, the log, and what serve has, so that the list can say
// when a retired key expires.
type keysListConfig struct {
	adminConfig
	accessTTL time.Duration
	keys      keysConfig
}

func (c *keysListConfig) declare(fs *flag.FlagSet) {
	c.adminConfig.declare(fs)
	fs.DurationVar(&c.accessTTL, "access-ttl", 20*time.Minute, "access token lifetime, as serve has it (decides when a retired key expires)")
	fs.DurationVar(&c.keys.Reload, "key-reload", time.Minute, "how often instances re-read the keys, as serve has it")
}

func keysListFlags(fs *flag.FlagSet, _ cmdEnv) action {
	var c keysListConfig
	c.declare(fs)
	return func(ctx context.Context, e cmdEnv, _ []string) error { return keysList(ctx, e, c) }
}

// keysRotateConfig is the flags of `authstore keys rotate`.
type keysRotateConfig struct {
	keysListConfig
	alg        string
	activateIn time.Duration
}

func keysRotateFlags(fs *flag.FlagSet, _ cmdEnv) action {
	var c keysRotateConfig
	c.keysListConfig.declare(fs)
	fs.StringVar(&c.alg, "signing-alg", "EdDSA", "algorithm of the new key: EdDSA, ES256 or RS256")
	fs.DurationVar(&c.activateIn, "activate-in", 10*time.Minute, "delay before the new key signs; keep it at serve's --key-activation-delay (0 signs at the next reload: verifiers caching the JWKS may refuse its tokens until they refetch)")
	return func(ctx context.Context, e cmdEnv, _ []string) error { return keysRotate(ctx, e, c) }
}

// keysRetireConfig is the flags of `authstore keys retire KID`.
type keysRetireConfig struct {
	adminConfig
	now    bool
	reload time.Duration
}

func keysRetireFlags(fs *flag.FlagSet, _ cmdEnv) action {
	var c keysRetireConfig
	c.adminConfig.declare(fs)
	fs.BoolVar(&c.now, "now", false, "also make every instance refuse the key's tokens, from its next reload")
	fs.DurationVar(&c.reload, "key-reload", time.Minute, "how often instances re-read the keys, as serve has it (for the message only)")
	return func(ctx context.Context, e cmdEnv, pos []string) error {
		var kid string
		if len(pos) > 0 {
			kid = pos[0]
		}
		return keysRetire(ctx, e, c, kid)
	}
}

func usersListFlags(fs *flag.FlagSet, _ cmdEnv) action {
	var (
		c     adminConfig
		after string
		limit int
	)
	c.declare(fs)
	fs.StringVar(&after, "after", "", "list the users created after this cursor, which the previous page printed")
	fs.IntVar(&limit, "limit", 100, "most users to list (1 to 10000)")
	return func(ctx context.Context, e cmdEnv, pos []string) error {
		return usersList(ctx, e, c, after, limit, pos)
	}
}

// usersChangeFlags declares the flags of `authstore users show|disable|enable`,
// whose action is do.
func usersChangeFlags(do userAction) func(*flag.FlagSet, cmdEnv) action {
	return func(fs *flag.FlagSet, _ cmdEnv) action {
		var c adminConfig
		c.declare(fs)
		return func(ctx context.Context, e cmdEnv, pos []string) error { return usersChange(ctx, e, c, do, pos) }
	}
}

func usersDeleteFlags(fs *flag.FlagSet, _ cmdEnv) action {
	var (
		c   adminConfig
		yes bool
	)
	c.declare(fs)
	fs.BoolVar(&yes, "yes", false, "delete without asking (needed when standard input is not a terminal)")
	return func(ctx context.Context, e cmdEnv, pos []string) error { return usersDelete(ctx, e, c, yes, pos) }
}

// sessionsFlags declares the flags of `authstore sessions list|revoke`,
// whose action is do.
func sessionsFlags(do func(context.Context, cmdEnv, *adminCtx, string) error) func(*flag.FlagSet, cmdEnv) action {
	return func(fs *flag.FlagSet, _ cmdEnv) action {
		var c adminConfig
		c.declare(fs)
		return func(ctx context.Context, e cmdEnv, pos []string) error { return sessions(ctx, e, c, do, pos) }
	}
}

func importFlags(fs *flag.FlagSet, _ cmdEnv) action {
	var (
		c    adminConfig
		from string
	)
	c.declare(fs)
	fs.StringVar(&from, "from-postgres", "", "DSN of the original Fake Store API database to import from")
	return func(ctx context.Context, e cmdEnv, pos []string) error { return importUsers(ctx, e, c, from, pos) }
}

// healthcheckFlags declares the flags of `authstore healthcheck`, which
// reads no AUTHSTORE_* variable but AUTHSTORE_ADDR, for its default URL.
func healthcheckFlags(fs *flag.FlagSet, e cmdEnv) action {
	url := fs.String("url", defaultHealthURL(e.getenv("AUTHSTORE_ADDR")), "URL to GET; healthy if it answers 200")
	timeout := fs.Duration("timeout", 3*time.Second, "longest wait for the answer")
	return func(ctx context.Context, e cmdEnv, pos []string) error {
		return healthcheck(ctx, e, *url, *timeout, pos)
	}
}

// usersSetPasswordFlags declares the flags of `authstore users
// set-password ID-OR-LOGIN`; the password never comes from a flag.
func usersSetPasswordFlags(fs *flag.FlagSet, _ cmdEnv) action {
	var (
		c        adminConfig
		min, max int
	)
	c.declare(fs)
	fs.IntVar(&min, "password-min-length", 8, "shortest password accepted, in characters, as serve has it")
	fs.IntVar(&max, "password-max-length", 128, "longest password accepted, in characters, as serve has it")
	return func(ctx context.Context, e cmdEnv, pos []string) error {
		return usersSetPassword(ctx, e, c, min, max, pos)
	}
}

// usersMFAResetFlags declares the flags of `authstore users mfa-reset`: the
// admin's.
func usersMFAResetFlags(fs *flag.FlagSet, _ cmdEnv) action {
	var c adminConfig
	c.declare(fs)
	return func(ctx context.Context, e cmdEnv, pos []string) error { return usersMFAReset(ctx, e, c, pos) }
}

// usersSendResetFlags declares the flags of `authstore users send-reset
// ID-OR-LOGIN`.
func usersSendResetFlags(fs *flag.FlagSet, _ cmdEnv) action {
	var (
		c   adminConfig
		url string
		ttl time.Duration
	)
	c.declare(fs)
	fs.StringVar(&url, "reset-url", auth.DefaultResetURL, "the front end's password reset page, as serve has it ({token} replaced by the token)")
	fs.DurationVar(&ttl, "reset-ttl", auth.DefaultResetTTL, "lifetime of the reset link")
	return func(ctx context.Context, e cmdEnv, pos []string) error {
		return usersSendReset(ctx, e, c, url, ttl, pos)
	}
}
