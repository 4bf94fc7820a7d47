package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/authstore/auth"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanUser(s scanner) (*auth.User, error) {
	var (
		u                  auth.User
		created, updated   int64
		disabled, verified sql.NullInt64
		skeleton           sql.NullString
	)
	err := s.Scan(&u.ID, &u.FirstName, &u.LastName, &u.Login, &u.LoginKey, &skeleton,
		&u.Email, &u.EmailKey, &u.PasswordHash, &created, &updated, &disabled, &verified)
	if err != nil {
		return nil, err
	}
	u.LoginSkeleton = skeleton.String
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	u.DisabledAt = fromNullMillis(disabled)
	u.EmailVerifiedAt = fromNullMillis(verified)
	return &u, nil
}

func scanSession(s scanner) (*auth.Session, error) {
	var (
		sess                       auth.Session
		rotated, created, lastUsed int64
		revoked                    sql.NullInt64
		amr                        string
	)
	err := s.Scan(&sess.ID, &sess.UserID, &sess.Generation, &rotated, &created, &lastUsed,
		&revoked, &sess.UserAgent, &sess.IP, &amr)
	if err != nil {
		return nil, err
	}
	sess.AMR = splitAMR(amr)
	sess.RotatedAt, sess.CreatedAt, sess.LastUsedAt = fromMillis(rotated), fromMillis(created), fromMillis(lastUsed)
	sess.RevokedAt = fromNullMillis(revoked)
	return &sess, nil
}

// CreateUser inserts u. It returns an error wrapping auth.ErrDuplicate if
// u.ID, u.LoginKey, u.LoginSkeleton or u.EmailKey is taken, including by a
// concurrent insert.
func (db *DB) CreateUser(ctx context.Context, u *auth.User) error {
	ctx, cancel := db.call(ctx)
	defer cancel()
	_, err := db.run(ctx, db.q.createUser,
		u.ID, u.FirstName, u.LastName, u.Login, u.LoginKey, u.LoginSkeleton, u.Email, u.EmailKey,
		u.PasswordHash, millis(u.CreatedAt), millis(u.UpdatedAt), nullMillis(u.DisabledAt), nullMillis(u.EmailVerifiedAt))
	if err != nil {
		return db.wrap(ctx, "create user", err)
	}
	return nil
}

// UserByLoginKey returns the user whose LoginKey is key, or an error
// wrapping auth.ErrNotFound.
func (db *DB) UserByLoginKey(ctx context.Context, key string) (*auth.User, error) {
	return db.user(ctx, "user by login key", db.q.userByLoginKey, key)
}

// UserByEmailKey returns the user whose EmailKey is key, or an error
// wrapping auth.ErrNotFound.
func (db *DB) UserByEmailKey(ctx context.Context, key string) (*auth.User, error) {
	return db.user(ctx, "user by email key", db.q.userByEmailKey, key)
}

// UserByID returns the user with this id, or an error wrapping
// auth.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id string) (*auth.User, error) {
	return db.user(ctx, "user by id", db.q.userByID, id)
}

func (db *DB) user(ctx context.Context, op, query string, arg string) (*auth.User, error) {
	ctx, cancel := db.call(ctx)
	defer cancel()
	u, err := scanUser(db.queryRow(ctx, false, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, auth.ErrNotFound)
	}
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return u, nil
}

// KeysTaken reports whether a user holds loginKey or loginSkeleton (as its
// login key and login skeleton), and whether one holds emailKey.
func (db *DB) KeysTaken(ctx context.Context, loginKey, loginSkeleton, emailKey string) (login, email bool, err error) {
	ctx, cancel := db.call(ctx)
	defer cancel()
	err = db.queryRow(ctx, false, db.q.keysTaken, loginKey, loginSkeleton, emailKey).Scan(&login, &email)
	if err != nil {
		return false, false, db.wrap(ctx, "keys taken", err)
	}
	return login, email, nil
}

