// Package auth is the domain of authstore: users, sessions, signing keys, the
// Store they persist in, and the Service that holds every rule (validation,
// password checks, refresh-token rotation, grace replay and reuse detection).
//
// It depends on nothing else of the project. Storage (sqlstore), token signing
// (token), password hashing (password) and HTTP (httpapi) plug into it through
// the interfaces declared here; cmd/authstore wires them together.
package auth

import (
	"context"
	"time"
)

// User is a person who can sign in.
type User struct {
	ID        string // UUID
	FirstName string
	LastName  string
	Login     string // as typed, trimmed
	LoginKey  string // Fold(Login): unique, used for lookups
	Email     string // as typed, trimmed
	EmailKey  string // Fold(Email): unique
	// PasswordHash is a PHC string ($argon2id$...) or a bcrypt hash ($2a$...).
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Session is one signed-in device or browser. It is opened by signup or signin
// and lives until it is revoked or its refresh token expires unused.
//
// The refresh token of a session is derived, not stored: it is a MAC over the
// session id and Generation under a key that never enters the database (see
// RefreshToken). Rotating moves Generation forward by one.
type Session struct {
	ID         string // UUID
	UserID     string
	Generation int64     // generation of the current refresh token; starts at 1
	RotatedAt  time.Time // when the current generation was issued
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time // zero while the session is live
	UserAgent  string
	IP         string
}

// Revoked reports whether the session has been revoked.
func (s *Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// SigningKey is an asymmetric key that signs access tokens. Private is sealed
// (encrypted and authenticated) with a key that is not in the database;
// Public is the public JWK as JSON.
type SigningKey struct {
	ID        string // the JWT "kid"
	Algorithm string // EdDSA, ES256 or RS256
	Private   []byte
	Public    []byte
	CreatedAt time.Time
}

// Store persists the domain. Implementations hold no business rules: they
// store, find and compare-and-swap. Every method honours ctx.
type Store interface {
	// CreateUser inserts u. It returns an error wrapping ErrDuplicate if
	// u.ID, u.LoginKey or u.EmailKey is taken, including by a concurrent insert.
	CreateUser(ctx context.Context, u *User) error
	// UserByLoginKey returns the user whose LoginKey is key, or ErrNotFound.
	UserByLoginKey(ctx context.Context, key string) (*User, error)
	// UserByID returns the user with this id, or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// KeysTaken reports whether a user holds loginKey and whether one holds emailKey.
	KeysTaken(ctx context.Context, loginKey, emailKey string) (login, email bool, err error)
	// SetPasswordHash replaces the password hash of user id, or returns ErrNotFound.
	SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error

	// CreateSession inserts s; s.UserID must name an existing user.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session with this id, or ErrNotFound.
	Session(ctx context.Context, id string) (*Session, error)
	// RotateSession moves session id from generation from to from+1, setting
	// RotatedAt and LastUsedAt to at, if and only if it is live and still at
	// generation from. Otherwise it changes nothing and returns an error
	// wrapping ErrStale (or ErrNotFound if there is no such session).
	RotateSession(ctx context.Context, id string, from int64, at time.Time) error
	// TouchSession sets LastUsedAt of session id to at, or returns ErrNotFound.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// RevokeSession marks session id revoked at at; revoking a revoked
	// session keeps its first RevokedAt and is not an error. It returns
	// ErrNotFound if there is no such session.
	RevokeSession(ctx context.Context, id string, at time.Time) error

	// SigningKeys returns every stored signing key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// CreateSigningKey inserts k, or returns ErrDuplicate if its ID exists.
	CreateSigningKey(ctx context.Context, k *SigningKey) error

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	Issuer    string
	Subject   string // user id
	Audience  string // may be empty
	SessionID string
	ID        string // jti
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// AccessTokenSigner signs access tokens. The token package implements it.
type AccessTokenSigner interface {
	// Sign returns a compact JWS carrying c.
	Sign(ctx context.Context, c AccessClaims) (string, error)
}

// PasswordHasher hashes and checks passwords. The password package
// implements it, behind a concurrency limit: both methods return an error of
// KindBusy when the limit stays saturated for longer than its bounded wait.
type PasswordHasher interface {
	// Hash returns an encoded hash of password with the current parameters.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded, and whether encoded
	// uses other parameters than the current ones and should be re-hashed.
	// An encoded hash it cannot parse is a mismatch, not an error, but it
	// still spends the work of one hash so timing does not tell.
	Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error)
}

// Tokens is what signup, signin and refresh answer.
type Tokens struct {
	AccessToken  string
	RefreshToken string
}

// Client describes who sent a request, for the session record.
type Client struct {
	IP        string
	UserAgent string
}
