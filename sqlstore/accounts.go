package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authstore/auth"
)

const (
	tokenColumns   = `id, user_id, kind, token_hash, new_email, created_at, expires_at, used_at`
	outboxReturned = `id, created_at, template, recipient, payload, attempts, next_attempt_at`
)

// accountQueries are the statements of auth.AccountStore and
// auth.OutboxStore.
type accountQueries struct {
	throttleMail, supersedeTokens, createToken, createMessage string
	accountToken, consumeToken, consumeTokenFor               string
	setEmailVerified, changeEmail                             string
	deleteTokens, deleteMailThrottle                          string

	// claimOutbox's arguments are in claimArgs's order for the dialect.
	claimOutbox                      string
	claimArgs                        func(owner string, until, now int64, limit int) []any
	markSent, retryLater, markFailed string
}

func newAccountQueries(bind func(string) string) accountQueries {
	const claimable = `sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)`
	q := accountQueries{
		throttleMail: bind(`INSERT INTO mail_throttle (address_key, requests, window_start) VALUES (?, 1, ?)
			ON CONFLICT (address_key) DO UPDATE SET
				requests = CASE WHEN mail_throttle.window_start <= ? THEN 1 ELSE mail_throttle.requests + 1 END,
				window_start = CASE WHEN mail_throttle.window_start <= ? THEN excluded.window_start ELSE mail_throttle.window_start END
			RETURNING requests`),
		supersedeTokens: bind(`UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND kind = ? AND used_at IS NULL`),
		createToken:     bind(`INSERT INTO account_tokens (` + tokenColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		createMessage: bind(`INSERT INTO mail_outbox (id, created_at, template, recipient, payload, attempts, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`),
		accountToken: bind(`SELECT ` + tokenColumns + ` FROM account_tokens WHERE token_hash = ?`),
		consumeToken: bind(`UPDATE account_tokens SET used_at = ?
			WHERE token_hash = ? AND kind = ? AND user_id = ? AND used_at IS NULL AND expires_at > ?`),
		consumeTokenFor: bind(`UPDATE account_tokens SET used_at = ?
			WHERE token_hash = ? AND kind = ? AND user_id = ? AND used_at IS NULL AND expires_at > ? AND new_email = ?`),
		setEmailVerified: bind(`UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?) WHERE id = ?`),
		changeEmail:      bind(`UPDATE users SET email = ?, email_key = ?, email_verified_at = ?, updated_at = ? WHERE id = ?`),
		deleteTokens: bind(`DELETE FROM account_tokens WHERE id IN
			(SELECT id FROM account_tokens WHERE expires_at < ? LIMIT ?)`),
		deleteMailThrottle: bind(`DELETE FROM mail_throttle WHERE address_key IN
			(SELECT address_key FROM mail_throttle WHERE window_start < ? LIMIT ?)`),

		markSent: bind(`UPDATE mail_outbox SET sent_at = ?, payload = ?, lease_owner = NULL, lease_until = NULL
			WHERE id = ? AND lease_owner = ? AND sent_at IS NULL AND failed_at IS NULL`),
		retryLater: bind(`UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
			WHERE id = ? AND lease_owner = ? AND sent_at IS NULL AND failed_at IS NULL`),
		markFailed: bind(`UPDATE mail_outbox SET failed_at = ?, last_error = ?, payload = ?, lease_owner = NULL, lease_until = NULL
			WHERE id = ? AND lease_owner = ? AND sent_at IS NULL AND failed_at IS NULL`),
	}
	if bind("?") == "?" {
		// SQLite: its single writer runs one statement at a time, so the
		// subquery and the update see the same rows.
		q.claimOutbox = bind(`UPDATE mail_outbox SET lease_owner = ?, lease_until = ?
			WHERE id IN (SELECT id FROM mail_outbox WHERE ` + claimable + ` ORDER BY created_at, id LIMIT ?)
			RETURNING ` + outboxReturned)
		q.claimArgs = func(owner string, until, now int64, limit int) []any {
			return []any{owner, until, now, now, limit}
		}
	} else {
		// PostgreSQL: rows another claim has locked are skipped, and a
		// row it updated meanwhile is re-checked against the condition.
		q.claimOutbox = bind(`WITH due AS (SELECT id FROM mail_outbox WHERE ` + claimable + `
				ORDER BY created_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
			UPDATE mail_outbox SET lease_owner = ?, lease_until = ? FROM due WHERE mail_outbox.id = due.id
			RETURNING mail_outbox.id, mail_outbox.created_at, mail_outbox.template, mail_outbox.recipient,
				mail_outbox.payload, mail_outbox.attempts, mail_outbox.next_attempt_at`)
		q.claimArgs = func(owner string, until, now int64, limit int) []any {
			return []any{now, now, limit, owner, until}
		}
	}
	return q
}

// inTx runs f in a transaction on the write pool and commits it if f
// returns nil; any error is given op's context and classified.
func (db *DB) inTx(ctx context.Context, op string, f func(ctx context.Context, tx *sql.Tx) error) error {
	ctx, cancel := db.call(ctx)
	defer cancel()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	defer tx.Rollback() // a no-op after Commit
	if err := f(ctx, tx); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		return db.wrap(ctx, op, err)
	}
	if err := tx.Commit(); err != nil {
		return db.wrap(ctx, op, err)
	}
	return nil
}

