package sqlstore

import (
	"context"
	"database/sql"
)

// MigrateTo applies the migrations up to version, for tests of upgrades
// from an older schema.
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// Exec runs query (with "?" placeholders) on the write pool, bypassing the
// Store methods, for tests that need rows of an older schema.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.write.ExecContext(ctx, db.d.bind(query), args...)
}

// BeginWrite begins a transaction on the write pool; for SQLite it holds the
// database's write lock until it ends.
func (db *DB) BeginWrite(ctx context.Context) (*sql.Tx, error) {
	return db.write.BeginTx(ctx, nil)
}

// WriterPragma returns the value of PRAGMA name on the writer connection.
func (db *DB) WriterPragma(ctx context.Context, name string) (string, error) {
	var v string
	err := db.write.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name }
