package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// An account token is 32 random bytes, given to the user as base64url
// without padding (43 characters) inside a link, and stored only as the hex
// SHA-256 of the 32 bytes: a copy of the database holds no usable link.
const (
	accountTokenBytes = 32
	accountTokenLen   = (accountTokenBytes*8 + 5) / 6
)

// Default link templates and lifetimes of account tokens.
const (
	DefaultResetURL  = "http://localhost:3000/reset-password?token={token}"
	DefaultVerifyURL = "http://localhost:3000/verify-email?token={token}"
	DefaultResetTTL  = 30 * time.Minute
	DefaultVerifyTTL = 24 * time.Hour
)

// MailThrottle bounds the mail requests of one address: at most Max in a
// window of Window that starts at the first request. Requests beyond it
// are answered as the others but send nothing.
type MailThrottle struct {
	Max    int
	Window time.Duration
}

// DefaultMailThrottle is the MailThrottle whose values replace the zero
// fields of Config.MailThrottle: 3 mails per address per hour.
var DefaultMailThrottle = MailThrottle{Max: 3, Window: time.Hour}

// CheckLinkTemplate reports whether tmpl can build links: an absolute http
// or https URL holding "{token}".
func CheckLinkTemplate(tmpl string) error {
	if !strings.Contains(tmpl, "{token}") {
		return errors.New("must contain {token}")
	}
	u, err := url.Parse(strings.ReplaceAll(tmpl, "{token}", "x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https URL")
	}
	return nil
}

// mailer builds account tokens and the sealed outbox messages carrying
// them; the Service and Admin share it.
type mailer struct {
	sealer              MailSealer // nil: no mail can be built
	rand                io.Reader
	resetURL, verifyURL string
	resetTTL, verifyTTL time.Duration
}

// errNoMail is the internal error of a mail the configuration cannot send.
var errNoMail = errors.New("auth: mail is not configured (no MailSealer)")

// newToken returns a new token of kind for userID (email: the address the
// link goes to, for verify and change-email), and its raw form for the link.
func (m *mailer) newToken(userID, kind, email string, now time.Time) (raw string, t *AccountToken, err error) {
	raw, hash, err := newSecretToken(m.rand)
	if err != nil {
		return "", nil, fmt.Errorf("account token: %w", err)
	}
	id, err := newUUID(m.rand)
	if err != nil {
		return "", nil, fmt.Errorf("account token: %w", err)
	}
	ttl := m.verifyTTL
	if kind == TokenReset {
		ttl = m.resetTTL
	}
	t = &AccountToken{
		ID: id, UserID: userID, Kind: kind, Hash: hash, Email: email,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
	return raw, t, nil
}

// newSecretToken returns a new token for a link or an mfa_token, read from
// r: accountTokenBytes random bytes as the user gets them (raw, base64url)
// and as they are stored (hash, what tokenHash(raw) gives).
func newSecretToken(r io.Reader) (raw, hash string, err error) {
	b := make([]byte, accountTokenBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(b), hex.EncodeToString(sum[:]), nil
}

// tokenHash returns the stored hash of a token as the user presents it,
// and false if it cannot be one of ours.
func tokenHash(raw string) (string, bool) {
	if len(raw) != accountTokenLen {
		return "", false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil || len(b) != accountTokenBytes {
		return "", false
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), true
}

// link is the link template tmpl with the token in it.
func link(tmpl, raw string) string {
	return strings.ReplaceAll(tmpl, "{token}", url.QueryEscape(raw))
}

// message returns a new outbox message of template to to, due now, with
// data sealed under the message's id.
func (m *mailer) message(template, to string, data MailData, now time.Time) (*OutboxMessage, error) {
	if m.sealer == nil {
		return nil, errNoMail
	}
	id, err := newUUID(m.rand)
	if err != nil {
		return nil, fmt.Errorf("outbox message: %w", err)
	}
	plain, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("outbox message: %w", err)
	}
	sealed, err := m.sealer.Seal(plain, []byte(id))
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("outbox message: seal: %w", err)
	}
	return &OutboxMessage{ID: id, Template: template, To: to, Payload: sealed, CreatedAt: now, NextAttemptAt: now}, nil
}

// tokenMail returns a token of kind for u and the message of template,
// to to, that carries its link (built from tmpl).
func (m *mailer) tokenMail(u *User, kind, template, to, tmpl string, now time.Time) (*AccountMail, error) {
	email := ""
	if kind != TokenReset {
		email = to
	}
	raw, t, err := m.newToken(u.ID, kind, email, now)
	if err != nil {
		return nil, err
	}
	data := MailData{Link: link(tmpl, raw), Login: u.Login, FirstName: u.FirstName}
	if kind == TokenChangeEmail {
		data.NewEmail = to
	}
	msg, err := m.message(template, to, data, now)
	if err != nil {
		return nil, err
	}
	return &AccountMail{Token: t, Message: msg}, nil
}

// resetMail is a reset link for u, to its address.
func (m *mailer) resetMail(u *User, now time.Time) (*AccountMail, error) {
	return m.tokenMail(u, TokenReset, TemplateResetPassword, u.Email, m.resetURL, now)
}

// verifyMail is a verification link for u, to its address.
func (m *mailer) verifyMail(u *User, now time.Time) (*AccountMail, error) {
	return m.tokenMail(u, TokenVerify, TemplateVerifyEmail, u.Email, m.verifyURL, now)
}

// OpenMailData opens the payload of message m, sealed by the Service, with
// the same sealer: the mail sender's side of the outbox.
func OpenMailData(sealer MailSealer, m *OutboxMessage) (MailData, error) {
	var d MailData
	plain, err := sealer.Open(m.Payload, []byte(m.ID))
	if err != nil {
		return d, fmt.Errorf("outbox message %s: %w", m.ID, err)
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, &d); err != nil {
		return d, fmt.Errorf("outbox message %s: %w", m.ID, err)
	}
	return d, nil
}
