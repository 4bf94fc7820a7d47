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
	// LoginSkeleton is Skeleton(Login): unique, so no login looks like
	// another; never used for lookups.
	LoginSkeleton string
	Email         string // as typed, trimmed
	EmailKey      string // Fold(Email): unique
	// PasswordHash is a PHC string ($argon2id$...) or a bcrypt hash ($2a$...).
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// DisabledAt is when an administrator disabled the user, zero while the
	// user is enabled. A disabled user cannot sign in or refresh.
	DisabledAt time.Time
	// EmailVerifiedAt is when the user proved to receive mail at Email
	// (or an administrator or an import said so), zero while unverified.
	EmailVerifiedAt time.Time
}

// EmailVerified reports whether the user's address is verified.
func (u *User) EmailVerified() bool { return !u.EmailVerifiedAt.IsZero() }

// Disabled reports whether the user has been disabled.
func (u *User) Disabled() bool { return !u.DisabledAt.IsZero() }

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
	// AMR lists the authentication methods that opened the session (RFC
	// 8176 values: AMRPassword, AMROTP, AMRWebAuthn), in the order they
	// were used; every access token of the session carries them as "amr",
	// refreshed ones included. Never empty for a stored session.
	AMR []string
}

// Authentication method references (RFC 8176) of sessions and access tokens.
const (
	AMRPassword = "pwd"      // a password
	AMROTP      = "otp"      // a one-time code: TOTP or recovery code
	AMRWebAuthn = "webauthn" // a WebAuthn credential (passkey)
)

// Revoked reports whether the session has been revoked.
func (s *Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// SigningKey is an asymmetric key that signs access tokens. Private is sealed
// (encrypted and authenticated) with a key that is not in the database;
// Public is the public JWK as JSON.
//
// Keys form one chain ordered by Serial. A key is published in the JWKS from
// its creation, signs from ActivatesAt until a key with a greater Serial
// activates, and stays published until every token it signed has expired.
type SigningKey struct {
	ID        string // the JWT "kid"
	Algorithm string // EdDSA, ES256 or RS256
	Private   []byte
	Public    []byte
	CreatedAt time.Time
	// Serial numbers keys 1, 2, 3, ... and is unique: two instances that
	// rotate at once both try the next serial and only one insert succeeds.
	Serial int64
	// ActivatesAt is when the key may start signing; it is later than
	// CreatedAt by at least the time verifiers may cache the JWKS.
	ActivatesAt time.Time
	// RemovedAt is when the key was taken out of the JWKS ahead of its
	// time (authstore keys retire), zero if it was not. A removed key
	// never signs again.
	RemovedAt time.Time
	// RefusedAt is when the service was told to stop accepting the key's
	// tokens too (keys retire --now), zero if it was not; it is set only
	// with RemovedAt.
	RefusedAt time.Time
}

// LoginFailures is the failed-signin record of one throttle key: the Service
// derives it from the folded login with a keyed hash, whether or not a user
// holds the login, so that throttling reveals neither which logins exist nor,
// at rest, what was typed.
type LoginFailures struct {
	Count int64     // consecutive failures since the last success or clear
	Last  time.Time // time of the latest failure; zero when Count is 0
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
	// AMR is the session's authentication methods (Session.AMR); empty
	// only in tokens signed before sessions recorded them.
	AMR []string
}

// AccessTokenSigner signs access tokens. The token package implements it.
type AccessTokenSigner interface {
	// Sign returns a compact JWS carrying c.
	Sign(ctx context.Context, c AccessClaims) (string, error)
}

// AccessTokenVerifier checks access tokens this service signed. The token
// package implements it.
type AccessTokenVerifier interface {
	// Verify checks the signature, typ and expiry of token and returns its
	// claims; it does not check iss or aud. It returns an error wrapping
	// ErrTokenExpired or ErrInvalidToken.
	Verify(ctx context.Context, token string) (AccessClaims, error)
}

// PasswordHasher hashes and checks passwords. The password package
// implements it. Both methods compute when called; the Service bounds how
// many run at once (Config.PasswordHashes).
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

// Client describes who sent a request, for the session record, and how
// its signup or signin ranks for admission.
type Client struct {
	IP        string
	UserAgent string
	// Suspect lowers the priority of a signup or signin: suspect ones may
	// hold only Config.SuspectChecks of the MaxPasswordChecks places
	// together. The transport sets it for clients of a network that failed
	// or was throttled at signin recently, known login or not, so it never
	// depends on whether a login exists (httpapi: suspect sources).
	Suspect bool
}
