package httpapi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// statusWriter records what a handler wrote, for the access log and for
// panic recovery.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (sw *statusWriter) WriteHeader(status int) {
	if sw.status == 0 {
		sw.status = status
	}
	sw.ResponseWriter.WriteHeader(status)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	n, err := sw.ResponseWriter.Write(b)
	sw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// maxRequestIDLen bounds an accepted incoming X-Request-Id.
const maxRequestIDLen = 64

// requestIDs makes the ids of requests that come without one: a counter
// encrypted under a key chosen at start (AES as a keyed permutation), so
// ids are unique without a read of the system's random source per
// request, and a client cannot tell from two ids how many requests came
// between them.
type requestIDs struct {
	block cipher.Block
	n     atomic.Uint64
}

func newRequestIDs() *requestIDs {
	key := make([]byte, 16)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 16-byte key is always accepted
	}
	return &requestIDs{block: block}
}

// next returns a fresh id: 26 characters of base32.
func (g *requestIDs) next() string {
	var in, out [aes.BlockSize]byte
	binary.BigEndian.PutUint64(in[8:], g.n.Add(1))
	g.block.Encrypt(out[:], in[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(out[:])
}

// requestID returns the incoming X-Request-Id if it is 1..64 characters of
// [A-Za-z0-9._-], else a fresh one from ids. The id is logged and echoed,
// so a client must not be able to put quotes, separators or anything a log
// reader might interpret into it.
func requestID(r *http.Request, ids *requestIDs) string {
	id := r.Header.Get("X-Request-Id")
	ok := id != "" && len(id) <= maxRequestIDLen && !strings.ContainsFunc(id, func(c rune) bool {
		return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-')
	})
	if ok {
		return id
	}
	return ids.next()
}

// logRequests writes one access-log line per request: method, route
// pattern, path, status, duration, request id and response bytes. It never
// logs the query string, headers or bodies, which may carry credentials.
// The route pattern is the one the ServeMux sets on the request it is
// given, so no layer between here and the ServeMux may copy the request.
func logRequests(logger *slog.Logger, observe func(method, route string, status int, d time.Duration), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		took := time.Since(start)
		if observe != nil {
			observe(r.Method, r.Pattern, sw.status, took)
		}
		// A 503 is the answer to overload or an outage, counted by the
		// metrics and explained by a log line of its own cause; logging
		// each one at error level would add a write per request to a flood.
		level := slog.LevelInfo
		if sw.status >= 500 && sw.status != http.StatusServiceUnavailable {
			level = slog.LevelError
		}
		ctx := r.Context()
		if !logger.Enabled(ctx, level) {
			return
		}
		logger.LogAttrs(ctx, level, "request",
			slog.String("method", r.Method),
			slog.String("route", r.Pattern),
			slog.String("path", sentPath(r)),
			slog.Int("status", sw.status),
			slog.Duration("duration", took),
			slog.String("request_id", requestIDFrom(ctx)),
			slog.Int64("bytes", sw.bytes))
	})
}

// recoverPanics turns a panic in next into a logged 500 in the error shape,
// if nothing has been written yet. http.ErrAbortHandler passes through.
func recoverPanics(ew errorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, ok := w.(*statusWriter) // logRequests's, when inside it
		if !ok {
			sw = &statusWriter{ResponseWriter: w}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			ew.logger.LogAttrs(r.Context(), slog.LevelError, "panic",
				slog.String("request_id", requestIDFrom(r.Context())),
				slog.String("panic", fmt.Sprint(v)),
				slog.String("stack", string(debug.Stack())))
			if sw.status == 0 {
				ew.send(w, r, http.StatusInternalServerError, internalMessage)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// securityHeaders sets headers that keep browsers from sniffing, framing or
// leaking the referrer of any response.
//
// The header values are shared by every response, here and elsewhere in
// this package: a header map entry is only ever replaced (Header.Set) or
// appended to (Header.Add, which copies a slice whose length is its
// capacity), never changed in place.
func securityHeaders(next http.Handler) http.Handler {
	nosniff := []string{"nosniff"}
	noReferrer := []string{"no-referrer"}
	apiCSP := []string{"default-src 'none'; frame-ancestors 'none'"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = noReferrer
		h["Content-Security-Policy"] = apiCSP
		next.ServeHTTP(w, r)
	})
}

// CORS answers.
const (
	corsAllowMethods = "GET, POST, DELETE, OPTIONS"
	corsAllowHeaders = "Content-Type, Authorization, X-Request-Id"
	corsExpose       = "X-Request-Id, Retry-After, RateLimit, RateLimit-Policy"
	corsMaxAge       = "600"
	maxRequestedHdrs = 1024
)

// cors lets browsers on allowed origins call the API with credentials. With
// no origins, or just "*", every origin is allowed and reflected (never "*",
// which browsers refuse with credentials); otherwise only the listed
// origins, compared exactly. Every OPTIONS request is answered 204 here,
// whatever the path, as the cors package answers it for Express: with the
// preflight headers when the origin is allowed.
func cors(origins []string, next http.Handler) http.Handler {
	anyOrigin := len(origins) == 0 || (len(origins) == 1 && origins[0] == "*")
	allowed := func(o string) bool { return anyOrigin || slices.Contains(origins, o) }
	varyOrigin := []string{"Origin"} // shared, see securityHeaders
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if _, ok := h["Vary"]; ok {
			h.Add("Vary", "Origin")
		} else {
			h["Vary"] = varyOrigin
		}
		origin := r.Header.Get("Origin")
		ok := origin != "" && allowed(origin)
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Method != http.MethodOptions {
			if ok {
				h.Set("Access-Control-Expose-Headers", corsExpose)
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		if ok {
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", requestedHeaders(r))
			h.Set("Access-Control-Max-Age", corsMaxAge)
			h.Set("Access-Control-Expose-Headers", corsExpose)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// requestedHeaders reflects Access-Control-Request-Headers when it is a
// plausible list of header names, else answers the fixed list.
func requestedHeaders(r *http.Request) string {
	req := strings.Join(r.Header.Values("Access-Control-Request-Headers"), ",")
	valid := req != "" && len(req) <= maxRequestedHdrs && !strings.ContainsFunc(req, func(c rune) bool {
		return !(c == ',' || c == ' ' || c == '-' || c == '_' || c == '.' ||
			('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9'))
	})
	if valid {
		return req
	}
	return corsAllowHeaders
}
