package sqlstore

import (
	"strconv"
	"strings"
)

const (
	userColumns    = `id, first_name, last_name, login, login_key, login_skeleton, email, email_key, password_hash, created_at, updated_at, disabled_at, email_verified_at`
	sessionColumns = `id, user_id, generation, rotated_at, created_at, last_used_at, revoked_at, user_agent, ip, amr`
	keyColumns     = `id, serial, algorithm, private, public, created_at, activates_at, removed_at, refused_at`
)

// queries holds the text of every statement, written once for both dialects
// with "?" placeholders and bound to the dialect by Open.
type queries struct {
	createUser, userByLoginKey, userByEmailKey, userByID, keysTaken, setPasswordHash string
	users, setUserDisabled                                                           string
	deleteUserSessions, deleteUser                                                   string

	createSession, session, rotateSession, revokeSession string
	userSessions, revokeUserSessions                     string
	deadSessions, deleteDeadSession                      string

	loginFailures, addLoginFailure, clearLoginFailures, deleteLoginFailures string

	signingKeys, createSigningKey, removeSigningKey string

	accounts accountQueries
	mfa      mfaQueries
	passkeys passkeyQueries
}

// newQueries returns every statement with its placeholders rewritten by bind.
func newQueries(bind func(string) string) queries {
	return queries{
		createUser:         bind(`INSERT INTO users (` + userColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		userByLoginKey:     bind(`SELECT ` + userColumns + ` FROM users WHERE login_key = ?`),
		userByEmailKey:     bind(`SELECT ` + userColumns + ` FROM users WHERE email_key = ?`),
		userByID:           bind(`SELECT ` + userColumns + ` FROM users WHERE id = ?`),
		keysTaken:          bind(`SELECT EXISTS (SELECT 1 FROM users WHERE login_key = ? OR login_skeleton = ?), EXISTS (SELECT 1 FROM users WHERE email_key = ?)`),
		setPasswordHash:    bind(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`),
		users:              bind(`SELECT ` + userColumns + ` FROM users WHERE (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`),
		setUserDisabled:    bind(`UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?`),
		deleteUserSessions: bind(`DELETE FROM sessions WHERE user_id = ?`),
		deleteUser:         bind(`DELETE FROM users WHERE id = ?`),

		createSession: bind(`INSERT INTO sessions (` + sessionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		session:       bind(`SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?`),
		rotateSession: bind(`UPDATE sessions SET generation = generation + 1, rotated_at = ?, last_used_at = ?
			WHERE id = ? AND generation = ? AND revoked_at IS NULL AND rotated_at > ?
				AND NOT EXISTS (SELECT 1 FROM users WHERE users.id = sessions.user_id AND users.disabled_at IS NOT NULL)
			RETURNING user_id, amr`),
		revokeSession: bind(`UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`),
		userSessions:  bind(`SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = ? ORDER BY created_at DESC, id`),
		revokeUserSessions: bind(`UPDATE sessions SET revoked_at = ?
			WHERE user_id = ? AND revoked_at IS NULL AND id <> ?`),
		// No index serves deadSessions (see DeleteSessions): it reads the
		// table, on the read pool; deleteDeadSession is by primary key.
		deadSessions:      bind(`SELECT id FROM sessions WHERE revoked_at < ? OR last_used_at < ? LIMIT ?`),
		deleteDeadSession: bind(`DELETE FROM sessions WHERE id = ? AND (revoked_at < ? OR last_used_at < ?)`),

		loginFailures: bind(`SELECT failures, last_failure_at FROM login_failures WHERE login_key = ?`),
		addLoginFailure: bind(`INSERT INTO login_failures (login_key, failures, last_failure_at) VALUES (?, 1, ?)
			ON CONFLICT (login_key) DO UPDATE SET
				failures = CASE WHEN login_failures.last_failure_at < ? THEN 1 ELSE login_failures.failures + 1 END,
				last_failure_at = CASE WHEN excluded.last_failure_at > login_failures.last_failure_at
					THEN excluded.last_failure_at ELSE login_failures.last_failure_at END
			RETURNING failures, last_failure_at`),
		clearLoginFailures: bind(`DELETE FROM login_failures WHERE login_key = ?`),
		deleteLoginFailures: bind(`DELETE FROM login_failures WHERE login_key IN
			(SELECT login_key FROM login_failures WHERE last_failure_at < ? LIMIT ?)`),

		signingKeys:      bind(`SELECT ` + keyColumns + ` FROM signing_keys ORDER BY serial`),
		createSigningKey: bind(`INSERT INTO signing_keys (` + keyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		// refused_at's parameter is NULL unless the tokens are refused too.
		removeSigningKey: bind(`UPDATE signing_keys SET removed_at = COALESCE(removed_at, ?), refused_at = COALESCE(refused_at, ?)
			WHERE id = ?`),

		accounts: newAccountQueries(bind),
		mfa:      newMFAQueries(bind),
		passkeys: newPasskeyQueries(bind),
	}
}

// rotateSessionsQuery is the PostgreSQL statement that rotates n sessions
// at once: rotateSession's compare-and-swap for each row of its VALUES
// list, whose parameters are, for row i from 0, $4i+1 the session id,
// $4i+2 the generation to rotate from, $4i+3 the cutoff that rotated_at must
// exceed and $4i+4 the time to set. It returns the id, user id and AMR of
// each session it rotated. The ids must be distinct: a row matched twice is
// still changed once.
func rotateSessionsQuery(n int) string {
	var b strings.Builder
	b.WriteString(`UPDATE sessions AS s SET generation = s.generation + 1, rotated_at = v.at, last_used_at = v.at
		FROM (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("($" + strconv.Itoa(4*i+1) + "::text, $" + strconv.Itoa(4*i+2) + "::bigint, $" +
			strconv.Itoa(4*i+3) + "::bigint, $" + strconv.Itoa(4*i+4) + "::bigint)")
	}
	b.WriteString(`) AS v (id, generation, after, at)
		WHERE s.id = v.id AND s.generation = v.generation AND s.revoked_at IS NULL AND s.rotated_at > v.after
			AND NOT EXISTS (SELECT 1 FROM users WHERE users.id = s.user_id AND users.disabled_at IS NOT NULL)
		RETURNING s.id, s.user_id, s.amr`)
	return b.String()
}

// keepPlaceholders is the bind of a dialect that takes "?" placeholders.
func keepPlaceholders(query string) string { return query }

// numberPlaceholders rewrites the "?" placeholders of query, outside quoted
// literals and identifiers, to $1, $2, ... in order.
func numberPlaceholders(query string) string {
	var (
		b     strings.Builder
		n     int
		quote byte // the open quote character, 0 outside quotes
	)
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