// storeMail inserts m's token, after marking the unused tokens of its user
// and kind used at at, and m's message, in tx.
func (db *DB) storeMail(ctx context.Context, tx *sql.Tx, m *auth.AccountMail, at time.Time) error {
	q := &db.q.accounts
	if t := m.Token; t != nil {
		if _, err := tx.ExecContext(ctx, q.supersedeTokens, millis(at), t.UserID, t.Kind); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q.createToken, t.ID, t.UserID, t.Kind, t.Hash, nullString(t.Email),
			millis(t.CreatedAt), millis(t.ExpiresAt), nullMillis(t.UsedAt)); err != nil {
			return err
		}
	}
	if msg := m.Message; msg != nil {
		return db.insertMessage(ctx, tx, msg)
	}
	return nil
}

func (db *DB) insertMessage(ctx context.Context, tx *sql.Tx, m *auth.OutboxMessage) error {
	_, err := tx.ExecContext(ctx, db.q.accounts.createMessage, m.ID, millis(m.CreatedAt), m.Template, m.To,
		nonNil(m.Payload), m.Attempts, millis(m.NextAttemptAt))
	return err
}

// RequestMail counts one request against r.ThrottleKey and, within r.Max,
// stores r.Mail, in one transaction: see auth.AccountStore.
func (db *DB) RequestMail(ctx context.Context, r *auth.MailRequest) (stored bool, err error) {
	err = db.inTx(ctx, "request mail", func(ctx context.Context, tx *sql.Tx) error {
		if r.ThrottleKey != "" {
			var n int64
			ws := cutoff(r.WindowStart)
			if err := tx.QueryRowContext(ctx, db.q.accounts.throttleMail, r.ThrottleKey, millis(r.At), ws, ws).Scan(&n); err != nil {
				return err
			}
			if n > r.Max {
				return nil
			}
		}
		if r.Mail == nil {
			return nil
		}
		if err := db.storeMail(ctx, tx, r.Mail, r.At); err != nil {
			return err
		}
		stored = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return stored, nil
}

// AccountToken returns the token whose hash is hash, used or not, or an
// error wrapping auth.ErrNotFound.
func (db *DB) AccountToken(ctx context.Context, hash string) (*auth.AccountToken, error) {
	ctx, cancel := db.call(ctx)
	defer cancel()
	var (
		t                auth.AccountToken
		email            sql.NullString
		created, expires int64
		used             sql.NullInt64
	)
	err := db.queryRow(ctx, false, db.q.accounts.accountToken, hash).Scan(&t.ID, &t.UserID, &t.Kind, &t.Hash, &email, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: account token: %w", auth.ErrNotFound)
	}
	if err != nil {
		return nil, db.wrap(ctx, "account token", err)
	}
	t.Email = email.String
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMillis(created), fromMillis(expires), fromNullMillis(used)
	return &t, nil
}

// consume marks the token used at at in tx if it is of kind and userID
// (and of email, unless email is ""), unused and unexpired; otherwise it
// returns auth.ErrNotFound.
func (db *DB) consume(ctx context.Context, tx *sql.Tx, hash, kind, userID, email string, at time.Time) error {
	query, args := db.q.accounts.consumeToken, []any{millis(at), hash, kind, userID, millis(at)}
	if email != "" {
		query, args = db.q.accounts.consumeTokenFor, append(args, email)
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return auth.ErrNotFound
	}
	return nil
}

// execAll runs each statement with its arguments in tx.
func execAll(ctx context.Context, tx *sql.Tx, stmts ...[]any) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s[0].(string), s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// ResetPassword consumes the reset token and changes the password,
// sessions and throttle record in one transaction: see auth.AccountStore.
func (db *DB) ResetPassword(ctx context.Context, r *auth.PasswordReset) error {
	return db.inTx(ctx, "reset password", func(ctx context.Context, tx *sql.Tx) error {
		if err := db.consume(ctx, tx, r.TokenHash, auth.TokenReset, r.UserID, "", r.At); err != nil {
			return err
		}
		if err := db.setPassword(ctx, tx, r.UserID, r.PasswordHash, "", r.ThrottleKey, r.At, nil); err != nil {
			return err
		}
		s := r.Session
		if s == nil {
			return nil
		}
		return execAll(ctx, tx, []any{db.q.createSession,
			s.ID, s.UserID, s.Generation, millis(s.RotatedAt), millis(s.CreatedAt),
			millis(s.LastUsedAt), nullMillis(s.RevokedAt), s.UserAgent, s.IP, joinAMR(s.AMR)})
	})
}

// setPassword sets the user's password hash, marks its unused reset tokens
// used, revokes its live sessions but keep and clears throttleKey's record
// (none if empty), in tx; revoked, if not nil, gets the number of sessions
// revoked. It returns auth.ErrNotFound if there is no such user.
func (db *DB) setPassword(ctx context.Context, tx *sql.Tx, userID, hash, keep, throttleKey string, at time.Time, revoked *int64) error {
	res, err := tx.ExecContext(ctx, db.q.setPasswordHash, hash, millis(at), userID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return auth.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, db.q.accounts.supersedeTokens, millis(at), userID, auth.TokenReset); err != nil {
		return err
	}
	res, err = tx.ExecContext(ctx, db.q.revokeUserSessions, millis(at), userID, keep)
	if err != nil {
		return err
	}
	if revoked != nil {
		if *revoked, err = res.RowsAffected(); err != nil {
			return err
		}
	}
	if throttleKey != "" {
		if _, err := tx.ExecContext(ctx, db.q.clearLoginFailures, throttleKey); err != nil {
			return err
		}
	}
	return nil
}

// ChangePassword sets the password and revokes the other sessions in one
// transaction: see auth.AccountStore.
func (db *DB) ChangePassword(ctx context.Context, userID, hash, keepSession, throttleKey string, at time.Time) (int64, error) {
	var n int64
	err := db.inTx(ctx, "change password", func(ctx context.Context, tx *sql.Tx) error {
		return db.setPassword(ctx, tx, userID, hash, keepSession, throttleKey, at, &n)
	})
	return n, err
}

// VerifyEmail consumes the verification token and marks the address
// verified in one transaction: see auth.AccountStore.
func (db *DB) VerifyEmail(ctx context.Context, tokenHash, userID string, at time.Time) error {
	return db.inTx(ctx, "verify email", func(ctx context.Context, tx *sql.Tx) error {
		if err := db.consume(ctx, tx, tokenHash, auth.TokenVerify, userID, "", at); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.q.accounts.setEmailVerified, millis(at), userID)
		return err
	})
}

// ChangeEmail consumes the change-email token and changes the address in
// one transaction: see auth.AccountStore.
func (db *DB) ChangeEmail(ctx context.Context, c *auth.EmailChange) error {
	return db.inTx(ctx, "change email", func(ctx context.Context, tx *sql.Tx) error {
		if err := db.consume(ctx, tx, c.TokenHash, auth.TokenChangeEmail, c.UserID, c.NewEmail, c.At); err != nil {
			return err
		}
		at := millis(c.At)
		err := execAll(ctx, tx,
			[]any{db.q.accounts.changeEmail, c.NewEmail, c.NewEmailKey, at, at, c.UserID},
			[]any{db.q.accounts.supersedeTokens, at, c.UserID, auth.TokenVerify},
			[]any{db.q.accounts.supersedeTokens, at, c.UserID, auth.TokenChangeEmail})
		if err != nil {
			return err
		}
		if c.Notice != nil {
			return db.insertMessage(ctx, tx, c.Notice)
		}
		return nil
	})
}

// SetEmailVerified sets email_verified_at of user id to at unless it is
// set, or returns an error wrapping auth.ErrNotFound.
func (db *DB) SetEmailVerified(ctx context.Context, id string, at time.Time) error {
	return db.update(ctx, "set email verified", db.q.accounts.setEmailVerified, millis(at), id)
}

// DeleteAccountTokens deletes tokens expired before before and mail
// throttle records whose window began before windowBefore, in chunks (see
// deleteChunks); a zero time matches nothing.
func (db *DB) DeleteAccountTokens(ctx context.Context, before, windowBefore time.Time) (int64, error) {
	n, err := db.deleteChunks(ctx, "delete account tokens", db.q.accounts.deleteTokens, cutoff(before))
	if err != nil {
		return n, err
	}
	m, err := db.deleteChunks(ctx, "delete mail throttle", db.q.accounts.deleteMailThrottle, cutoff(windowBefore))
	return n + m, err
}

// ClaimOutbox leases up to limit due messages to owner until now+lease in
// one statement, oldest first: see auth.OutboxStore.
func (db *DB) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]auth.OutboxMessage, error) {
	const op = "claim outbox"
	if limit < 1 {
		return nil, nil
	}
	ctx, cancel := db.call(ctx)
	defer cancel()
	q := &db.q.accounts
	st, err := db.ws.get(ctx, q.claimOutbox)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	rows, err := st.QueryContext(ctx, q.claimArgs(owner, millis(now.Add(lease)), millis(now), limit)...)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	defer rows.Close()
	var out []auth.OutboxMessage
	for rows.Next() {
		var (
			m             auth.OutboxMessage
			created, next int64
		)
		if err := rows.Scan(&m.ID, &created, &m.Template, &m.To, &m.Payload, &m.Attempts, &next); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		m.CreatedAt, m.NextAttemptAt = fromMillis(created), fromMillis(next)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	// RETURNING promises no order.
	slices.SortFunc(out, func(a, b auth.OutboxMessage) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// MarkSent records the delivery of a message owner holds: see
// auth.OutboxStore.
func (db *DB) MarkSent(ctx context.Context, id, owner string, at time.Time) error {
	return db.update(ctx, "mark sent", db.q.accounts.markSent, millis(at), []byte{}, id, owner)
}

// RetryLater records a failed attempt of a message owner holds: see
// auth.OutboxStore.
func (db *DB) RetryLater(ctx context.Context, id, owner string, next time.Time, lastError string) error {
	return db.update(ctx, "retry later", db.q.accounts.retryLater, millis(next), errorText(lastError), id, owner)
}

// MarkFailed gives up a message owner holds: see auth.OutboxStore.
func (db *DB) MarkFailed(ctx context.Context, id, owner string, at time.Time, lastError string) error {
	return db.update(ctx, "mark failed", db.q.accounts.markFailed, millis(at), errorText(lastError), []byte{}, id, owner)
}

// maxErrorBytes bounds the last_error kept of a message.
const maxErrorBytes = 500

// errorText is s as valid UTF-8 without NUL (which PostgreSQL refuses in
// text), cut to maxErrorBytes without splitting a character.
func errorText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= maxErrorBytes {
		return s
	}
	n := maxErrorBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// nullString is the stored form of s, NULL for "".
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
