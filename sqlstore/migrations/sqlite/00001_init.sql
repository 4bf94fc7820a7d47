-- Times are INTEGER Unix milliseconds, UTC. revoked_at is NULL while a
-- session is live.

-- +goose Up
CREATE TABLE users (
	id            TEXT    NOT NULL PRIMARY KEY,
	first_name    TEXT    NOT NULL,
	last_name     TEXT    NOT NULL,
	login         TEXT    NOT NULL,
	login_key     TEXT    NOT NULL UNIQUE,
	email         TEXT    NOT NULL,
	email_key     TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	id           TEXT    NOT NULL PRIMARY KEY,
	user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	generation   INTEGER NOT NULL,
	rotated_at   INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	revoked_at   INTEGER,
	user_agent   TEXT    NOT NULL,
	ip           TEXT    NOT NULL
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE signing_keys (
	id         TEXT    NOT NULL PRIMARY KEY,
	algorithm  TEXT    NOT NULL,
	private    BLOB    NOT NULL,
	public     BLOB    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE sessions;
DROP TABLE users;
