package httpapi

import (
	_ "embed"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/authstore/auth"
)

//go:embed openapi.json
var openapiJSON []byte

// handleHealthz serves GET /healthz: 200 while the process serves.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// handleReadyz serves GET /readyz: 200 when svc reaches its database, else
// 503 in the error shape with Retry-After; the cause goes to the log only.
func handleReadyz(ew errorWriter, svc *auth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := svc.Ready(r.Context()); err != nil {
			ew.logger.LogAttrs(r.Context(), slog.LevelWarn, "not ready",
				slog.String("request_id", requestIDFrom(r.Context())),
				slog.String("error", err.Error()))
			ew.write(w, r, &auth.Error{Kind: auth.KindUnavailable, Message: "Service unavailable"})
			return
		}
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// handleOpenAPI serves GET /openapi.json, the OpenAPI 3.1 description of
// every route.
func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(openapiJSON)
	})
}

// handleJWKS serves GET /.well-known/jwks.json: the public keys that verify
// access tokens, as jwks returns them at each request, cacheable for maxAge
// (whole seconds; under one second means no-cache).
func handleJWKS(jwks func() []byte, maxAge time.Duration) http.Handler {
	cache := cacheControl(maxAge)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", cache)
		w.Write(jwks())
	})
}

// cacheControl is the Cache-Control of an answer cacheable for maxAge (whole
// seconds; under one second means no-cache).
func cacheControl(maxAge time.Duration) string {
	if secs := int64(maxAge / time.Second); secs > 0 {
		return "public, max-age=" + strconv.FormatInt(secs, 10)
	}
	return "no-cache"
}
