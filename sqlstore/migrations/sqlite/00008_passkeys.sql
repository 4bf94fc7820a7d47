-- Passkeys (WebAuthn credentials) and the ceremonies that register them or
-- sign in with them. passkeys.credential_id is the authenticator's
-- credential id, unique; public_key is a COSE_Key; sign_count the
-- authenticator's signature counter at the last use (0 when it keeps
-- none); transports a comma-separated list; the flags are 0 or 1:
-- backup_eligible fixed at registration, the others as of the last use.
-- webauthn_ceremonies holds a begun ceremony until its finish takes it
-- (one DELETE ... RETURNING) or it expires: id is the hex SHA-256 of the
-- token the client holds, user_id NULL for a discoverable signin, binding
-- what else the ceremony is tied to (NULL for none), state the WebAuthn
-- library's session data (JSON). Times are INTEGER Unix milliseconds, UTC.

-- +goose Up
CREATE TABLE passkeys (
	id                 TEXT    NOT NULL PRIMARY KEY,
	user_id            TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	credential_id      BLOB    NOT NULL UNIQUE,
	public_key         BLOB    NOT NULL,
	sign_count         INTEGER NOT NULL,
	aaguid             BLOB    NOT NULL,
	transports         TEXT    NOT NULL,
	attestation_format TEXT    NOT NULL,
	backup_eligible    INTEGER NOT NULL CHECK (backup_eligible IN (0, 1)),
	backed_up          INTEGER NOT NULL CHECK (backed_up IN (0, 1)),
	user_present       INTEGER NOT NULL CHECK (user_present IN (0, 1)),
	user_verified      INTEGER NOT NULL CHECK (user_verified IN (0, 1)),
	name               TEXT    NOT NULL,
	created_at         INTEGER NOT NULL,
	last_used_at       INTEGER
) STRICT;

CREATE INDEX passkeys_user_id ON passkeys (user_id);

CREATE TABLE webauthn_ceremonies (
	id         TEXT    NOT NULL PRIMARY KEY,
	kind       TEXT    NOT NULL,
	user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
	binding    TEXT,
	state      BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX webauthn_ceremonies_user_id ON webauthn_ceremonies (user_id);

CREATE INDEX webauthn_ceremonies_expires_at ON webauthn_ceremonies (expires_at);

-- +goose Down
DROP TABLE webauthn_ceremonies;
DROP TABLE passkeys;
