package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Caller is who a valid bearer token speaks for: the claims, the session
// they belong to (live) and its user (enabled).
type Caller struct {
	Claims  AccessClaims
	Session *Session
	User    *User
}

// Authenticate checks a bearer access token for the session endpoints.
//
// Unlike a verifier in another service, it also refuses the token of a
// session that has been revoked, or of a user who has been disabled or
// deleted, before the token expires. It returns ErrEmptyBearer for an empty
// token, ErrTokenExpired for an expired one, and ErrInvalidToken for any
// other failure (bad signature, issuer or audience, revoked session).
func (s *Service) Authenticate(ctx context.Context, bearer string) (*Caller, error) {
	bearer = strings.TrimSpace(bearer)
	if bearer == "" {
		return nil, ErrEmptyBearer
	}
	v := s.cfg.Verifier
	if v == nil {
		sv, ok := s.cfg.Signer.(AccessTokenVerifier)
		if !ok {
			return nil, errors.New("authenticate: no access token verifier configured")
		}
		v = sv
	}
	c, err := v.Verify(ctx, bearer)
	switch {
	case errors.Is(err, ErrTokenExpired):
		return nil, ErrTokenExpired
	case errors.Is(err, ErrInvalidToken):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, fmt.Errorf("authenticate: %w", err)
	case c.Issuer != s.cfg.Issuer || c.Audience != s.cfg.Audience || c.SessionID == "":
		return nil, ErrInvalidToken
	}
	sess, err := s.cfg.Store.Session(ctx, c.SessionID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if sess.Revoked() || sess.UserID != c.Subject {
		return nil, ErrInvalidToken
	}
	u, err := s.cfg.Store.UserByID(ctx, c.Subject)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if u.Disabled() {
		return nil, ErrInvalidToken
	}
	return &Caller{Claims: c, Session: sess, User: u}, nil
}

// Logout revokes the session of a refresh token. Any token of the session
// that the MAC accepts will do, current or superseded, expired or not: it
// proves the caller held the session. Logging out of a revoked or deleted
// session succeeds. It returns ErrEmptyRefresh for a blank token and
// ErrInvalidToken for one the MAC refuses.
func (s *Service) Logout(ctx context.Context, token string) error {
	token = strings.TrimSpace(token)
	if token == "" {
		return ErrEmptyRefresh
	}
	id, _, ok := s.refresh.decode(token)
	if !ok {
		return ErrInvalidToken
	}
	sess, err := s.cfg.Store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if sess.Revoked() {
		return nil
	}
	if err := s.cfg.Store.RevokeSession(ctx, id, s.now()); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "logout",
		slog.String("user", sess.UserID), slog.String("session", id))
	return nil
}

// Sessions returns every live session of the caller's user, newest first.
// Revoked sessions and sessions whose refresh token has expired are left
// out.
func (s *Service) Sessions(ctx context.Context, c *Caller) ([]Session, error) {
	all, err := s.cfg.Store.UserSessions(ctx, c.User.ID)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	now := s.now()
	live := all[:0]
	for _, sess := range all {
		if !sess.Revoked() && now.Before(sess.RotatedAt.Add(s.cfg.RefreshTTL)) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// RevokeSession revokes session id of the caller's user; revoking the
// caller's own session is allowed and ends it. It returns
// ErrSessionNotFound if the user has no such session, whoever else may.
func (s *Service) RevokeSession(ctx context.Context, c *Caller, id string) error {
	if !parseUUID(make([]byte, 16), id) {
		return ErrSessionNotFound // no session has such an id; the store need not see it
	}
	sess, err := s.cfg.Store.Session(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && sess.UserID != c.User.ID) {
		return ErrSessionNotFound
	}
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if err := s.cfg.Store.RevokeSession(ctx, id, s.now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrSessionNotFound
		}
		return fmt.Errorf("revoke session: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "session_revoked",
		slog.String("user", c.User.ID), slog.String("session", id), slog.String("by_session", c.Session.ID))
	return nil
}

// LogoutAll revokes every live session of the caller's user except the
// caller's own, and returns how many it revoked.
func (s *Service) LogoutAll(ctx context.Context, c *Caller) (int64, error) {
	n, err := s.cfg.Store.RevokeUserSessions(ctx, c.User.ID, c.Session.ID, s.now())
	if err != nil {
		return 0, fmt.Errorf("logout all: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "logout_all",
		slog.String("user", c.User.ID), slog.String("kept_session", c.Session.ID), slog.Int64("revoked", n))
	return n, nil
}

// PurgeSessions deletes sessions that can no longer be used and are past
// any interest: revoked, or unused, for longer than the refresh-token
// lifetime. It returns how many it deleted; call it periodically.
func (s *Service) PurgeSessions(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-s.cfg.RefreshTTL)
	n, err := s.cfg.Store.DeleteSessions(ctx, cutoff, cutoff)
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	return n, nil
}
