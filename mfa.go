package auth

import (
	"context"
	"time"
)

// TOTP is a user's TOTP authenticator (RFC 6238: HMAC-SHA-1, 6 digits, 30 s
// steps). It is pending from enrollment until the user confirms it with a
// code, and active from then on until it is disabled.
type TOTP struct {
	UserID string
	// Secret is the shared secret (20 random bytes) sealed with
	// Config.MFASealer, with additional data totpSealAD(UserID): a copy of
	// the database holds no usable secret.
	Secret    []byte
	CreatedAt time.Time
	// ConfirmedAt is when the user confirmed the authenticator with a
	// code; zero while it is pending.
	ConfirmedAt time.Time
	// LastStep is the latest time step (Unix seconds / 30) whose code was
	// accepted, 0 if none: a code of that step or an earlier one is
	// refused, so each code works once.
	LastStep int64
}

// Active reports whether the authenticator is confirmed: a second factor.
func (t *TOTP) Active() bool { return !t.ConfirmedAt.IsZero() }

// MFAToken is a signin whose first factor succeeded and which waits for
// its second (POST /auth/mfa/verify). The token (32 random bytes, base64url
// without padding) is given to the client once and stored only as Hash,
// the hex SHA-256 of its bytes, as account tokens are.
type MFAToken struct {
	Hash   string
	UserID string
	// AMR lists the methods of the first factor (AMRPassword); the
	// session it opens adds the second one's.
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time // refused from ExpiresAt on
}

// MFAStore persists second factors: TOTP authenticators, recovery codes
// and the signins waiting for a second factor.
type MFAStore interface {
	// TOTP returns userID's authenticator, pending or active, or
	// ErrNotFound.
	TOTP(ctx context.Context, userID string) (*TOTP, error)
	// PutPendingTOTP stores t as its user's pending authenticator,
	// replacing a pending one, in one statement. If the user has an active
	// one it changes nothing and returns an error wrapping ErrDuplicate:
	// "an active authenticator is replaced only by disabling it" is a rule
	// of the Service that the store enforces in the statement, so that a
	// concurrent confirmation is never overwritten.
	PutPendingTOTP(ctx context.Context, t *TOTP) error
	// ActivateTOTP confirms userID's pending authenticator whose Secret is
	// secret (and not one that replaced it) at at, with LastStep step, and
	// replaces the user's recovery codes by codeHashes, in one transaction.
	// It returns an error wrapping ErrStale, changing nothing, if there is
	// no such pending authenticator (confirmed, replaced or removed
	// concurrently).
	ActivateTOTP(ctx context.Context, userID string, secret []byte, step int64, codeHashes []string, at time.Time) error
	// UseTOTPStep sets LastStep of userID's active authenticator to step if
	// it is below step, in one compare-and-swap, so that of concurrent
	// uses of one code (on any instance) exactly one succeeds. Otherwise
	// it changes nothing and returns an error wrapping ErrStale.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// UseRecoveryCode marks userID's unused recovery code whose hash is
	// codeHash used at at, in one compare-and-swap; it returns an error
	// wrapping ErrNotFound if there is no such unused code (unknown, used,
	// or used concurrently).
	UseRecoveryCode(ctx context.Context, userID, codeHash string, at time.Time) error
	// RecoveryCodesLeft returns how many unused recovery codes userID has.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
	// ReplaceRecoveryCodes replaces every recovery code of userID, used or
	// not, by codeHashes, created at at, in one transaction, if the user
	// has an active authenticator; otherwise it changes nothing and
	// returns an error wrapping ErrNotFound.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string, at time.Time) error
	// DeleteTOTP deletes userID's authenticator (pending or active), its
	// recovery codes and its signins waiting for a second factor, in one
	// transaction. It returns an error wrapping ErrNotFound, deleting
	// nothing, if the user has no authenticator.
	DeleteTOTP(ctx context.Context, userID string) error
	// CreateMFAToken inserts t; an error wrapping ErrDuplicate if its Hash
	// is taken.
	CreateMFAToken(ctx context.Context, t *MFAToken) error
	// MFAToken returns the token whose Hash is hash, expired or not, or
	// ErrNotFound.
	MFAToken(ctx context.Context, hash string) (*MFAToken, error)
	// ConsumeMFAToken deletes the token whose Hash is hash if it expires
	// after at, in one statement, so that it completes one signin; it
	// returns an error wrapping ErrNotFound if there is no such token
	// (expired, unknown, or consumed concurrently).
	ConsumeMFAToken(ctx context.Context, hash string, at time.Time) error
	// DeleteMFATokens deletes tokens that expired before before, and
	// returns how many it deleted.
	DeleteMFATokens(ctx context.Context, before time.Time) (int64, error)
}

// MFASealer encrypts and authenticates TOTP secrets under a key that is
// not in the database; token.Sealer implements it.
type MFASealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}
