package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/authstore/auth"
)

// mfaQueries are the statements of auth.MFAStore.
type mfaQueries struct {
	totp, putPendingTOTP, activateTOTP, useTOTPStep, deleteTOTP string
	useRecoveryCode, recoveryCodesLeft, deleteRecoveryCodes     string
	createRecoveryCode, activeTOTP                              string
	createMFAToken, mfaToken, consumeMFAToken, deleteMFATokens  string
	deleteUserMFATokens                                         string
}

func newMFAQueries(bind func(string) string) mfaQueries {
	return mfaQueries{
		totp: bind(`SELECT user_id, secret, created_at, confirmed_at, last_step FROM user_totp WHERE user_id = ?`),
		// The WHERE of the upsert keeps an active authenticator: the
		// statement then changes no row.
		putPendingTOTP: bind(`INSERT INTO user_totp (user_id, secret, created_at, confirmed_at, last_step) VALUES (?, ?, ?, NULL, 0)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0
			WHERE user_totp.confirmed_at IS NULL`),
		activateTOTP: bind(`UPDATE user_totp SET confirmed_at = ?, last_step = ?
			WHERE user_id = ? AND confirmed_at IS NULL AND secret = ?`),
		useTOTPStep: bind(`UPDATE user_totp SET last_step = ?
			WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?`),
		activeTOTP: bind(`SELECT count(*) FROM user_totp WHERE user_id = ? AND confirmed_at IS NOT NULL`),
		deleteTOTP: bind(`DELETE FROM user_totp WHERE user_id = ?`),

		useRecoveryCode: bind(`UPDATE recovery_codes SET used_at = ?
			WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`),
		recoveryCodesLeft:   bind(`SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`),
		deleteRecoveryCodes: bind(`DELETE FROM recovery_codes WHERE user_id = ?`),
		createRecoveryCode:  bind(`INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES (?, ?, ?, NULL)`),

		createMFAToken:      bind(`INSERT INTO mfa_tokens (token_hash, user_id, amr, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
		mfaToken:            bind(`SELECT token_hash, user_id, amr, created_at, expires_at FROM mfa_tokens WHERE token_hash = ?`),
		consumeMFAToken:     bind(`DELETE FROM mfa_tokens WHERE token_hash = ? AND expires_at > ?`),
		deleteUserMFATokens: bind(`DELETE FROM mfa_tokens WHERE user_id = ?`),
		deleteMFATokens: bind(`DELETE FROM mfa_tokens WHERE token_hash IN
			(SELECT token_hash FROM mfa_tokens WHERE expires_at < ? LIMIT ?)`),
	}
}

// TOTP returns userID's authenticator, pending or active, or an error
// wrapping auth.ErrNotFound.
func (db *DB) TOTP(ctx context.Context, userID string) (*auth.TOTP, error) {
	const op = "totp"
	ctx, cancel := db.call(ctx)
	defer cancel()
	var (
		t         auth.TOTP
		created   int64
		confirmed sql.NullInt64
	)
	err := db.queryRow(ctx, false, db.q.mfa.totp, userID).Scan(&t.UserID, &t.Secret, &created, &confirmed, &t.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, auth.ErrNotFound)
	}
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	t.CreatedAt, t.ConfirmedAt = fromMillis(created), fromNullMillis(confirmed)
	return &t, nil
}

// PutPendingTOTP stores t as its user's pending authenticator, replacing a
// pending one, in one upsert that leaves an active one alone: then it
// returns an error wrapping auth.ErrDuplicate.
func (db *DB) PutPendingTOTP(ctx context.Context, t *auth.TOTP) error {
	const op = "put pending totp"
	n, err := db.exec(ctx, op, db.q.mfa.putPendingTOTP, t.UserID, nonNil(t.Secret), millis(t.CreatedAt))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrDuplicate)
	}
	return nil
}

// ActivateTOTP confirms userID's pending authenticator of secret with
// LastStep step and replaces the user's recovery codes by codeHashes, in
// one transaction; an error wrapping auth.ErrStale if there is no such
// pending authenticator.
func (db *DB) ActivateTOTP(ctx context.Context, userID string, secret []byte, step int64, codeHashes []string, at time.Time) error {
	const op = "activate totp"
	return db.inTx(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q.mfa.activateTOTP, millis(at), step, userID, nonNil(secret))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return auth.ErrStale
		}
		return db.putRecoveryCodes(ctx, tx, userID, codeHashes, at)
	})
}

// putRecoveryCodes replaces userID's recovery codes by codeHashes in tx.
func (db *DB) putRecoveryCodes(ctx context.Context, tx *sql.Tx, userID string, codeHashes []string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, db.q.mfa.deleteRecoveryCodes, userID); err != nil {
		return err
	}
	for _, h := range codeHashes {
		if _, err := tx.ExecContext(ctx, db.q.mfa.createRecoveryCode, userID, h, millis(at)); err != nil {
			return err
		}
	}
	return nil
}

// UseTOTPStep sets last_step of userID's active authenticator to step if it
// is below step, in one compare-and-swap UPDATE; otherwise an error wrapping
// auth.ErrStale.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	const op = "use totp step"
	n, err := db.exec(ctx, op, db.q.mfa.useTOTPStep, step, userID, step)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrStale)
	}
	return nil
}

// UseRecoveryCode marks userID's unused code codeHash used at at in one
// UPDATE; an error wrapping auth.ErrNotFound if there is no such code.
func (db *DB) UseRecoveryCode(ctx context.Context, userID, codeHash string, at time.Time) error {
	return db.update(ctx, "use recovery code", db.q.mfa.useRecoveryCode, millis(at), userID, codeHash)
}

// RecoveryCodesLeft returns how many unused recovery codes userID has.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	ctx, cancel := db.call(ctx)
	defer cancel()
	var n int
	if err := db.queryRow(ctx, false, db.q.mfa.recoveryCodesLeft, userID).Scan(&n); err != nil {
		return 0, db.wrap(ctx, "recovery codes left", err)
	}
	return n, nil
}

// ReplaceRecoveryCodes replaces userID's recovery codes by codeHashes in one
// transaction if the user has an active authenticator; otherwise an error
// wrapping auth.ErrNotFound.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string, at time.Time) error {
	return db.inTx(ctx, "replace recovery codes", func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, db.q.mfa.activeTOTP, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return auth.ErrNotFound
		}
		return db.putRecoveryCodes(ctx, tx, userID, codeHashes, at)
	})
}

// DeleteTOTP deletes userID's authenticator, recovery codes and waiting
// signins in one transaction; an error wrapping auth.ErrNotFound if the
// user has no authenticator.
func (db *DB) DeleteTOTP(ctx context.Context, userID string) error {
	return db.inTx(ctx, "delete totp", func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q.mfa.deleteTOTP, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return auth.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, db.q.mfa.deleteRecoveryCodes, userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q.mfa.deleteUserMFATokens, userID)
		return err
	})
}

// CreateMFAToken inserts t; an error wrapping auth.ErrDuplicate if its Hash
// is taken.
func (db *DB) CreateMFAToken(ctx context.Context, t *auth.MFAToken) error {
	ctx, cancel := db.call(ctx)
	defer cancel()
	_, err := db.run(ctx, db.q.mfa.createMFAToken, t.Hash, t.UserID, joinAMR(t.AMR), millis(t.CreatedAt), millis(t.ExpiresAt))
	if err != nil {
		return db.wrap(ctx, "create mfa token", err)
	}
	return nil
}

// MFAToken returns the token whose Hash is hash, expired or not, or an
// error wrapping auth.ErrNotFound.
func (db *DB) MFAToken(ctx context.Context, hash string) (*auth.MFAToken, error) {
	const op = "mfa token"
	ctx, cancel := db.call(ctx)
	defer cancel()
	var (
		t                auth.MFAToken
		amr              string
		created, expires int64
	)
	err := db.queryRow(ctx, false, db.q.mfa.mfaToken, hash).Scan(&t.Hash, &t.UserID, &amr, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, auth.ErrNotFound)
	}
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	t.AMR, t.CreatedAt, t.ExpiresAt = splitAMR(amr), fromMillis(created), fromMillis(expires)
	return &t, nil
}

// ConsumeMFAToken deletes token hash if it expires after at, in one DELETE;
// an error wrapping auth.ErrNotFound if there is no such token.
func (db *DB) ConsumeMFAToken(ctx context.Context, hash string, at time.Time) error {
	return db.update(ctx, "consume mfa token", db.q.mfa.consumeMFAToken, hash, millis(at))
}

// DeleteMFATokens deletes tokens that expired before before, in chunks (see
// deleteChunks), and returns how many it deleted.
func (db *DB) DeleteMFATokens(ctx context.Context, before time.Time) (int64, error) {
	return db.deleteChunks(ctx, "delete mfa tokens", db.q.mfa.deleteMFATokens, cutoff(before))
}
