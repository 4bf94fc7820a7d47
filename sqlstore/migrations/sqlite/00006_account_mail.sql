-- Account recovery and verification. users.email_verified_at is when the
-- address was verified, NULL while it is not; existing users count as
-- verified from their creation, since nothing checked addresses before.
-- account_tokens holds the single-use tokens of reset, verification and
-- email-change links, only as the hex SHA-256 of the token (new_email is
-- the address the link went to, for verify and change-email); used_at is
-- set when a token is used or superseded. mail_outbox holds the mail to
-- send, written in the transaction of the change that causes it; payload
-- is sealed (it holds the link) and wiped once the message is sent or
-- given up. mail_throttle counts mail requests per address (by a keyed
-- hash of it) in a window that starts at window_start. Times are INTEGER
-- Unix milliseconds, UTC.

-- +goose Up
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;

UPDATE users SET email_verified_at = created_at;

CREATE TABLE account_tokens (
	id         TEXT    NOT NULL PRIMARY KEY,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind       TEXT    NOT NULL,
	token_hash TEXT    NOT NULL UNIQUE,
	new_email  TEXT,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;

-- Only unused tokens are looked up by user (to supersede them).
CREATE INDEX account_tokens_unused ON account_tokens (user_id, kind) WHERE used_at IS NULL;

CREATE INDEX account_tokens_user_id ON account_tokens (user_id);

CREATE INDEX account_tokens_expires_at ON account_tokens (expires_at);

CREATE TABLE mail_outbox (
	id              TEXT    NOT NULL PRIMARY KEY,
	created_at      INTEGER NOT NULL,
	template        TEXT    NOT NULL,
	recipient       TEXT    NOT NULL,
	payload         BLOB    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	lease_owner     TEXT,
	lease_until     INTEGER,
	sent_at         INTEGER,
	failed_at       INTEGER,
	last_error      TEXT
) STRICT;

CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, created_at) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE mail_throttle (
	address_key  TEXT    NOT NULL PRIMARY KEY,
	requests     INTEGER NOT NULL,
	window_start INTEGER NOT NULL
) STRICT;

CREATE INDEX mail_throttle_window_start ON mail_throttle (window_start);

-- +goose Down
DROP TABLE mail_throttle;
DROP TABLE mail_outbox;
DROP TABLE account_tokens;
ALTER TABLE users DROP COLUMN email_verified_at;
