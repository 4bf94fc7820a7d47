package auth

import (
	"context"
	"time"
)

// Store persists the whole domain: every part below, and what spans them.
// The Service takes it; other consumers take only the part they use (Admin
// an AdminStore, the token package's Keys a KeyStore).
//
// Implementations hold no business rules: they store, find and
// compare-and-swap. Where one enforces a rule of the Service inside a
// statement, for atomicity, the method's comment says so. Every method
// honours ctx.
type Store interface {
	UserStore
	SessionStore
	LoginFailureStore
	KeyStore
	AccountStore
	OutboxStore
	MFAStore
	PasskeyStore
	CeremonyStore

	// CreateUserWithSession inserts u and its first session s (s.UserID is
	// u.ID), and mail if it is not nil (its token and message, as
	// RequestMail stores them), atomically: after an error none is stored.
	// It returns an error wrapping ErrDuplicate if u.ID, u.LoginKey,
	// u.LoginSkeleton, u.EmailKey or s.ID is taken, including by a
	// concurrent insert.
	CreateUserWithSession(ctx context.Context, u *User, s *Session, mail *AccountMail) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
}

// UserStore persists users.
type UserStore interface {
	// CreateUser inserts u. It returns an error wrapping ErrDuplicate if
	// u.ID, u.LoginKey, u.LoginSkeleton or u.EmailKey is taken, including by
	// a concurrent insert.
	CreateUser(ctx context.Context, u *User) error
	// UserByLoginKey returns the user whose LoginKey is key, or ErrNotFound.
	UserByLoginKey(ctx context.Context, key string) (*User, error)
	// UserByEmailKey returns the user whose EmailKey is key, or ErrNotFound.
	UserByEmailKey(ctx context.Context, key string) (*User, error)
	// UserByID returns the user with this id, or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// KeysTaken reports whether a user holds loginKey or loginSkeleton (as
	// its LoginKey and LoginSkeleton), and whether one holds emailKey.
	KeysTaken(ctx context.Context, loginKey, loginSkeleton, emailKey string) (login, email bool, err error)
	// SetPasswordHash replaces the password hash of user id, or returns ErrNotFound.
	SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error
	// Users returns up to limit users created after the user at
	// (createdAt, id), in the order (created_at, id): keyset pagination,
	// stable under inserts. The zero time and "" start at the first user;
	// a limit below 1 returns none.
	Users(ctx context.Context, createdAt time.Time, id string, limit int) ([]User, error)
	// SetUserDisabled sets DisabledAt of user id to at (the zero time
	// enables the user) and UpdatedAt to now, or returns ErrNotFound.
	SetUserDisabled(ctx context.Context, id string, at, now time.Time) error
	// DeleteUser deletes user id and all its sessions atomically, or
	// returns ErrNotFound. Login failure records are not the user's (they
	// are kept by throttle key, whether or not a user holds the login): it
	// leaves them to DeleteLoginFailures.
	DeleteUser(ctx context.Context, id string) error
}

// SessionStore persists sessions. Every session belongs to a user of the
// same store.
type SessionStore interface {
	// CreateSession inserts s; s.UserID must name an existing user.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session with this id, or ErrNotFound.
	Session(ctx context.Context, id string) (*Session, error)
	// RotateSession moves session id from generation from to from+1, setting
	// RotatedAt and LastUsedAt to at, and returns the session's user id and
	// AMR, if
	// and only if the session is live, still at generation from, its
	// RotatedAt is after issuedAfter (its refresh token has not expired) and
	// its user is not disabled, in one compare-and-swap. Otherwise it
	// changes nothing and returns an error wrapping ErrStale, whether the
	// session changed, expired, was revoked or does not exist: the caller
	// reads the session to tell which.
	//
	// "Its user is not disabled" is a rule of the Service (a disabled user
	// cannot refresh) that the store enforces inside the swap, so that the
	// common refresh reads no user and a user disabled at any time before
	// the swap cannot rotate.
	RotateSession(ctx context.Context, id string, from int64, issuedAfter, at time.Time) (userID string, amr []string, err error)
	// RevokeSession marks session id revoked at at; revoking a revoked
	// session keeps its first RevokedAt and is not an error. It returns
	// ErrNotFound if there is no such session.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// UserSessions returns every session of user userID, revoked ones
	// included, newest first (ties by ID).
	UserSessions(ctx context.Context, userID string) ([]Session, error)
	// RevokeUserSessions revokes every live session of userID except the one
	// with ID except (which may be empty) at at, and returns how many it
	// revoked.
	RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int64, error)
	// DeleteSessions deletes sessions revoked before revokedBefore, or last
	// used before unusedBefore, and returns how many it deleted.
	DeleteSessions(ctx context.Context, revokedBefore, unusedBefore time.Time) (int64, error)
}

// LoginFailureStore persists the failed-signin records of throttle keys.
type LoginFailureStore interface {
	// LoginFailures returns the failure record of loginKey; a key with no
	// record has the zero LoginFailures.
	LoginFailures(ctx context.Context, loginKey string) (LoginFailures, error)
	// AddLoginFailure atomically adds one failure at at to loginKey's
	// record and returns the record after it; concurrent calls all count.
	// A record whose last failure is before forgetBefore starts over at 1
	// (the zero time forgets nothing).
	AddLoginFailure(ctx context.Context, loginKey string, at, forgetBefore time.Time) (LoginFailures, error)
	// ClearLoginFailures removes loginKey's record; clearing none is not an
	// error.
	ClearLoginFailures(ctx context.Context, loginKey string) error
	// DeleteLoginFailures deletes records whose last failure is before
	// before, and returns how many it deleted.
	DeleteLoginFailures(ctx context.Context, before time.Time) (int64, error)
}

// KeyStore persists the chain of signing keys.
type KeyStore interface {
	// SigningKeys returns every stored signing key by ascending Serial.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// CreateSigningKey inserts k, or returns ErrDuplicate if its ID or its
	// Serial exists, including by a concurrent insert.
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// RemoveSigningKey sets RemovedAt of key id to at and, if refuse, its
	// RefusedAt to at too; a time already set is kept, so repeating it is
	// not an error. It returns ErrNotFound if there is no such key.
	RemoveSigningKey(ctx context.Context, id string, at time.Time, refuse bool) error
}
