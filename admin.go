package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// AdminStore is the part of Store that Admin uses: users, their sessions,
// their account tokens and their second factors.
type AdminStore interface {
	UserStore
	SessionStore
	AccountStore
	MFAStore
}

// AdminConfig holds what Admin needs: no keys or secrets, so the admin
// commands run with database access alone, except SendReset (MailSealer)
// and SetPassword (Hasher).
type AdminConfig struct {
	Store  AdminStore
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // audit events; default discards

	// Hasher hashes the passwords SetPassword sets; nil refuses them.
	Hasher PasswordHasher
	// PasswordMinLength, PasswordMaxLength and CommonPasswords are the
	// password rules SetPassword applies, as Config's (defaults 8 and 128,
	// no list).
	PasswordMinLength, PasswordMaxLength int
	CommonPasswords                      PasswordBlocklist
	// MailSealer seals the mail SendReset stores, as Config.MailSealer;
	// nil refuses it. ResetURL and ResetTTL are as in Config.
	MailSealer MailSealer
	ResetURL   string
	ResetTTL   time.Duration
	Rand       io.Reader // default crypto/rand.Reader
}

// Admin holds the rules of operator actions: listing, disabling and
// deleting users, revoking their sessions, and importing users from another
// system. Every change is an audit event in the log.
type Admin struct {
	store  AdminStore
	now    func() time.Time
	log    *slog.Logger
	hasher PasswordHasher
	policy passwordPolicy
	mail   mailer
}

