package sqlstore

import (
	"context"
	"math"
	"time"

	"github.com/authstore/auth"
)

// HasSchema reports whether the database holds authstore's schema: the
// migration version table and the users table, which the first migration
// creates. Unlike MigrationStatus it creates nothing, so it tells an empty
// or foreign database from one authstore has migrated.
func (db *DB) HasSchema(ctx context.Context) (bool, error) {
	ctx, cancel := db.call(ctx)
	defer cancel()
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('goose_db_version', 'users')`
	if db.d.name == "postgres" {
		q = `SELECT (to_regclass('goose_db_version') IS NOT NULL)::int + (to_regclass('users') IS NOT NULL)::int`
	}
	var n int
	if err := db.read.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return false, db.wrap(ctx, "schema check", err)
	}
	return n == 2, nil
}

// UsersByCreation returns up to limit users created after the user at
// (createdAt, id) in the order (created_at, id): the keyset pagination of
// `authstore users list`, stable under inserts. The zero time and "" start
// at the first user. A limit below 1 returns none. It is for the admin
// listing, which scans the table (there is no index on created_at).
func (db *DB) UsersByCreation(ctx context.Context, createdAt time.Time, id string, limit int) ([]auth.User, error) {
	const op = "users by creation"
	if limit < 1 {
		return nil, nil
	}
	ctx, cancel := db.call(ctx)
	defer cancel()
	at := int64(math.MinInt64)
	if !createdAt.IsZero() {
		at = millis(createdAt)
	}
	rows, err := db.query(ctx, db.d.bind(`SELECT `+userColumns+` FROM users WHERE created_at > ? OR (created_at = ? AND id > ?) ORDER BY created_at, id LIMIT ?`), at, at, id, limit)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	defer rows.Close()
	var users []auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		users = append(users, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return users, nil
}
