// Package mail delivers authstore's outbox: it renders each message from a
// template (plain text and HTML, a subject per template), hands it to a
// Transport (SMTP through github.com/wneessen/go-mail, or the log for
// development) and records the outcome in the auth.OutboxStore that several
// instances share.
//
// Delivery is at least once: a message whose delivery succeeded but whose
// MarkSent was lost (a crash in between, a lease that ran out) is sent again
// by whoever claims it next. The lease and the per-batch deadline (see
// Sender) make that rare.
package mail

import (
	"context"
	"errors"
)

// Message is one rendered mail, ready for a Transport. Text and HTML hold
// the link and its token: they are never logged, except by the log
// transport, which exists for development.
type Message struct {
	ID      string // the outbox message's id, for the Message-ID header and logs
	To      string
	Subject string
	Text    string
	HTML    string
}

// Transport delivers rendered messages.
type Transport interface {
	// Send delivers msgs in order, over one connection where the transport
	// has connections, and returns one error per message, in order: nil
	// when the server accepted it. An error is a *DeliveryError when the
	// transport knows whether it is permanent; any other error counts as
	// transient. A message left unattempted because ctx ended gets an error
	// wrapping ErrNotAttempted. Errors never hold a password, a body or a
	// link.
	Send(ctx context.Context, msgs []Message) []error
}

// ErrNotAttempted is wrapped by the error of a message a Transport did not
// try to deliver (its context ended first): the sender leaves it to be
// claimed again once its lease runs out, counting no attempt.
var ErrNotAttempted = errors.New("mail: not attempted")

// DeliveryError is a failed delivery, classified.
type DeliveryError struct {
	// Permanent is true when retrying cannot help (an SMTP 5xx reply, an
	// address the library refuses), false when it may (a 4xx reply, a
	// connection refused or cut, a timeout).
	Permanent bool
	// Code is the SMTP reply code, or 0 when the server gave none.
	Code int
	// Msg describes the failure, with any password removed.
	Msg string
}

func (e *DeliveryError) Error() string { return e.Msg }

// IsPermanent reports whether err is a *DeliveryError marked permanent.
func IsPermanent(err error) bool {
	var de *DeliveryError
	return errors.As(err, &de) && de.Permanent
}
