package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authstore/auth"
)

const (
	passkeyColumns = `id, user_id, credential_id, public_key, sign_count, aaguid, transports, attestation_format,
		backup_eligible, backed_up, user_present, user_verified, name, created_at, last_used_at`
	ceremonyColumns = `id, kind, user_id, binding, state, created_at, expires_at`
)

// passkeyQueries are the statements of auth.PasskeyStore and
// auth.CeremonyStore.
type passkeyQueries struct {
	createPasskey, passkeyByCredentialID, userPasskeys, usePasskey, passkeyExists, deletePasskey string
	createCeremony, takeCeremony, deleteCeremonies                                               string
}

func newPasskeyQueries(bind func(string) string) passkeyQueries {
	return passkeyQueries{
		createPasskey:         bind(`INSERT INTO passkeys (` + passkeyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		passkeyByCredentialID: bind(`SELECT ` + passkeyColumns + ` FROM passkeys WHERE credential_id = ?`),
		userPasskeys:          bind(`SELECT ` + passkeyColumns + ` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`),
		usePasskey: bind(`UPDATE passkeys SET sign_count = ?, backed_up = ?, user_present = ?, user_verified = ?, last_used_at = ?
			WHERE id = ? AND sign_count = ?`),
		passkeyExists:    bind(`SELECT EXISTS (SELECT 1 FROM passkeys WHERE id = ?)`),
		deletePasskey:    bind(`DELETE FROM passkeys WHERE id = ? AND user_id = ?`),
		createCeremony:   bind(`INSERT INTO webauthn_ceremonies (` + ceremonyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		takeCeremony:     bind(`DELETE FROM webauthn_ceremonies WHERE id = ? RETURNING ` + ceremonyColumns),
		deleteCeremonies: bind(`DELETE FROM webauthn_ceremonies WHERE id IN (SELECT id FROM webauthn_ceremonies WHERE expires_at < ? LIMIT ?)`),
	}
}

// flag is the stored form of b.
func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func scanPasskey(s scanner) (*auth.Passkey, error) {
	var (
		p                       auth.Passkey
		transports              string
		be, bs, up, uv, created int64
		lastUsed                sql.NullInt64
	)
	err := s.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.SignCount, &p.AAGUID, &transports,
		&p.AttestationFormat, &be, &bs, &up, &uv, &p.Name, &created, &lastUsed)
	if err != nil {
		return nil, err
	}
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	p.BackupEligible, p.BackedUp, p.UserPresent, p.UserVerified = be == 1, bs == 1, up == 1, uv == 1
	p.CreatedAt, p.LastUsedAt = fromMillis(created), fromNullMillis(lastUsed)
	return &p, nil
}

// CreatePasskey inserts p. It returns an error wrapping auth.ErrDuplicate if
// p.ID or p.CredentialID is taken; p.UserID must name a user.
func (db *DB) CreatePasskey(ctx context.Context, p *auth.Passkey) error {
	ctx, cancel := db.call(ctx)
	defer cancel()
	_, err := db.run(ctx, db.q.passkeys.createPasskey,
		p.ID, p.UserID, nonNil(p.CredentialID), nonNil(p.PublicKey), p.SignCount, nonNil(p.AAGUID),
		strings.Join(p.Transports, ","), p.AttestationFormat,
		flag(p.BackupEligible), flag(p.BackedUp), flag(p.UserPresent), flag(p.UserVerified),
		p.Name, millis(p.CreatedAt), nullMillis(p.LastUsedAt))
	if err != nil {
		return db.wrap(ctx, "create passkey", err)
	}
	return nil
}

// PasskeyByCredentialID returns the passkey whose credential id is id, or
// an error wrapping auth.ErrNotFound.
func (db *DB) PasskeyByCredentialID(ctx context.Context, id []byte) (*auth.Passkey, error) {
	const op = "passkey by credential id"
	ctx, cancel := db.call(ctx)
	defer cancel()
	p, err := scanPasskey(db.queryRow(ctx, false, db.q.passkeys.passkeyByCredentialID, nonNil(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, auth.ErrNotFound)
	}
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return p, nil
}

// UserPasskeys returns every passkey of user userID, oldest first (ties by
// id).
func (db *DB) UserPasskeys(ctx context.Context, userID string) ([]auth.Passkey, error) {
	const op = "user passkeys"
	ctx, cancel := db.call(ctx)
	defer cancel()
	rows, err := db.query(ctx, db.q.passkeys.userPasskeys, userID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	defer rows.Close()
	var out []auth.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		out = append(out, *p)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return out, nil
}

// UsePasskey records a signin with passkey id in one compare-and-swap on
// its sign count: from must still be stored. Otherwise it returns an error
// wrapping auth.ErrStale, or auth.ErrNotFound if there is no such passkey.
func (db *DB) UsePasskey(ctx context.Context, id string, from, to int64, f auth.PasskeyFlags, at time.Time) error {
	const op = "use passkey"
	n, err := db.exec(ctx, op, db.q.passkeys.usePasskey,
		to, flag(f.BackedUp), flag(f.UserPresent), flag(f.UserVerified), millis(at), id, from)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	ctx, cancel := db.call(ctx)
	defer cancel()
	var exists bool
	if err := db.queryRow(ctx, false, db.q.passkeys.passkeyExists, id).Scan(&exists); err != nil {
		return db.wrap(ctx, op, err)
	}
	if !exists {
		return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, auth.ErrStale)
}

// DeletePasskey deletes passkey id of user userID, or returns an error
// wrapping auth.ErrNotFound if that user has no such passkey.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	return db.update(ctx, "delete passkey", db.q.passkeys.deletePasskey, id, userID)
}

// CreateCeremony inserts c. It returns an error wrapping auth.ErrDuplicate
// if c.ID is taken; a non-empty c.UserID must name a user.
func (db *DB) CreateCeremony(ctx context.Context, c *auth.Ceremony) error {
	ctx, cancel := db.call(ctx)
	defer cancel()
	_, err := db.run(ctx, db.q.passkeys.createCeremony,
		c.ID, string(c.Kind), nullString(c.UserID), nullString(c.Binding), nonNil(c.State),
		millis(c.CreatedAt), millis(c.ExpiresAt))
	if err != nil {
		return db.wrap(ctx, "create ceremony", err)
	}
	return nil
}

// TakeCeremony deletes ceremony id and returns it, in one DELETE ...
// RETURNING, so that of concurrent takers only one gets it; the others,
// and an unknown id, get an error wrapping auth.ErrNotFound. An expired
// ceremony is returned too.
func (db *DB) TakeCeremony(ctx context.Context, id string) (*auth.Ceremony, error) {
	const op = "take ceremony"
	ctx, cancel := db.call(ctx)
	defer cancel()
	var (
		c                auth.Ceremony
		kind             string
		user, binding    sql.NullString
		created, expires int64
	)
	err := db.queryRow(ctx, true, db.q.passkeys.takeCeremony, id).Scan(&c.ID, &kind, &user, &binding, &c.State, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, auth.ErrNotFound)
	}
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	c.Kind, c.UserID, c.Binding = auth.CeremonyKind(kind), user.String, binding.String
	c.CreatedAt, c.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &c, nil
}

// DeleteCeremonies deletes ceremonies that expired before before, in
// chunks (see deleteChunks), and returns how many it deleted. A zero
// before matches nothing.
func (db *DB) DeleteCeremonies(ctx context.Context, before time.Time) (int64, error) {
	return db.deleteChunks(ctx, "delete ceremonies", db.q.passkeys.deleteCeremonies, cutoff(before))
}
