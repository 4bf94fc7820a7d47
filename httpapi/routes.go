// Package httpapi is the HTTP transport of authstore: the seed's
// /auth/signup, /auth/signin and /auth/refresh, the operational endpoints,
// and the error shape of the original service. Handlers decode requests and
// encode answers; every rule lives in auth.Service.
package httpapi

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/authstore/auth"
)

// Config configures NewServer. The zero value of each field has a default.
type Config struct {
	// Logger receives the access log and internal errors; nil discards.
	Logger *slog.Logger
	// CORSOrigins lists the browser origins allowed to call with credentials.
	// Empty or ["*"] allows (reflects) any origin.
	CORSOrigins []string
	// MaxBodyBytes bounds a request body; a larger one is a 413. Default 100 KiB (102,400 bytes), body-parser's.
	MaxBodyBytes int64
	// JWKS returns the current JSON Web Key Set served at
	// /.well-known/jwks.json; nil serves an empty set.
	JWKS func() []byte
	// Issuer is the iss claim of access tokens. When it is an absolute http
	// or https URL (the service's public URL), the OpenID Connect discovery
	// document is served at <Issuer>/.well-known/openid-configuration
	// naming <Issuer>/.well-known/jwks.json; otherwise that route is absent.
	Issuer string
	// JWKSMaxAge is the Cache-Control max-age of the JWKS: how long a
	// verifier may keep it. It must be shorter than the time a new key is
	// published before it signs. Zero serves it with no-cache.
	JWKSMaxAge time.Duration
	// Observe, if set, is told of every answered request: its method, the
	// route pattern ("" if none matched), status and duration. For metrics;
	// it must not block.
	Observe func(method, route string, status int, d time.Duration)
	// Metrics, if set, is served at GET /metrics.
	Metrics http.Handler
	// Now is the clock of error timestamps, of the rate limits and of
	// suspect sources. Default time.Now.
	Now func() time.Time
	// TrustedProxies lists the reverse proxies whose X-Forwarded-For is
	// believed. The client IP, which the per-IP throttle counts and the
	// session records, is the TCP peer's unless the peer is inside one of
	// them; then it is the rightmost X-Forwarded-For address outside them,
	// walking from the right and stopping at a malformed entry (the last
	// trusted hop is then the client). IPv6 clients are throttled by /64.
	TrustedProxies []netip.Prefix

	// IPRateLimit is how many signup and signin requests one client IP may
	// make per minute, at once or spread out (see limits.allow); 0 means no
	// limit. The counts are in memory, per server.
	IPRateLimit int
	// IPRefreshRateLimit is the same for refresh and every other route;
	// 0 means no limit.
	IPRefreshRateLimit int
	// SubnetRateLimit is how many signup and signin requests all the client
	// IPs of one source (an IPv4 /24 or IPv6 /48) may make per minute
	// together, on top of IPRateLimit; 0 means no limit. Set it to a
	// multiple of IPRateLimit: a source holds many clients.
	SubnetRateLimit int
	// MailRateLimit is how many requests of the routes that send mail
	// (forgot password, resend verification, change email) one client IP
	// may make per minute; 0 means no limit. Each address is throttled on
	// top of it, in the Store (auth.Config.MailThrottle).
	MailRateLimit int
	// IPRateLimitKeys bounds how many client IPs each per-IP limit tracks,
	// and how many sources the source limit and the suspect sources do
	// (default DefaultIPRateLimitKeys); past it the one nearest to its full
	// quota, or to being forgotten, is forgotten.
	IPRateLimitKeys int
}

// DefaultMaxBodyBytes is the body limit when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 100 << 10

// NewServer returns the HTTP API over svc. Every response, including an
// unknown route (404), a wrong method (405, with Allow), a body too large
// (413), a rate limit's refusal (429) and a panic (500), is answered in the
// original service's JSON error shape, with the security headers and CORS
// of cfg. It panics if a rate limit of cfg is negative, which is a
// programming error.
func NewServer(cfg Config, svc *auth.Service) http.Handler {
	h, _ := newServer(cfg, svc)
	return h
}

