-- Emergency key removal (authstore keys retire): removed_at is when a key
-- was taken out of the JWKS ahead of its time, refused_at when its tokens
-- were refused too (--now); both NULL for a key in its normal life. The
-- rows stay, so the history remains. Times are INTEGER Unix milliseconds,
-- UTC.

-- +goose Up
ALTER TABLE signing_keys ADD COLUMN removed_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN refused_at INTEGER;

-- +goose Down
ALTER TABLE signing_keys DROP COLUMN refused_at;
ALTER TABLE signing_keys DROP COLUMN removed_at;
