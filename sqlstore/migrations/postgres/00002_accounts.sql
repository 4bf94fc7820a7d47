-- Administration and key rotation: users can be disabled (disabled_at is
-- NULL while enabled), signing keys form one chain by a unique serial and
-- start signing at activates_at, and failed signins are counted per login
-- key. Existing keys get serials in (created_at, id) order and activate at
-- their creation. Times are BIGINT Unix milliseconds, UTC.

-- +goose Up
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

ALTER TABLE signing_keys ADD COLUMN serial BIGINT, ADD COLUMN activates_at BIGINT;

UPDATE signing_keys SET serial = numbered.serial, activates_at = signing_keys.created_at
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS serial FROM signing_keys) AS numbered
WHERE signing_keys.id = numbered.id;

ALTER TABLE signing_keys
	ALTER COLUMN serial SET NOT NULL,
	ALTER COLUMN activates_at SET NOT NULL,
	ADD CONSTRAINT signing_keys_serial_key UNIQUE (serial);

CREATE TABLE login_failures (
	login_key       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	failures        BIGINT           NOT NULL,
	last_failure_at BIGINT           NOT NULL
);

CREATE INDEX login_failures_last_failure_at ON login_failures (last_failure_at);

-- +goose Down
DROP TABLE login_failures;
ALTER TABLE signing_keys DROP COLUMN activates_at, DROP COLUMN serial;
ALTER TABLE users DROP COLUMN disabled_at;