// SetPasswordHash replaces the password hash of user id and sets its
// UpdatedAt to at, or returns an error wrapping auth.ErrNotFound.
func (db *DB) SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error {
	return db.update(ctx, "set password hash", db.q.setPasswordHash, hash, millis(at), id)
}

// Users returns up to limit users created after the user at (createdAt,
// id) in the order (created_at, id); the zero time and "" start at the
// first user, and a limit below 1 returns none. It is for the admin
// listing, which scans the table (there is no index on created_at).
func (db *DB) Users(ctx context.Context, createdAt time.Time, id string, limit int) ([]auth.User, error) {
	const op = "users"
	if limit < 1 {
		return nil, nil
	}
	ctx, cancel := db.call(ctx)
	defer cancel()
	at := int64(math.MinInt64)
	if !createdAt.IsZero() {
		at = millis(createdAt)
	}
	rows, err := db.query(ctx, db.q.users, at, id, limit)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	defer rows.Close()
	var users []auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		users = append(users, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return users, nil
}

// SetUserDisabled sets DisabledAt of user id to at (the zero time enables
// the user) and UpdatedAt to now, or returns an error wrapping
// auth.ErrNotFound.
func (db *DB) SetUserDisabled(ctx context.Context, id string, at, now time.Time) error {
	return db.update(ctx, "set user disabled", db.q.setUserDisabled, nullMillis(at), millis(now), id)
}

// DeleteUser deletes user id and its sessions in one transaction, or
// returns an error wrapping auth.ErrNotFound. It leaves login failure
// records alone: they are kept by throttle key, not by user.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	const op = "delete user"
	ctx, cancel := db.call(ctx)
	defer cancel()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	defer tx.Rollback() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, db.q.deleteUserSessions, id); err != nil {
		return db.wrap(ctx, op, err)
	}
	res, err := tx.ExecContext(ctx, db.q.deleteUser, id)
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
	if err := tx.Commit(); err != nil {
		return db.wrap(ctx, op, err)
	}
	return nil
}

// CreateSession inserts s. It returns an error wrapping auth.ErrDuplicate if
// s.ID is taken; s.UserID must name a user.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session) error {
	ctx, cancel := db.call(ctx)
	defer cancel()
	_, err := db.run(ctx, db.q.createSession,
		s.ID, s.UserID, s.Generation, millis(s.RotatedAt), millis(s.CreatedAt),
		millis(s.LastUsedAt), nullMillis(s.RevokedAt), s.UserAgent, s.IP, joinAMR(s.AMR))
	if err != nil {
		return db.wrap(ctx, "create session", err)
	}
	return nil
}

