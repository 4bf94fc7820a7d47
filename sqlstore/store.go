package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/authstore/auth"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

const userColumns = `id, first_name, last_name, login, login_key, email, email_key, password_hash, created_at, updated_at`

func scanUser(s scanner) (*auth.User, error) {
	var (
		u                auth.User
		created, updated int64
	)
	err := s.Scan(&u.ID, &u.FirstName, &u.LastName, &u.Login, &u.LoginKey,
		&u.Email, &u.EmailKey, &u.PasswordHash, &created, &updated)
	if err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &u, nil
}

// CreateUser inserts u. It returns an error wrapping auth.ErrDuplicate if
// u.ID, u.LoginKey or u.EmailKey is taken, including by a concurrent insert.
func (db *DB) CreateUser(ctx context.Context, u *auth.User) error {
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.FirstName, u.LastName, u.Login, u.LoginKey, u.Email, u.EmailKey,
		u.PasswordHash, millis(u.CreatedAt), millis(u.UpdatedAt))
	if err != nil {
		return db.wrap(ctx, "create user", err)
	}
	return nil
}

// UserByLoginKey returns the user whose LoginKey is key, or an error
// wrapping auth.ErrNotFound.
func (db *DB) UserByLoginKey(ctx context.Context, key string) (*auth.User, error) {
	return db.user(ctx, "user by login key", `SELECT `+userColumns+` FROM users WHERE login_key = ?`, key)
}

// UserByID returns the user with this id, or an error wrapping
// auth.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id string) (*auth.User, error) {
	return db.user(ctx, "user by id", `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
}

func (db *DB) user(ctx context.Context, op, query string, arg string) (*auth.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, auth.ErrNotFound)
	}
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return u, nil
}

// KeysTaken reports whether a user holds loginKey and whether one holds
// emailKey.
func (db *DB) KeysTaken(ctx context.Context, loginKey, emailKey string) (login, email bool, err error) {
	err = db.read.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM users WHERE login_key = ?),
		        EXISTS (SELECT 1 FROM users WHERE email_key = ?)`,
		loginKey, emailKey).Scan(&login, &email)
	if err != nil {
		return false, false, db.wrap(ctx, "keys taken", err)
	}
	return login, email, nil
}

// SetPasswordHash replaces the password hash of user id and sets its
// UpdatedAt to at, or returns an error wrapping auth.ErrNotFound.
func (db *DB) SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error {
	return db.update(ctx, "set password hash",
		`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
		hash, millis(at), id)
}

const sessionColumns = `id, user_id, generation, rotated_at, created_at, last_used_at, revoked_at, user_agent, ip`

// CreateSession inserts s. It returns an error wrapping auth.ErrDuplicate if
// s.ID is taken; s.UserID must name a user.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session) error {
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, s.Generation, millis(s.RotatedAt), millis(s.CreatedAt),
		millis(s.LastUsedAt), nullMillis(s.RevokedAt), s.UserAgent, s.IP)
	if err != nil {
		return db.wrap(ctx, "create session", err)
	}
	return nil
}

// Session returns the session with this id, or an error wrapping
// auth.ErrNotFound.
func (db *DB) Session(ctx context.Context, id string) (*auth.Session, error) {
	var (
		s                          auth.Session
		rotated, created, lastUsed int64
		revoked                    sql.NullInt64
	)
	err := db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id).
		Scan(&s.ID, &s.UserID, &s.Generation, &rotated, &created, &lastUsed, &revoked, &s.UserAgent, &s.IP)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: session: %w", auth.ErrNotFound)
	}
	if err != nil {
		return nil, db.wrap(ctx, "session", err)
	}
	s.RotatedAt, s.CreatedAt, s.LastUsedAt = fromMillis(rotated), fromMillis(created), fromMillis(lastUsed)
	s.RevokedAt = fromNullMillis(revoked)
	return &s, nil
}

// RotateSession moves session id from generation from to from+1, setting
// RotatedAt and LastUsedAt to at, if and only if it is live and still at
// generation from, in one compare-and-swap UPDATE. Otherwise it changes
// nothing and returns an error wrapping auth.ErrStale, or auth.ErrNotFound if
// there is no such session.
func (db *DB) RotateSession(ctx context.Context, id string, from int64, at time.Time) error {
	const op = "rotate session"
	res, err := db.write.ExecContext(ctx,
		`UPDATE sessions SET generation = generation + 1, rotated_at = ?, last_used_at = ?
		 WHERE id = ? AND generation = ? AND revoked_at IS NULL`,
		millis(at), millis(at), id, from)
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	if n > 0 {
		return nil
	}
	// Sessions are never deleted by this store, so one that is absent now
	// was absent at the UPDATE.
	var exists bool
	err = db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?)`, id).Scan(&exists)
	switch {
	case err != nil:
		return db.wrap(ctx, op, err)
	case !exists:
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrStale)
}

// TouchSession sets LastUsedAt of session id to at, or returns an error
// wrapping auth.ErrNotFound.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	return db.update(ctx, "touch session", `UPDATE sessions SET last_used_at = ? WHERE id = ?`, millis(at), id)
}

// RevokeSession marks session id revoked at at. Revoking a revoked session
// keeps its first RevokedAt and is not an error. It returns an error wrapping
// auth.ErrNotFound if there is no such session.
func (db *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return db.update(ctx, "revoke session",
		`UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, millis(at), id)
}

// update runs an UPDATE of one row by id and returns an error wrapping
// auth.ErrNotFound if no row matched.
func (db *DB) update(ctx context.Context, op, query string, args ...any) error {
	res, err := db.write.ExecContext(ctx, query, args...)
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrNotFound)
	}
	return nil
}

// SigningKeys returns every stored signing key, oldest first (ties by id).
func (db *DB) SigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	const op = "signing keys"
	rows, err := db.read.QueryContext(ctx,
		`SELECT id, algorithm, private, public, created_at FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	defer rows.Close()
	var keys []auth.SigningKey
	for rows.Next() {
		var (
			k       auth.SigningKey
			created int64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, &k.Public, &created); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		k.CreatedAt = fromMillis(created)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return keys, nil
}

// CreateSigningKey inserts k, or returns an error wrapping auth.ErrDuplicate
// if its ID exists.
func (db *DB) CreateSigningKey(ctx context.Context, k *auth.SigningKey) error {
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO signing_keys (id, algorithm, private, public, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, nonNil(k.Private), nonNil(k.Public), millis(k.CreatedAt))
	if err != nil {
		return db.wrap(ctx, "create signing key", err)
	}
	return nil
}

// nonNil returns b, or an empty slice for nil, which would be stored as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
