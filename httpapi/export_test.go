package httpapi

import "net/http"

// WithMiddleware wraps h in the middleware NewServer puts around its routes,
// so tests can reach paths (a panic) that no route takes.
func WithMiddleware(cfg Config, h http.Handler) http.Handler {
	cfg = cfg.withDefaults()
	return middleware(cfg, errorWriter{logger: cfg.Logger, now: cfg.Now}, func() bool { return false }, h)
}
