package auth

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it. The HTTP layer
// maps each kind to one status code; every other error is internal.
type Kind uint8

// Error kinds.
const (
	KindInternal        Kind = iota // a fault of ours: 500, details only in the log
	KindInvalid                     // the request is wrong: 400
	KindConflict                    // a uniqueness rule refused it: 400 in the seed API
	KindUnauthorized                // bad, expired or revoked credentials: 401
	KindNotFound                    // no such thing: 404
	KindBusy                        // the server is saturated, retry later: 503
	KindUnavailable                 // a dependency (the database) is down: 503
	KindTooManyRequests             // a throttle refused the request: 429, with Error.RetryAfter
	KindForbidden                   // the credentials are right but the account may not do this: 403
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindConflict:
		return "conflict"
	case KindUnauthorized:
		return "unauthorized"
	case KindNotFound:
		return "not found"
	case KindBusy:
		return "busy"
	case KindUnavailable:
		return "unavailable"
	case KindTooManyRequests:
		return "too many requests"
	case KindForbidden:
		return "forbidden"
	}
	return "internal"
}

// Error is the one error type of the domain. Message is safe to show to the
// client; Messages, when set, lists every validation failure of a request in
// order. Op and Err are for logs only.
type Error struct {
	Kind     Kind
	Message  string
	Messages []string
	Op       string
	Err      error
	// RetryAfter is how long the client should wait before retrying, for
	// KindTooManyRequests; zero when there is no particular delay.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Messages) > 0 {
		msg = fmt.Sprint(e.Messages)
	}
	switch {
	case e.Op != "" && e.Err != nil:
		return fmt.Sprintf("%s: %s: %v", e.Op, msg, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", msg, e.Err)
	case e.Op != "":
		return e.Op + ": " + msg
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorKind returns the Kind of the first *Error in err's chain, or
// KindInternal if there is none.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorMessages returns the client-facing messages of err: the validation list,
// or the single message. It returns nil for internal errors, whose text must
// not reach a client.
func ErrorMessages(err error) []string {
	var e *Error
	if !errors.As(err, &e) || e.Kind == KindInternal {
		return nil
	}
	if len(e.Messages) > 0 {
		return e.Messages
	}
	return []string{e.Message}
}

// IsKind reports whether err carries kind k.
func IsKind(err error, k Kind) bool { return ErrorKind(err) == k }

// Sentinel errors the Store returns, wrapped with %w as needed; test with errors.Is.
var (
	// ErrNotFound: no row matches.
	ErrNotFound = &Error{Kind: KindNotFound, Message: "Not found"}
	// ErrDuplicate: a unique key (login or email) is already taken.
	ErrDuplicate = &Error{Kind: KindConflict, Message: "Already exists"}
	// ErrStale: a compare-and-swap found the row changed or revoked.
	ErrStale = &Error{Kind: KindConflict, Message: "Stale"}
)

// Client-facing errors with the original service's wording.
var (
	ErrLoginUsed         = &Error{Kind: KindConflict, Message: "Login already used"}
	ErrEmailUsed         = &Error{Kind: KindConflict, Message: "Email already used"}
	ErrLoginAndEmailUsed = &Error{Kind: KindConflict, Message: "Login and email already used"}
	ErrBadCredentials    = &Error{Kind: KindInvalid, Message: "The login or password is incorrect"}
	ErrEmptyRefresh      = &Error{Kind: KindInvalid, Message: "Refresh token must not be empty"}
	ErrInvalidToken      = &Error{Kind: KindUnauthorized, Message: "Invalid token"}
	ErrTokenExpired      = &Error{Kind: KindUnauthorized, Message: "Token expired"}
	ErrEmptyBearer       = &Error{Kind: KindUnauthorized, Message: "Unauthorised user (empty bearer token)"}
	ErrSessionNotFound   = &Error{Kind: KindNotFound, Message: "Session not found"}
	ErrBusy              = &Error{Kind: KindBusy, Message: "Service busy, please retry"}
	// ErrInvalidLink answers a used, expired, superseded or unknown
	// account token (reset, verification or email change).
	ErrInvalidLink = &Error{Kind: KindInvalid, Message: "Invalid or expired link"}
	// ErrEmailNotVerified refuses the signin of an unverified account when
	// Config.RequireVerifiedEmail is set, after its password was found
	// correct.
	ErrEmailNotVerified = &Error{Kind: KindForbidden, Message: "Email not verified"}
	// ErrTooManyRequests is the wording of every throttle refusal. A refusal
	// is a new *Error of the same Kind and Message carrying its RetryAfter;
	// test for it with IsKind(err, KindTooManyRequests).
	ErrTooManyRequests = &Error{Kind: KindTooManyRequests, Message: "Too many requests, please try again later."}
)
