package auth

import (
	"context"
	"time"
)

// OutboxMessage is one mail waiting in, or delivered from, the outbox.
type OutboxMessage struct {
	ID       string // UUID
	Template string // "verify-email", "reset-password", "email-changed", "confirm-new-email"
	To       string // recipient address
	// Payload is the message's MailData as JSON, sealed (AES-256-GCM) with
	// the row id as additional data: it holds a link token until delivery.
	Payload                  []byte
	Attempts                 int
	CreatedAt, NextAttemptAt time.Time
}

// MailData is what a mail template may use.
type MailData struct {
	Link      string `json:"link,omitempty"` // the reset or verification link, with its token
	Login     string `json:"login,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	NewEmail  string `json:"newEmail,omitempty"`
}

// OutboxStore delivers the outbox to a sender; several instances share it.
type OutboxStore interface {
	// ClaimOutbox leases up to limit messages that are unsent, not failed, due (NextAttemptAt <= now) and not leased by another owner past now, to owner until now+lease, oldest first. A message is claimed by one owner at a time.
	ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error)
	// MarkSent records delivery of a message owner holds: sent_at, payload wiped, lease cleared. ErrNotFound if owner no longer holds it.
	MarkSent(ctx context.Context, id, owner string, at time.Time) error
	// RetryLater records a failed attempt: attempts+1, next_attempt_at = next, last_error (truncated), lease cleared. ErrNotFound if owner no longer holds it.
	RetryLater(ctx context.Context, id, owner string, next time.Time, lastError string) error
	// MarkFailed gives a message up: failed_at, last_error, payload wiped, lease cleared.
	MarkFailed(ctx context.Context, id, owner string, at time.Time, lastError string) error
}