// NewAdmin returns an Admin over cfg.Store.
func NewAdmin(cfg AdminConfig) (*Admin, error) {
	if cfg.Store == nil {
		return nil, errors.New("auth: AdminConfig needs a Store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.ResetURL == "" {
		cfg.ResetURL = DefaultResetURL
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = DefaultResetTTL
	}
	if err := CheckLinkTemplate(cfg.ResetURL); err != nil {
		return nil, fmt.Errorf("auth: ResetURL %w", err)
	}
	policy := passwordPolicy{min: cfg.PasswordMinLength, max: cfg.PasswordMaxLength, common: cfg.CommonPasswords}
	if policy.min == 0 {
		policy.min = 8
	}
	if policy.max == 0 {
		policy.max = 128
	}
	return &Admin{
		store: cfg.Store, now: func() time.Time { return cfg.Now().UTC() }, log: cfg.Logger,
		hasher: cfg.Hasher, policy: policy,
		mail: mailer{sealer: cfg.MailSealer, rand: cfg.Rand, resetURL: cfg.ResetURL, resetTTL: cfg.ResetTTL},
	}, nil
}

func (a *Admin) audit(ctx context.Context, event string, attrs ...slog.Attr) {
	a.log.LogAttrs(ctx, slog.LevelInfo, "audit", append([]slog.Attr{slog.String("event", event), slog.String("by", "admin")}, attrs...)...)
}

// Users returns up to limit users created after the user at (createdAt,
// id), in creation order: see UserStore.Users.
func (a *Admin) Users(ctx context.Context, createdAt time.Time, id string, limit int) ([]User, error) {
	return a.store.Users(ctx, createdAt, id, limit)
}

// User finds a user by ID, or else by login (any case). It returns an error
// wrapping ErrNotFound if neither matches.
func (a *Admin) User(ctx context.Context, idOrLogin string) (*User, error) {
	u, err := a.store.UserByID(ctx, idOrLogin)
	if errors.Is(err, ErrNotFound) {
		u, err = a.store.UserByLoginKey(ctx, Fold(idOrLogin))
	}
	return u, err
}

// DisableUser disables a user (by ID or login) and revokes every session of
// it: it can no longer sign in, refresh or use the session endpoints. Its
// access tokens stay valid offline until they expire. Disabling a disabled
// user keeps the first time.
func (a *Admin) DisableUser(ctx context.Context, idOrLogin string) (*User, error) {
	u, err := a.User(ctx, idOrLogin)
	if err != nil {
		return nil, err
	}
	now := a.now()
	if !u.Disabled() {
		if err := a.store.SetUserDisabled(ctx, u.ID, now, now); err != nil {
			return nil, err
		}
		u.DisabledAt = now
	}
	n, err := a.store.RevokeUserSessions(ctx, u.ID, "", now)
	if err != nil {
		return nil, err
	}
	a.audit(ctx, "user_disabled", slog.String("user", u.ID), slog.Int64("sessions_revoked", n))
	return u, nil
}

// EnableUser enables a disabled user (by ID or login). Its sessions stay
// revoked: it signs in again.
func (a *Admin) EnableUser(ctx context.Context, idOrLogin string) (*User, error) {
	u, err := a.User(ctx, idOrLogin)
	if err != nil {
		return nil, err
	}
	if err := a.store.SetUserDisabled(ctx, u.ID, time.Time{}, a.now()); err != nil {
		return nil, err
	}
	u.DisabledAt = time.Time{}
	a.audit(ctx, "user_enabled", slog.String("user", u.ID))
	return u, nil
}

// DeleteUser deletes a user (by ID or login) with its sessions.
func (a *Admin) DeleteUser(ctx context.Context, idOrLogin string) (*User, error) {
	u, err := a.User(ctx, idOrLogin)
	if err != nil {
		return nil, err
	}
	if err := a.store.DeleteUser(ctx, u.ID); err != nil {
		return nil, err
	}
	a.audit(ctx, "user_deleted", slog.String("user", u.ID))
	return u, nil
}

// Sessions returns every session of a user (by ID or login), revoked ones
// included, newest first.
func (a *Admin) Sessions(ctx context.Context, idOrLogin string) (*User, []Session, error) {
	u, err := a.User(ctx, idOrLogin)
	if err != nil {
		return nil, nil, err
	}
	list, err := a.store.UserSessions(ctx, u.ID)
	return u, list, err
}

// RevokeSession revokes one session by ID.
func (a *Admin) RevokeSession(ctx context.Context, id string) error {
	if err := a.store.RevokeSession(ctx, id, a.now()); err != nil {
		return err
	}
	a.audit(ctx, "session_revoked", slog.String("session", id))
	return nil
}

// ImportUser is one user coming from another system, with its password
// hash and ID kept.
type ImportUser struct {
	ID           string `json:"uuid"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
	Login        string `json:"login"`
	Email        string `json:"email"`
	PasswordHash string `json:"password"`
	// EmailVerified (or email_verified in the input) says whether the
	// source verified the address; absent means verified, since the
	// original service never checked addresses and its users have been
	// using them.
	EmailVerified      *bool `json:"emailVerified,omitempty"`
	EmailVerifiedSnake *bool `json:"email_verified,omitempty"`
}

// verified reports whether the imported user's address counts as verified.
func (in ImportUser) verified() bool {
	if in.EmailVerified != nil {
		return *in.EmailVerified
	}
	if in.EmailVerifiedSnake != nil {
		return *in.EmailVerifiedSnake
	}
	return true
}

// ImportOutcome is what Import did with one user.
type ImportOutcome int

// Import outcomes.
const (
	Imported ImportOutcome = iota // created
	Skipped                       // a user with this ID exists already: imports are idempotent
	Rejected                      // invalid, or its login or email belongs to another user
)

// Import creates u keeping its ID and password hash; the hash is upgraded
// to the current parameters at the user's first signin. It applies
// signup's field rules (lengths, email, control characters) except the
// password's, and accepts argon2id PHC strings and bcrypt hashes. The
// reason of a rejection is safe to print: it never holds the hash.
func (a *Admin) Import(ctx context.Context, in ImportUser) (ImportOutcome, string, error) {
	if !parseUUID(make([]byte, 16), in.ID) {
		return Rejected, "uuid is not a UUID", nil
	}
	id := strings.ToLower(in.ID)
	if _, err := a.store.UserByID(ctx, id); err == nil {
		return Skipped, "already imported", nil
	} else if !errors.Is(err, ErrNotFound) {
		return 0, "", err
	}
	req := SignupRequest{
		FirstName: String(in.FirstName), LastName: String(in.LastName),
		Login: String(in.Login), Email: String(in.Email),
	}
	if msgs := profileMessages(&req); len(msgs) > 0 {
		return Rejected, strings.Join(msgs, "; "), nil
	}
	hash := strings.TrimSpace(in.PasswordHash)
	if !isPasswordHash(hash) {
		return Rejected, "password is not an argon2id or bcrypt hash", nil
	}
	u := newUser(id, &req, hash, a.now())
	if in.verified() {
		u.EmailVerifiedAt = u.CreatedAt
	}
	if err := a.store.CreateUser(ctx, u); err != nil {
		if !errors.Is(err, ErrDuplicate) {
			return 0, "", fmt.Errorf("import: %w", err)
		}
		if _, err := a.store.UserByID(ctx, id); err == nil {
			return Skipped, "already imported", nil // a concurrent import won
		}
		switch err := taken(ctx, a.store, u); {
		case errors.Is(err, ErrLoginAndEmailUsed):
			return Rejected, "login and email already used by another user", nil
		case errors.Is(err, ErrLoginUsed):
			return Rejected, "login already used by another user", nil
		case errors.Is(err, ErrEmailUsed):
			return Rejected, "email already used by another user", nil
		case err != nil:
			return 0, "", fmt.Errorf("import: %w", err)
		}
		return Rejected, "login or email already used by another user", nil // freed since
	}
	a.audit(ctx, "user_imported", slog.String("user", u.ID))
	return Imported, "", nil
}

// isPasswordHash reports whether h looks like a hash Verify can check: an
// argon2id PHC string or a bcrypt hash. The hasher parses it fully at the
// first signin.
func isPasswordHash(h string) bool {
	switch {
	case strings.HasPrefix(h, "$argon2id$v=19$"):
		return strings.Count(h, "$") == 5
	case len(h) == 60 && (strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")):
		return true
	}
	return false
}

// VerifyEmail marks the address of a user (by ID or login) verified, as
// following a verification link does; a verified address keeps its time.
func (a *Admin) VerifyEmail(ctx context.Context, idOrLogin string) (*User, error) {
	u, err := a.User(ctx, idOrLogin)
	if err != nil {
		return nil, err
	}
	if err := a.store.SetEmailVerified(ctx, u.ID, a.now()); err != nil {
		return nil, err
	}
	a.audit(ctx, "email_verified", slog.String("user", u.ID))
	return a.User(ctx, u.ID)
}

// SendReset mails a user (by ID or login) a password reset link, as a
// forgotten-password request does, bypassing the per-address throttle;
// the link supersedes the user's earlier ones. It needs
// AdminConfig.MailSealer.
func (a *Admin) SendReset(ctx context.Context, idOrLogin string) (*User, error) {
	u, err := a.User(ctx, idOrLogin)
	if err != nil {
		return nil, err
	}
	now := a.now()
	mail, err := a.mail.resetMail(u, now)
	if err != nil {
		return nil, fmt.Errorf("send reset: %w", err)
	}
	if _, err := a.store.RequestMail(ctx, &MailRequest{At: now, Mail: mail}); err != nil {
		return nil, fmt.Errorf("send reset: %w", err)
	}
	a.audit(ctx, "password_reset_requested", slog.String("user", u.ID))
	return u, nil
}

// SetPassword sets the password of a user (by ID or login) under signup's
// password rules (an error of KindInvalid with their messages), revokes
// every session of the user and kills its reset links. It needs
// AdminConfig.Hasher. The password is never logged.
func (a *Admin) SetPassword(ctx context.Context, idOrLogin, password string) (*User, error) {
	pw := String(password)
	if err := invalid(passwordMessages(&pw, a.policy)); err != nil {
		return nil, err
	}
	if a.hasher == nil {
		return nil, errors.New("auth: set password: AdminConfig has no Hasher")
	}
	u, err := a.User(ctx, idOrLogin)
	if err != nil {
		return nil, err
	}
	hash, err := a.hasher.Hash(ctx, pw.Str)
	if err != nil {
		return nil, fmt.Errorf("set password: %w", err)
	}
	n, err := a.store.ChangePassword(ctx, u.ID, hash, "", "", a.now())
	if err != nil {
		return nil, err
	}
	a.audit(ctx, "password_set", slog.String("user", u.ID), slog.Int64("sessions_revoked", n))
	return u, nil
}
