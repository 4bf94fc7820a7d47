package main

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/internal/cmdline"
	"github.com/authstore/auth/mail"
	"github.com/authstore/auth/passkey"
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
	SMTPURL           string // holds the SMTP password: never logged
	MailFrom          string
	MailTemplates     string

	ResetURL             string
	VerifyURL            string
	ResetTTL             time.Duration
	VerifyTTL            time.Duration
	RequireVerifiedEmail bool
	MailRateLimit        int

	WebAuthnRPID    string
	WebAuthnOrigins string
	WebAuthnRPName  string

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

func (c dbConfig) check() error {
	switch {
	case c.DB == "":
		return cmdline.BadFlag("db", "must not be empty")
	case c.MaxConns < 0:
		return cmdline.BadFlag("db-max-conns", "must not be negative")
	case c.Timeout <= 0:
		return cmdline.BadFlag("db-timeout", "must be positive")
	case c.SQLiteSync != "normal" && c.SQLiteSync != "full":
		return cmdline.BadFlag("sqlite-sync", "%q is not normal or full", c.SQLiteSync)
	}
	return nil
}

// keysConfig is the signing-key schedule.
type keysConfig struct {
	Rotation        time.Duration
	ActivationDelay time.Duration
	Reload          time.Duration
}

func (c keysConfig) check() error {
	switch {
	case c.Rotation < 0:
		return cmdline.BadFlag("key-rotation", "must not be negative")
	case c.Rotation > 0 && c.Rotation < time.Minute:
		return cmdline.BadFlag("key-rotation", "must be 0 (never) or at least 1m")
	case c.ActivationDelay < 0:
		return cmdline.BadFlag("key-activation-delay", "must not be negative")
	case c.Reload < 10*time.Millisecond:
		return cmdline.BadFlag("key-reload", "must be at least 10ms")
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

// checkAddr refuses an address that is not host:port with a port from 0
// to 65535 (the host may be empty, meaning every interface).
func checkAddr(flagName, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return cmdline.BadFlag(flagName, "%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return cmdline.BadFlag(flagName, "%q: the port must be a number from 0 to 65535", addr)
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
			return cmdline.BadFlag("cors-origins", "%q is not an origin: want * or scheme://host[:port] with no path, as browsers send it (e.g. https://app.example.com)", o)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return cmdline.BadFlag("cors-origins", "%q: the port must be a number from 1 to 65535", o)
			}
		}
	}
	if n == 0 {
		return cmdline.BadFlag("cors-origins", "must be * (any origin) or a list of origins")
	}
	return nil
}

// check refuses values the server could not run with.
func (c serveConfig) check() error {
	bad := cmdline.BadFlag
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
	case c.MailRateLimit < 0:
		return bad("mail-rate-limit", "must not be negative")
	case c.ResetTTL < time.Minute:
		return bad("reset-ttl", "must be at least 1m")
	case c.VerifyTTL < time.Minute:
		return bad("verify-ttl", "must be at least 1m")
	}
	if err := auth.CheckLinkTemplate(c.ResetURL); err != nil {
		return bad("reset-url", "%q %v", c.ResetURL, err)
	}
	if err := auth.CheckLinkTemplate(c.VerifyURL); err != nil {
		return bad("verify-url", "%q %v", c.VerifyURL, err)
	}
	if err := checkOrigins(c.CORSOrigins); err != nil {
		return err
	}
	if _, err := c.webAuthn(); err != nil {
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
	if err := c.checkMail(); err != nil {
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

// checkMail refuses an --smtp-url that is not smtp:// or smtps:// with
// known options, and a missing or malformed --mail-from when it is set.
// The messages never quote the URL, which may hold the SMTP password.
func (c serveConfig) checkMail() error {
	if c.MailFrom != "" {
		if _, err := mail.ParseFrom(c.MailFrom); err != nil {
			return cmdline.BadFlag("mail-from", "%s", err.Error())
		}
	}
	if c.SMTPURL == "" {
		return nil
	}
	if _, err := mail.ParseSMTPURL(c.SMTPURL); err != nil {
		return cmdline.BadFlag("smtp-url", "%s (want smtp://[user:pass@]host[:port][?starttls=required] or smtps://...)", err.Error())
	}
	if c.MailFrom == "" {
		return cmdline.BadFlag("mail-from", "is required with --smtp-url: the sender address of authstore's mail, e.g. no-reply@example.com")
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
			return nil, cmdline.BadFlag("trusted-proxies", "%q is not a CIDR or an IP address", p)
		}
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}

// webAuthn returns the relying party of passkeys: --webauthn-rp-id, by
// default the host of --issuer when that is an http(s) URL naming a domain
// (not an IP address), else "localhost"; --webauthn-origins, by default
// http://localhost:3000 for the RP id localhost and https://RPID
// otherwise; --webauthn-rp-name, by default the RP id. It refuses an RP id
// browsers would refuse and an origin that is not https (or http on
// localhost) on the RP id or a subdomain of it.
func (c serveConfig) webAuthn() (passkey.Config, error) {
	rp := passkey.Config{RPID: c.WebAuthnRPID, RPName: c.WebAuthnRPName}
	if rp.RPID == "" {
		rp.RPID = "localhost"
		if u, err := url.Parse(c.Issuer); err == nil && (u.Scheme == "https" || u.Scheme == "http") &&
			u.Hostname() != "" && net.ParseIP(u.Hostname()) == nil {
			rp.RPID = strings.ToLower(u.Hostname())
		}
	}
	if err := passkey.CheckRPID(rp.RPID); err != nil {
		return rp, cmdline.BadFlag("webauthn-rp-id", "%q %v", rp.RPID, err)
	}
	for o := range strings.SplitSeq(c.WebAuthnOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			rp.Origins = append(rp.Origins, o)
		}
	}
	if len(rp.Origins) == 0 {
		if rp.RPID == "localhost" {
			rp.Origins = []string{"http://localhost:3000"}
		} else {
			rp.Origins = []string{"https://" + rp.RPID}
		}
	}
	for _, o := range rp.Origins {
		if err := passkey.CheckOrigin(rp.RPID, o); err != nil {
			return rp, cmdline.BadFlag("webauthn-origins", "%q: %v", o, err)
		}
	}
	return rp, nil
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

// logger checks the flags and returns the logger writing to w they ask for.
func (c logConfig) logger(w io.Writer) (*slog.Logger, error) {
	sc := serveConfig{LogFormat: c.Format, LogLevel: c.Level}
	switch c.Format {
	case "text", "json":
	default:
		return nil, cmdline.BadFlag("log-format", "%q is not text or json", c.Format)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, cmdline.BadFlag("log-level", "%q is not debug, info, warn or error", c.Level)
	}
	return sc.logger(w), nil
}
