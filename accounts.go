package auth

import (
	"context"
	"time"
)

// Kinds of AccountToken.
const (
	// TokenReset is a password reset link's token.
	TokenReset = "reset"
	// TokenVerify is an email verification link's token, for the address
	// the user has.
	TokenVerify = "verify"
	// TokenChangeEmail is the token of the link that confirms a new
	// address: following it makes the address the user's.
	TokenChangeEmail = "change-email"
)

// Templates of OutboxMessage.
const (
	TemplateVerifyEmail     = "verify-email"      // a verification link, to the user's address
	TemplateResetPassword   = "reset-password"    // a reset link, to the user's address
	TemplateEmailChanged    = "email-changed"     // to the old address, once the new one is in place
	TemplateConfirmNewEmail = "confirm-new-email" // a confirmation link, to the new address
)

// AccountToken is a single-use token sent by mail in a link: a password
// reset, an email verification or an email change. The token itself (32
// random bytes, base64url in the link) is never stored: Hash is the hex
// SHA-256 of its bytes.
type AccountToken struct {
	ID     string // UUID
	UserID string
	Kind   string // TokenReset, TokenVerify or TokenChangeEmail
	Hash   string // hex SHA-256 of the token's 32 bytes; unique
	// Email is the address the link was sent to, for TokenVerify and
	// TokenChangeEmail (the new address); empty for TokenReset.
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time // the token is refused from ExpiresAt on
	UsedAt    time.Time // zero until the token is used or superseded
}

// OutboxMessage is one mail waiting in, or delivered from, the outbox.
type OutboxMessage struct {
	ID       string // UUID
	Template string // TemplateVerifyEmail, TemplateResetPassword, TemplateEmailChanged or TemplateConfirmNewEmail
	To       string // recipient address
	// Payload is the message's MailData as JSON, sealed with the outbox
	// MailSealer with ID as additional data (see OpenMailData); the store
	// keeps it opaque and wipes it once the message is sent or given up.
	Payload                  []byte
	Attempts                 int
	CreatedAt, NextAttemptAt time.Time
}

// MailData is what a message's template is filled with. Link holds a raw
// token until the message is delivered, which is why payloads are sealed.
type MailData struct {
	Link      string `json:"link,omitempty"` // the reset, verification or confirmation link
	Login     string `json:"login"`
	FirstName string `json:"firstName"`
	NewEmail  string `json:"newEmail,omitempty"` // email-changed, confirm-new-email: the new address
}

// MailSealer encrypts and authenticates outbox payloads under a key that is
// not in the database; token.Sealer implements it.
type MailSealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// AccountMail is a message and the token its link carries (nil for a
// message without a link), stored together.
type AccountMail struct {
	Token   *AccountToken
	Message *OutboxMessage
}

// MailRequest is a request to send mail to an address, counted against
// that address's throttle record.
type MailRequest struct {
	// ThrottleKey is the address's throttle key (a keyed hash, as for
	// login failures); empty counts nothing and always stores Mail.
	ThrottleKey string
	At          time.Time
	// WindowStart: a record whose window began at or before it starts
	// over (the zero time forgets nothing).
	WindowStart time.Time
	// Max is how many requests of one window may store their mail.
	Max int64
	// Mail is stored if the request is within Max; nil for an address
	// that has no account (the request is still counted).
	Mail *AccountMail
}

// PasswordReset is what ResetPassword does in one transaction.
type PasswordReset struct {
	TokenHash    string // the reset token to consume
	UserID       string // its user
	PasswordHash string
	// ThrottleKey is the login's failed-signin record to clear.
	ThrottleKey string
	// Session is the new session to open; every other one is revoked. Nil
	// opens none: an account with a second factor completes its signin
	// through POST /auth/mfa/verify.
	Session *Session
	At      time.Time
}

// EmailChange is what ChangeEmail does in one transaction.
type EmailChange struct {
	TokenHash   string // the change-email token to consume
	UserID      string
	NewEmail    string // as the token holds it
	NewEmailKey string // Fold(NewEmail)
	// Notice is the message telling the old address; stored with the change.
	Notice *OutboxMessage
	At     time.Time
}

