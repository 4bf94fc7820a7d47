package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/authstore/auth"
)

// handleLogout serves POST /auth/logout: the refresh token comes as for
// refresh (query rt, or a refresh_token body field); the answer is 200 {}.
func handleLogout(ew errorWriter, svc *auth.Service, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		rt, err := refreshToken(w, r, maxBody)
		if err == nil {
			err = svc.Logout(r.Context(), rt)
		}
		if err != nil {
			ew.write(w, r, err)
			return
		}
		encode(w, http.StatusOK, struct{}{})
	})
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header (the scheme in any case, RFC 9110), or "" if there is none.
func bearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// authenticated serves an endpoint that needs a bearer access token: the
// service authenticates the caller, and serve answers for it. A refusal is
// a 401 in the error shape with WWW-Authenticate (RFC 6750).
func authenticated(ew errorWriter, svc *auth.Service, serve func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		c, err := svc.Authenticate(r.Context(), bearerToken(r))
		if err == nil {
			err = serve(w, r, c)
		}
		if err != nil {
			if auth.IsKind(err, auth.KindUnauthorized) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="authstore"`)
			}
			ew.write(w, r, err)
		}
	})
}

// profile is the body of GET /auth/me.
type profile struct {
	UUID      string `json:"uuid"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Login     string `json:"login"`
	Email     string `json:"email"`
	// EmailVerified is whether the user followed a verification link (or
	// was verified by an administrator or an import).
	EmailVerified bool `json:"emailVerified"`
}

// handleMe serves GET /auth/me: the caller's profile.
func handleMe(ew errorWriter, svc *auth.Service) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		u := c.User
		encode(w, http.StatusOK, profile{
			UUID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Login: u.Login, Email: u.Email,
			EmailVerified: u.EmailVerified(),
		})
		return nil
	})
}

// sessionView is one element of GET /auth/sessions.
type sessionView struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"createdAt"`
	LastUsedAt string `json:"lastUsedAt"`
	UserAgent  string `json:"userAgent"`
	IP         string `json:"ip"`
	Current    bool   `json:"current"`
}

// isoMillis formats t as the original service does: ISO 8601 in UTC with
// milliseconds (the error shape's timestamp, the sessions' times).
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// handleSessions serves GET /auth/sessions: the caller's live sessions,
// newest first, the caller's own marked current.
func handleSessions(ew errorWriter, svc *auth.Service) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		list, err := svc.Sessions(r.Context(), c)
		if err != nil {
			return err
		}
		out := make([]sessionView, 0, len(list))
		for _, s := range list {
			out = append(out, sessionView{
				ID: s.ID, CreatedAt: isoMillis(s.CreatedAt), LastUsedAt: isoMillis(s.LastUsedAt),
				UserAgent: s.UserAgent, IP: s.IP, Current: s.ID == c.Session.ID,
			})
		}
		encode(w, http.StatusOK, out)
		return nil
	})
}

// handleRevokeSession serves DELETE /auth/sessions/{id}: 200 {} once the
// session is revoked; 404 if the caller's user has no such session.
func handleRevokeSession(ew errorWriter, svc *auth.Service) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		if err := svc.RevokeSession(r.Context(), c, r.PathValue("id")); err != nil {
			return err
		}
		encode(w, http.StatusOK, struct{}{})
		return nil
	})
}

// handleLogoutAll serves POST /auth/logout-all: {"revoked": N}.
func handleLogoutAll(ew errorWriter, svc *auth.Service) http.Handler {
	return authenticated(ew, svc, func(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
		n, err := svc.LogoutAll(r.Context(), c)
		if err != nil {
			return err
		}
		encode(w, http.StatusOK, struct {
			Revoked int64 `json:"revoked"`
		}{n})
		return nil
	})
}