// CreateUserWithSession inserts u and its first session s (s.UserID must be
// u.ID), and mail unless it is nil, in one transaction: all are stored or
// none is. It returns an error wrapping auth.ErrDuplicate if u.ID,
// u.LoginKey, u.EmailKey or s.ID is taken, including by a concurrent insert.
func (db *DB) CreateUserWithSession(ctx context.Context, u *auth.User, s *auth.Session, mail *auth.AccountMail) error {
	const op = "create user with session"
	ctx, cancel := db.call(ctx)
	defer cancel()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	defer tx.Rollback() // a no-op after Commit
	_, err = tx.ExecContext(ctx, db.q.createUser,
		u.ID, u.FirstName, u.LastName, u.Login, u.LoginKey, u.LoginSkeleton, u.Email, u.EmailKey,
		u.PasswordHash, millis(u.CreatedAt), millis(u.UpdatedAt), nullMillis(u.DisabledAt), nullMillis(u.EmailVerifiedAt))
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	_, err = tx.ExecContext(ctx, db.q.createSession,
		s.ID, s.UserID, s.Generation, millis(s.RotatedAt), millis(s.CreatedAt),
		millis(s.LastUsedAt), nullMillis(s.RevokedAt), s.UserAgent, s.IP, joinAMR(s.AMR))
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	if mail != nil {
		if err := db.storeMail(ctx, tx, mail, u.CreatedAt); err != nil {
			return db.wrap(ctx, op, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return db.wrap(ctx, op, err)
	}
	return nil
}

// Session returns the session with this id, or an error wrapping
// auth.ErrNotFound.
func (db *DB) Session(ctx context.Context, id string) (*auth.Session, error) {
	ctx, cancel := db.call(ctx)
	defer cancel()
	s, err := scanSession(db.queryRow(ctx, false, db.q.session, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: session: %w", auth.ErrNotFound)
	}
	if err != nil {
		return nil, db.wrap(ctx, "session", err)
	}
	return s, nil
}

// RotateSession moves session id from generation from to from+1, setting
// RotatedAt and LastUsedAt to at, if and only if it is live, still at
// generation from, was rotated after issuedAfter and its user is not
// disabled, in one compare-and-swap UPDATE that returns the user id and
// the session's AMR. On a SQLite file and on PostgreSQL the UPDATE commits
// together with the other rotations waiting at that moment (see batcher),
// and the call returns after that commit.
// Otherwise it changes nothing and returns an error wrapping auth.ErrStale,
// whether or not such a session exists: it reads nothing more, since the
// caller reads the session to tell why.
func (db *DB) RotateSession(ctx context.Context, id string, from int64, issuedAfter, at time.Time) (string, []string, error) {
	const op = "rotate session"
	ctx, cancel := db.call(ctx)
	defer cancel()
	var (
		userID, amr string
		err         error
	)
	if db.rotations != nil {
		userID, amr, err = db.rotations.rotate(ctx, id, from, cutoff(issuedAfter), millis(at))
	} else {
		err = db.queryRow(ctx, true, db.q.rotateSession, millis(at), millis(at), id, from, cutoff(issuedAfter)).Scan(&userID, &amr)
	}
	switch {
	case err == nil:
		return userID, splitAMR(amr), nil
	case errors.Is(err, sql.ErrNoRows):
		return "", nil, fmt.Errorf("sqlstore: %s: %w", op, auth.ErrStale)
	}
	return "", nil, db.wrap(ctx, op, err)
}

// joinAMR is the stored form of a session's AMR: its values separated by
// spaces (RFC 8176 values hold none).
func joinAMR(amr []string) string { return strings.Join(amr, " ") }

// splitAMR is the AMR stored as s.
func splitAMR(s string) []string { return strings.Fields(s) }

// RevokeSession marks session id revoked at at. Revoking a revoked session
// keeps its first RevokedAt and is not an error. It returns an error wrapping
// auth.ErrNotFound if there is no such session.
func (db *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return db.update(ctx, "revoke session", db.q.revokeSession, millis(at), id)
}

// UserSessions returns every session of user userID, revoked ones included,
// newest (by CreatedAt) first, ties by ascending ID. A user with no
// sessions, or no such user, has none.
func (db *DB) UserSessions(ctx context.Context, userID string) ([]auth.Session, error) {
	const op = "user sessions"
	ctx, cancel := db.call(ctx)
	defer cancel()
	rows, err := db.query(ctx, db.q.userSessions, userID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	defer rows.Close()
	var sessions []auth.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		sessions = append(sessions, *s)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return sessions, nil
}

// RevokeUserSessions revokes at at every live session of userID except the
// one with ID except (which may be empty), and returns how many it revoked.
// Revoked sessions keep their first RevokedAt.
func (db *DB) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int64, error) {
	return db.exec(ctx, "revoke user sessions", db.q.revokeUserSessions, millis(at), userID, except)
}

// DeleteSessions deletes sessions revoked before revokedBefore, or last used
// before unusedBefore, and returns how many it deleted. A zero cutoff
// matches nothing.
//
// No index serves the search: one on last_used_at would cost every refresh
// an index update (and PostgreSQL its HOT updates), to speed up an hourly
// purge. So the search reads the table, and it does so on the read pool,
// which runs beside SQLite's single writer: it finds up to deleteChunk dead
// sessions at a time, and one transaction on the write pool deletes them
// by primary key, checking again that each is still dead (a refresh may
// have used it in between). A purge of a large table thus holds the writer
// for its deletes only, never for a scan (it held it for a whole scan of
// the table, 0.8 to 1.6 s at 5 million sessions, every hour). The deletes
// are idempotent, so an error part way is harmless.
func (db *DB) DeleteSessions(ctx context.Context, revokedBefore, unusedBefore time.Time) (int64, error) {
	const op = "delete sessions"
	revoked, unused := cutoff(revokedBefore), cutoff(unusedBefore)
	var total int64
	for {
		ids, err := db.deadSessionIDs(ctx, revoked, unused)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		var n int64
		err = db.inTx(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
			st, err := tx.PrepareContext(ctx, db.q.deleteDeadSession)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, id := range ids {
				res, err := st.ExecContext(ctx, id, revoked, unused)
				if err != nil {
					return err
				}
				k, err := res.RowsAffected()
				if err != nil {
					return err
				}
				n += k
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if len(ids) < deleteChunk {
			return total, nil
		}
	}
}

// deadSessionIDs returns the IDs of up to deleteChunk sessions revoked
// before revoked or last used before unused (stored times), read on the
// read pool.
func (db *DB) deadSessionIDs(ctx context.Context, revoked, unused int64) ([]string, error) {
	const op = "delete sessions"
	ctx, cancel := db.call(ctx)
	defer cancel()
	rows, err := db.query(ctx, db.q.deadSessions, revoked, unused, deleteChunk)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return ids, nil
}

// deleteChunk is how many rows one statement of a purge deletes.
const deleteChunk = 500

// deleteChunks runs query, a DELETE of at most its last argument's rows,
// with args and deleteChunk until it deletes fewer, and returns the total:
// each chunk its own statement, so that a large purge never holds SQLite's
// single writer for long; the deletes are idempotent, so an error part way
// is harmless. Each query must find its rows by an index (TestPlans).
func (db *DB) deleteChunks(ctx context.Context, op, query string, args ...any) (int64, error) {
	args = append(args, deleteChunk)
	var total int64
	for {
		n, err := db.exec(ctx, op, query, args...)
		total += n
		if err != nil || n < deleteChunk {
			return total, err
		}
	}
}

// LoginFailures returns the failure record of loginKey; a key with no
// record has the zero LoginFailures.
func (db *DB) LoginFailures(ctx context.Context, loginKey string) (auth.LoginFailures, error) {
	ctx, cancel := db.call(ctx)
	defer cancel()
	f, err := scanFailures(db.queryRow(ctx, false, db.q.loginFailures, loginKey))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.LoginFailures{}, nil
	}
	if err != nil {
		return auth.LoginFailures{}, db.wrap(ctx, "login failures", err)
	}
	return f, nil
}

// AddLoginFailure adds one failure at at to loginKey's record in a single
// upsert and returns the record after it; concurrent calls all count. Last
// becomes the later of the stored time and at. A record whose last failure
// is before forgetBefore starts over at 1.
func (db *DB) AddLoginFailure(ctx context.Context, loginKey string, at, forgetBefore time.Time) (auth.LoginFailures, error) {
	ctx, cancel := db.call(ctx)
	defer cancel()
	f, err := scanFailures(db.queryRow(ctx, true, db.q.addLoginFailure, loginKey, millis(at), cutoff(forgetBefore)))
	if err != nil {
		return auth.LoginFailures{}, db.wrap(ctx, "add login failure", err)
	}
	return f, nil
}

func scanFailures(s scanner) (auth.LoginFailures, error) {
	var (
		f    auth.LoginFailures
		last int64
	)
	if err := s.Scan(&f.Count, &last); err != nil {
		return auth.LoginFailures{}, err
	}
	f.Last = fromMillis(last)
	return f, nil
}

// ClearLoginFailures removes loginKey's record; clearing none is not an
// error.
func (db *DB) ClearLoginFailures(ctx context.Context, loginKey string) error {
	_, err := db.exec(ctx, "clear login failures", db.q.clearLoginFailures, loginKey)
	return err
}

// DeleteLoginFailures deletes records whose last failure is before before,
// and returns how many it deleted. A zero before matches nothing. It deletes
// in chunks (see deleteChunks).
func (db *DB) DeleteLoginFailures(ctx context.Context, before time.Time) (int64, error) {
	return db.deleteChunks(ctx, "delete login failures", db.q.deleteLoginFailures, cutoff(before))
}

// SigningKeys returns every stored signing key by ascending Serial.
func (db *DB) SigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	const op = "signing keys"
	ctx, cancel := db.call(ctx)
	defer cancel()
	rows, err := db.query(ctx, db.q.signingKeys)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	defer rows.Close()
	var keys []auth.SigningKey
	for rows.Next() {
		var (
			k                  auth.SigningKey
			created, activates int64
			removed, refused   sql.NullInt64
		)
		if err := rows.Scan(&k.ID, &k.Serial, &k.Algorithm, &k.Private, &k.Public, &created, &activates, &removed, &refused); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		k.CreatedAt, k.ActivatesAt = fromMillis(created), fromMillis(activates)
		k.RemovedAt, k.RefusedAt = fromNullMillis(removed), fromNullMillis(refused)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return keys, nil
}

// CreateSigningKey inserts k, or returns an error wrapping auth.ErrDuplicate
// if its ID or its Serial exists, including by a concurrent insert.
func (db *DB) CreateSigningKey(ctx context.Context, k *auth.SigningKey) error {
	ctx, cancel := db.call(ctx)
	defer cancel()
	_, err := db.run(ctx, db.q.createSigningKey,
		k.ID, k.Serial, k.Algorithm, nonNil(k.Private), nonNil(k.Public),
		millis(k.CreatedAt), millis(k.ActivatesAt), nullMillis(k.RemovedAt), nullMillis(k.RefusedAt))
	if err != nil {
		return db.wrap(ctx, "create signing key", err)
	}
	return nil
}

// RemoveSigningKey sets removed_at of key id to at unless it is set, and
// likewise refused_at if refuse. It returns an error wrapping
// auth.ErrNotFound if there is no such key.
func (db *DB) RemoveSigningKey(ctx context.Context, id string, at time.Time, refuse bool) error {
	refused := sql.NullInt64{}
	if refuse {
		refused = nullMillis(at)
	}
	return db.update(ctx, "remove signing key", db.q.removeSigningKey, nullMillis(at), refused, id)
}

// update runs an UPDATE of one row by id and returns an error wrapping
// auth.ErrNotFound if no row matched.
func (db *DB) update(ctx context.Context, op, query string, args ...any) error {
	n, err := db.exec(ctx, op, query, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrNotFound)
	}
	return nil
}

// exec runs a statement that changes data and returns how many rows it
// affected.
func (db *DB) exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	ctx, cancel := db.call(ctx)
	defer cancel()
	res, err := db.run(ctx, query, args...)
	if err != nil {
		return 0, db.wrap(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, db.wrap(ctx, op, err)
	}
	return n, nil
}

// cutoff is the stored form of a "before" bound; the zero time is below
// every stored time, so that it matches nothing.
func cutoff(t time.Time) int64 {
	if t.IsZero() {
		return minMillis
	}
	return millis(t)
}

// minMillis is below every stored time.
const minMillis = -1 << 63

// nonNil returns b, or an empty slice for nil, which would be stored as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