// newServer is NewServer, also returning the suspect sources it tracks.
func newServer(cfg Config, svc *auth.Service) (http.Handler, *suspects) {
	if err := cfg.checkLimits(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	ew := errorWriter{logger: cfg.Logger, now: cfg.Now, outages: newOutageLog(cfg.Logger, cfg.Now)}
	sus := newSuspects(cfg)
	mux := http.NewServeMux()
	addRoutes(mux, cfg, ew, svc, newLimits(cfg, ew), sus)
	return middleware(cfg, ew, svc.Draining, routeErrors(ew, mux)), sus
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.JWKS == nil {
		c.JWKS = func() []byte { return []byte(`{"keys":[]}`) }
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IPRateLimitKeys == 0 {
		c.IPRateLimitKeys = DefaultIPRateLimitKeys
	}
	c.TrustedProxies = normalizePrefixes(c.TrustedProxies)
	return c
}

// middleware wraps h in what every request gets, outermost first: the
// client IP, request id and access log, panic recovery, closing the
// connection after a Transfer-Encoding or while draining, security headers,
// CORS, and the path matching of Express.
func middleware(cfg Config, ew errorWriter, draining func() bool, h http.Handler) http.Handler {
	h = expressPaths(h)
	h = cors(cfg.CORSOrigins, h)
	h = securityHeaders(h)
	h = closeConnections(draining, h)
	h = recoverPanics(ew, h)
	h = logRequests(cfg.Logger, cfg.Observe, h)
	return withRequestInfo(cfg.TrustedProxies, h)
}

// addRoutes lists the whole API, each route with the rate limits it
// counts against (see limits.limit); sus tracks the suspect sources of
// signups and signins.
func addRoutes(mux *http.ServeMux, cfg Config, ew errorWriter, svc *auth.Service, lim *limits, sus *suspects) {
	limit := lim.limit
	mux.Handle("POST /auth/signup", limit(signinClass, handleSignup(ew, svc, sus, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/signin", limit(signinClass, handleSignin(ew, svc, sus, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/refresh", limit(otherClass, handleRefresh(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/logout", limit(otherClass, handleLogout(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("GET /auth/me", limit(otherClass, handleMe(ew, svc)))
	mux.Handle("GET /auth/sessions", limit(otherClass, handleSessions(ew, svc)))
	mux.Handle("DELETE /auth/sessions/{id}", limit(otherClass, handleRevokeSession(ew, svc)))
	mux.Handle("POST /auth/logout-all", limit(otherClass, handleLogoutAll(ew, svc)))
	mux.Handle("POST /auth/password", limit(signinClass, handleChangePassword(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/password/forgot", limit(mailClass, handleForgotPassword(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/password/reset", limit(signinClass, handleResetPassword(ew, svc, sus, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/email/verify", limit(otherClass, handleVerifyEmail(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/email/verify/resend", limit(mailClass, handleResendVerification(ew, svc)))
	mux.Handle("POST /auth/email", limit(mailClass, handleChangeEmail(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/mfa/totp", limit(otherClass, handleEnrollTOTP(ew, svc)))
	mux.Handle("POST /auth/mfa/totp/confirm", limit(signinClass, handleConfirmTOTP(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("DELETE /auth/mfa/totp", limit(signinClass, handleDisableTOTP(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/mfa/recovery-codes", limit(signinClass, handleRegenerateRecoveryCodes(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/mfa/webauthn/begin", limit(signinClass, handleMFAWebAuthnBegin(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/mfa/verify", limit(signinClass, handleVerifyMFA(ew, svc, sus, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/passkeys/register/begin", limit(otherClass, handleRegisterPasskeyBegin(ew, svc)))
	mux.Handle("POST /auth/passkeys/register/finish", limit(otherClass, handleRegisterPasskeyFinish(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("POST /auth/passkeys/login/begin", limit(signinClass, handlePasskeyLoginBegin(ew, svc)))
	mux.Handle("POST /auth/passkeys/login/finish", limit(signinClass, handlePasskeyLoginFinish(ew, svc, cfg.MaxBodyBytes)))
	mux.Handle("GET /auth/passkeys", limit(otherClass, handlePasskeys(ew, svc)))
	mux.Handle("DELETE /auth/passkeys/{id}", limit(otherClass, handleDeletePasskey(ew, svc)))

	mux.Handle("GET /healthz", limit(otherClass, handleHealthz()))
	mux.Handle("GET /readyz", limit(otherClass, handleReadyz(ew, svc)))
	mux.Handle("GET /openapi.json", limit(otherClass, handleOpenAPI()))
	mux.Handle("GET /.well-known/jwks.json", limit(otherClass, handleJWKS(cfg.JWKS, cfg.JWKSMaxAge)))
	mux.Handle("GET /docs", limit(otherClass, handleDocs()))
	mux.Handle("GET /docs/{asset}", limit(otherClass, handleDocsAsset(ew)))
	if discoverable(cfg.Issuer) {
		mux.Handle("GET "+DiscoveryPath, limit(otherClass, handleDiscovery(cfg.Issuer, cfg.JWKS, cacheControl(cfg.JWKSMaxAge))))
	}
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", limit(otherClass, cfg.Metrics))
	}
}

// routeErrors serves mux, answering what it does not route in the error
// shape: "Cannot METHOD /path", as the original does, as a 405 with the
// Allow header for a wrong method and a 404 otherwise. The ServeMux's own
// redirects of unclean paths (such as /auth//refresh) are 404s too: they
// would echo the query, which may hold a refresh token, in Location.
func routeErrors(ew errorWriter, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" && !unclean(r.URL.Path) {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		msg := fmt.Sprintf("Cannot %s %s", r.Method, sentPath(r))
		if rec.status == http.StatusMethodNotAllowed {
			ew.write(w, r, &httpError{status: http.StatusMethodNotAllowed, message: msg, allow: rec.header.Get("Allow")})
			return
		}
		ew.write(w, r, &httpError{status: http.StatusNotFound, message: msg})
	})
}

// expressPaths routes paths as Express does by default: case-insensitively
// and with one trailing slash ignored, matching the path as sent (a
// percent-escape is not decoded for matching, so "/auth/%73ignin" is not
// signin). It sets r.URL.Path to that canonical form, in place, so the
// ServeMux and every later layer see it; sentPath keeps the path as sent
// for answers and logs.
func expressPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.ToLower(sentPath(r))
		if len(p) > 1 && strings.HasSuffix(p, "/") {
			p = p[:len(p)-1]
		}
		r.URL.Path, r.URL.RawPath = p, ""
		next.ServeHTTP(w, r)
	})
}

// sentPath is the path of r as the client sent it: escapes kept, without
// the query string (which may hold a refresh token).
func sentPath(r *http.Request) string {
	p := r.RequestURI
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if !strings.HasPrefix(p, "/") {
		// The absolute form (http://host/path), or a request built
		// without RequestURI.
		if i := strings.Index(p, "://"); i >= 0 {
			p = p[i+3:]
			if j := strings.IndexByte(p, '/'); j >= 0 {
				return p[j:]
			}
			return "/"
		}
		return r.URL.EscapedPath()
	}
	return p
}

// unclean reports whether the ServeMux would redirect p to a cleaned path.
func unclean(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c != p
}

// headerRecorder captures the status and headers of the ServeMux's own
// answers, discarding their plain-text bodies.
type headerRecorder struct {
	header http.Header
	status int
}

func (hr *headerRecorder) Header() http.Header { return hr.header }

func (hr *headerRecorder) WriteHeader(status int) {
	if hr.status == 0 {
		hr.status = status
	}
}

func (hr *headerRecorder) Write(b []byte) (int, error) {
	hr.WriteHeader(http.StatusOK)
	return io.Discard.Write(b)
}