// AccountStore persists account tokens, the mail they cause and the
// per-address mail throttle.
type AccountStore interface {
	// RequestMail counts one request against r.ThrottleKey's record (a
	// record whose window began at or before r.WindowStart starts over at
	// r.At)
	// and, if the count is at most r.Max and r.Mail is set, stores r.Mail
	// in the same transaction: its token, after marking every unused token
	// of the same user and kind used at r.At (a new link supersedes older
	// ones), and its message. It reports whether it stored r.Mail. The
	// limit is a rule of the Service that the store applies inside the
	// transaction, so that concurrent requests cannot all pass it.
	RequestMail(ctx context.Context, r *MailRequest) (stored bool, err error)
	// AccountToken returns the token whose Hash is hash, used or not, or
	// ErrNotFound.
	AccountToken(ctx context.Context, hash string) (*AccountToken, error)
	// ResetPassword consumes r.TokenHash (a TokenReset of r.UserID, unused
	// and expiring after r.At: it is marked used at r.At), sets the user's
	// password hash, marks its other unused reset tokens used, revokes every
	// live session of the user, clears r.ThrottleKey's failure record and
	// creates r.Session (if not nil), in one transaction. It returns ErrNotFound and
	// changes nothing if the token cannot be consumed, including when a
	// concurrent call consumed it first.
	ResetPassword(ctx context.Context, r *PasswordReset) error
	// ChangePassword sets the password hash of userID, marks its unused
	// reset tokens used, revokes every live session of it but keepSession
	// (which may be empty) and clears throttleKey's failure record (none
	// if empty), in one transaction, and returns how many sessions it
	// revoked. It returns ErrNotFound if there is no such user.
	ChangePassword(ctx context.Context, userID, hash, keepSession, throttleKey string, at time.Time) (int64, error)
	// VerifyEmail consumes tokenHash (a TokenVerify of userID, unused and
	// expiring after at) and sets the user's EmailVerifiedAt to at unless it
	// is set, in one transaction; ErrNotFound if the token cannot be
	// consumed.
	VerifyEmail(ctx context.Context, tokenHash, userID string, at time.Time) error
	// ChangeEmail consumes c.TokenHash (a TokenChangeEmail of c.UserID for
	// c.NewEmail, unused and expiring after c.At), makes c.NewEmail the
	// user's email (EmailVerifiedAt and UpdatedAt c.At), marks the user's
	// other unused verify and change-email tokens used and stores c.Notice,
	// in one transaction. It returns ErrNotFound if the token cannot be
	// consumed, and an error wrapping ErrDuplicate, changing nothing, if
	// another user holds c.NewEmailKey.
	ChangeEmail(ctx context.Context, c *EmailChange) error
	// SetEmailVerified sets EmailVerifiedAt of user id to at unless it is
	// set, or returns ErrNotFound.
	SetEmailVerified(ctx context.Context, id string, at time.Time) error
	// DeleteAccountTokens deletes tokens that expired before before, and
	// mail throttle records whose window began before windowBefore, and
	// returns how many rows it deleted.
	DeleteAccountTokens(ctx context.Context, before, windowBefore time.Time) (int64, error)
}

// OutboxStore delivers the outbox to a sender; several instances share it.
type OutboxStore interface {
	// ClaimOutbox leases up to limit messages that are unsent, not failed,
	// due (NextAttemptAt <= now) and not leased by another owner past now,
	// to owner until now+lease, in one statement (UPDATE … RETURNING, with
	// FOR UPDATE SKIP LOCKED on PostgreSQL), oldest first. A message is
	// claimed by one owner at a time.
	ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error)
	// MarkSent records delivery of a message owner holds: sets sent_at,
	// wipes the payload, clears the lease. ErrNotFound if owner no longer
	// holds it.
	MarkSent(ctx context.Context, id, owner string, at time.Time) error
	// RetryLater records a failed attempt: attempts+1, next_attempt_at =
	// next, last_error (truncated to 500 bytes), lease cleared. ErrNotFound
	// if owner no longer holds it.
	RetryLater(ctx context.Context, id, owner string, next time.Time, lastError string) error
	// MarkFailed gives a message up: failed_at, last_error (truncated to
	// 500 bytes), payload wiped, lease cleared. ErrNotFound if owner no
	// longer holds it.
	MarkFailed(ctx context.Context, id, owner string, at time.Time, lastError string) error
}
