package httpapi

import (
	"net/http"

	"github.com/authstore/auth"
)

// WithMiddleware wraps h in the middleware NewServer puts around its routes,
// so tests can reach paths (a panic) that no route takes.
func WithMiddleware(cfg Config, h http.Handler) http.Handler {
	cfg = cfg.withDefaults()
	return middleware(cfg, errorWriter{logger: cfg.Logger, now: cfg.Now}, func() bool { return false }, h)
}

// FlatStrings is the fast reading of the common JSON body; ok is false
// when it leaves text to ParseJSON.
func FlatStrings(text string) (f map[string]auth.Value, ok bool) { return flatStrings(text) }

// ParseJSON is the general reading of a JSON body.
func ParseJSON(text string) (map[string]auth.Value, error) { return parseJSON(text) }
