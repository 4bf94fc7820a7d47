-- Look-alike logins: login_skeleton is the confusable skeleton of the login
-- (auth.Skeleton), unique. Migration 5, in Go (sqlstore/rekey.go), fills it
-- and recomputes login_key and email_key under the current auth.Fold; the
-- Store always writes it, so it is NULL only between these two migrations.

-- +goose Up
ALTER TABLE users ADD COLUMN login_skeleton TEXT;

CREATE UNIQUE INDEX users_login_skeleton ON users (login_skeleton);

-- +goose Down
DROP INDEX users_login_skeleton;

ALTER TABLE users DROP COLUMN login_skeleton;
