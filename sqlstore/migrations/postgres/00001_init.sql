-- Times are BIGINT Unix milliseconds, UTC. revoked_at is NULL while a
-- session is live. Keys and ids compare bytewise (COLLATE "C"), as in SQLite.

-- +goose Up
CREATE TABLE users (
	id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	first_name    TEXT             NOT NULL,
	last_name     TEXT             NOT NULL,
	login         TEXT             NOT NULL,
	login_key     TEXT COLLATE "C" NOT NULL UNIQUE,
	email         TEXT             NOT NULL,
	email_key     TEXT COLLATE "C" NOT NULL UNIQUE,
	password_hash TEXT             NOT NULL,
	created_at    BIGINT           NOT NULL,
	updated_at    BIGINT           NOT NULL
);

CREATE TABLE sessions (
	id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	generation   BIGINT           NOT NULL,
	rotated_at   BIGINT           NOT NULL,
	created_at   BIGINT           NOT NULL,
	last_used_at BIGINT           NOT NULL,
	revoked_at   BIGINT,
	user_agent   TEXT             NOT NULL,
	ip           TEXT             NOT NULL
);

CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE signing_keys (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	algorithm  TEXT             NOT NULL,
	private    BYTEA            NOT NULL,
	public     BYTEA            NOT NULL,
	created_at BIGINT           NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE sessions;
DROP TABLE users;
