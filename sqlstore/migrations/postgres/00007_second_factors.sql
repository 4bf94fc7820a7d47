-- Second factors. sessions.amr lists the authentication methods that
-- opened a session (RFC 8176 values, space-separated: "pwd", "pwd otp"),
-- which its access tokens carry, refreshed ones too; sessions opened
-- before this migration were opened by a password. user_totp holds a
-- user's TOTP authenticator: its secret sealed under a key that is not in
-- the database, pending while confirmed_at is NULL; last_step is the
-- latest time step whose code was accepted, so a code works once (a
-- compare-and-swap on it). recovery_codes holds a keyed hash of each of a
-- user's single-use recovery codes. mfa_tokens holds the signins waiting
-- for their second factor, only as the hex SHA-256 of the token, with the
-- methods of the first factor. Times are BIGINT Unix milliseconds, UTC.

-- +goose Up
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

CREATE TABLE user_totp (
	user_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret       BYTEA   NOT NULL,
	created_at   BIGINT  NOT NULL,
	confirmed_at BIGINT,
	last_step    BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash  TEXT COLLATE "C" NOT NULL,
	created_at BIGINT  NOT NULL,
	used_at    BIGINT,
	PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_tokens (
	token_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	amr        TEXT    NOT NULL,
	created_at BIGINT  NOT NULL,
	expires_at BIGINT  NOT NULL
);

CREATE INDEX mfa_tokens_user_id ON mfa_tokens (user_id);

CREATE INDEX mfa_tokens_expires_at ON mfa_tokens (expires_at);

-- +goose Down
DROP TABLE mfa_tokens;
DROP TABLE recovery_codes;
DROP TABLE user_totp;
ALTER TABLE sessions DROP COLUMN amr;
