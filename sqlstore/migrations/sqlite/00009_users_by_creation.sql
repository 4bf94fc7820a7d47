-- Users in order of creation, for listing them page by page (authstore
-- users list) without reading and sorting the whole table for each page.

-- +goose Up
CREATE INDEX users_created_at_id ON users (created_at, id);

-- +goose Down
DROP INDEX users_created_at_id;
