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
	// MaxBodyBytes bounds a request body; a larger one is a 413. Default 64 KiB.
	MaxBodyBytes int64
	// JWKS returns the current JSON Web Key Set served at
	// /.well-known/jwks.json; nil serves an empty set.
	JWKS func() []byte
	// Now is the clock of error timestamps. Default time.Now.
	Now func() time.Time
}

// DefaultMaxBodyBytes is the body limit when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 64 << 10

// NewServer returns the HTTP API over svc. Every response, including an
// unknown route (404), a wrong method (405, with Allow), a body too large
// (413) and a panic (500), is answered in the original service's JSON error
// shape, with the security headers and CORS of cfg.
func NewServer(cfg Config, svc *auth.Service) http.Handler {
	cfg = cfg.withDefaults()
	ew := errorWriter{logger: cfg.Logger, now: cfg.Now}
	mux := http.NewServeMux()
	addRoutes(mux, cfg, ew, svc)
	return middleware(cfg, ew, routeErrors(ew, mux))
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
	return c
}

// middleware wraps h in what every request gets, outermost first: request
// id and access log, panic recovery, security headers, CORS.
func middleware(cfg Config, ew errorWriter, h http.Handler) http.Handler {
	h = cors(cfg.CORSOrigins, h)
	h = securityHeaders(h)
	h = recoverPanics(ew, h)
	return logRequests(cfg.Logger, h)
}

// addRoutes lists the whole API.
func addRoutes(mux *http.ServeMux, cfg Config, ew errorWriter, svc *auth.Service) {
	mux.Handle("POST /auth/signup", handleSignup(ew, svc, cfg.MaxBodyBytes))
	mux.Handle("POST /auth/signin", handleSignin(ew, svc, cfg.MaxBodyBytes))
	mux.Handle("POST /auth/refresh", handleRefresh(ew, svc, cfg.MaxBodyBytes))

	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(ew, svc))
	mux.Handle("GET /openapi.json", handleOpenAPI())
	mux.Handle("GET /.well-known/jwks.json", handleJWKS(cfg.JWKS))
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
		msg := fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path)
		if rec.status == http.StatusMethodNotAllowed {
			ew.write(w, r, &httpError{status: http.StatusMethodNotAllowed, message: msg, allow: rec.header.Get("Allow")})
			return
		}
		ew.write(w, r, &httpError{status: http.StatusNotFound, message: msg})
	})
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
