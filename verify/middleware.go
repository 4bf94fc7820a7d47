package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Messages of Middleware's error responses, as authstore words them.
const (
	MessageEmptyBearer  = "Unauthorised user (empty bearer token)"
	MessageInvalidToken = "Invalid token"
	MessageTokenExpired = "Token expired"
	MessageUnavailable  = "Service busy, please retry"
	// MessageSecondFactor is RequireSecondFactor's refusal.
	MessageSecondFactor = "Second factor required"
)

type claimsKey struct{}

// WithClaims returns a copy of ctx carrying c, as Middleware passes it on;
// handler tests use it to stand in for Middleware.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the claims Middleware (or WithClaims) put in ctx.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Middleware returns a handler that verifies the request's bearer token and
// calls next with the claims in the request context (see ClaimsFrom). It
// answers itself, in authstore's error shape {"statusCode","message",
// "timestamp","path"}, with:
//
//   - 401 "Unauthorised user (empty bearer token)" and "WWW-Authenticate:
//     Bearer" when there is no Authorization header of scheme Bearer (any
//     case) with a token;
//   - 401 "Token expired" for an expired token and 401 "Invalid token" for
//     any other bad one, with WWW-Authenticate: Bearer error="invalid_token"
//     (RFC 6750);
//   - 503 "Service busy, please retry" with Retry-After when the keys the
//     token needs cannot be fetched (ErrUnavailable).
//
// The path is the request's URL path, without the query.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r.Header)
		if !ok {
			w.Header().Set("WWW-Authenticate", "Bearer")
			v.writeError(w, r, http.StatusUnauthorized, MessageEmptyBearer)
			return
		}
		c, err := v.Verify(r.Context(), token)
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
		case errors.Is(err, ErrExpired):
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token expired"`)
			v.writeError(w, r, http.StatusUnauthorized, MessageTokenExpired)
		case errors.Is(err, ErrUnavailable):
			w.Header().Set("Retry-After", "5")
			v.writeError(w, r, http.StatusServiceUnavailable, MessageUnavailable)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token is invalid"`)
			v.writeError(w, r, http.StatusUnauthorized, MessageInvalidToken)
		}
	})
}

// RequireSecondFactor is Middleware that also refuses a token whose user
// did not authenticate with a second factor (see Claims.HasSecondFactor):
// 401 "Second factor required" in authstore's error shape, with
// WWW-Authenticate: Bearer error="insufficient_user_authentication" (RFC
// 9470, step-up authentication). The client then has the user sign in
// again, completing the second factor, and retries with the new token. A
// token of an account without a second factor is refused the same way:
// the route needs one. Use it in place of Middleware, not inside it.
func (v *Verifier) RequireSecondFactor(next http.Handler) http.Handler {
	return v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := ClaimsFrom(r.Context()); !ok || !c.HasSecondFactor() {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="A second factor is required"`)
			v.writeError(w, r, http.StatusUnauthorized, MessageSecondFactor)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header; ok is false if there is none or it is blank.
func bearerToken(h http.Header) (token string, ok bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(rest)
	return token, token != ""
}

// errorBody is authstore's error shape.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Timestamp  string `json:"timestamp"`
	Path       string `json:"path"`
}

func (v *Verifier) writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	body, _ := json.Marshal(errorBody{
		StatusCode: status,
		Message:    message,
		Timestamp:  v.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Path:       r.URL.Path,
	})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
