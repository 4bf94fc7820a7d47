package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/authstore/auth/sqlstore"
)

// isPostgres reports whether dsn names a PostgreSQL database.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// redactDSN returns dsn fit for a log line: a PostgreSQL URL loses its
// password; a file path is unchanged.
func redactDSN(dsn string) string {
	if !isPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable)"
	}
	return u.Redacted()
}

// openDB opens the database c names, migrating it first if migrate.
func openDB(ctx context.Context, c dbConfig, migrate bool) (*sqlstore.DB, error) {
	db, err := sqlstore.Open(ctx, c.DB, sqlstore.Options{
		Migrate:  migrate,
		MaxConns: c.MaxConns,
		Timeout:  c.Timeout,

		SQLiteSyncFull: c.SQLiteSync == "full",
	})
	if err != nil {
		// The driver's error may quote the DSN; name the database redacted.
		return nil, fmt.Errorf("open database %s: %w", redactDSN(c.DB), err)
	}
	return db, nil
}
