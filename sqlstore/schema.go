package sqlstore

import (
	"context"
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
