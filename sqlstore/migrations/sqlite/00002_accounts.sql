-- Administration and key rotation: users can be disabled (disabled_at is
-- NULL while enabled), signing keys form one chain by a unique serial and
-- start signing at activates_at, and failed signins are counted per login
-- key. Existing keys get serials in (created_at, id) order and activate at
-- their creation. Times are INTEGER Unix milliseconds, UTC.

-- +goose Up
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

CREATE TABLE signing_keys_new (
	id           TEXT    NOT NULL PRIMARY KEY,
	serial       INTEGER NOT NULL UNIQUE,
	algorithm    TEXT    NOT NULL,
	private      BLOB    NOT NULL,
	public       BLOB    NOT NULL,
	created_at   INTEGER NOT NULL,
	activates_at INTEGER NOT NULL
) STRICT;

INSERT INTO signing_keys_new (id, serial, algorithm, private, public, created_at, activates_at)
SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id), algorithm, private, public, created_at, created_at
FROM signing_keys;

DROP TABLE signing_keys;

ALTER TABLE signing_keys_new RENAME TO signing_keys;

CREATE TABLE login_failures (
	login_key       TEXT    NOT NULL PRIMARY KEY,
	failures        INTEGER NOT NULL,
	last_failure_at INTEGER NOT NULL
) STRICT;

CREATE INDEX login_failures_last_failure_at ON login_failures (last_failure_at);

-- +goose Down
DROP TABLE login_failures;

CREATE TABLE signing_keys_old (
	id         TEXT    NOT NULL PRIMARY KEY,
	algorithm  TEXT    NOT NULL,
	private    BLOB    NOT NULL,
	public     BLOB    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

INSERT INTO signing_keys_old (id, algorithm, private, public, created_at)
SELECT id, algorithm, private, public, created_at FROM signing_keys;

DROP TABLE signing_keys;

ALTER TABLE signing_keys_old RENAME TO signing_keys;

ALTER TABLE users DROP COLUMN disabled_at;
