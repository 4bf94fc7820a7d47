// Package sqlstore implements auth.Store on database/sql.
//
// SQLite (modernc.org/sqlite, no cgo) is the one dialect today; the DSN
// decides the dialect so that PostgreSQL can follow with its own migrations
// folder and error classification.
//
// Times are stored as INTEGER Unix milliseconds and read back in UTC: a time
// round-trips exactly after Truncate(time.Millisecond). The zero time is kept
// as NULL where a column may be unset (sessions.revoked_at).
//
// The store holds no business rules. Uniqueness is enforced by the database,
// so concurrent inserts of one login or email key let exactly one through and
// the others fail with an error wrapping auth.ErrDuplicate. RotateSession is a
// single compare-and-swap UPDATE.
//
// Errors that mean the database cannot answer (busy beyond the busy timeout,
// I/O failure, disk full, a broken connection) are returned as *auth.Error of
// kind auth.KindUnavailable; other unexpected errors are wrapped plainly and
// count as internal.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/authstore/auth"
	"github.com/pressly/goose/v3"
)

var _ auth.Store = (*DB)(nil)

//go:embed migrations
var migrations embed.FS

// Options configure Open.
type Options struct {
	// Now returns the current time. The Store methods take every time they
	// write from their callers; Now is for stamps the store makes itself.
	// Nil means time.Now.
	Now func() time.Time
	// Migrate applies pending migrations during Open.
	Migrate bool
}

// dialect holds what differs between database engines. Queries use "?"
// placeholders; a dialect with numbered placeholders rewrites them.
type dialect struct {
	goose      goose.Dialect
	migrations string // folder under migrations/
	// duplicate reports whether err is a unique or primary key violation.
	duplicate func(err error) bool
	// unavailable reports whether err means the database cannot answer now.
	unavailable func(err error) bool
}

// DB is an auth.Store on a SQL database. It is safe for concurrent use.
type DB struct {
	// write runs every statement that changes data. For SQLite it holds a
	// single connection, so writers queue in the pool (honouring ctx) instead
	// of contending for the database lock.
	write *sql.DB
	// read runs queries. It may be the same pool as write.
	read *sql.DB
	d    dialect
	now  func() time.Time
}

// Open opens the database named by dsn and, if opts.Migrate, migrates it.
//
// dsn is a SQLite file path, or ":memory:" for a private in-memory database
// that lives until Close. DSNs starting with postgres:// or postgresql:// are
// reserved for PostgreSQL, which is not supported yet.
//
// A SQLite file runs in WAL mode with synchronous=NORMAL: a committed
// transaction survives a crash of the process, but the last transactions
// before a power loss or OS crash may be lost. Foreign keys are enforced and
// a connection waits up to 5 s for a lock held by another process.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	var (
		db  *DB
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return nil, errors.New("sqlstore: postgres not supported yet")
	default:
		db, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	db.now = opts.Now
	if db.now == nil {
		db.now = time.Now
	}
	if opts.Migrate {
		if err := db.Migrate(ctx); err != nil {
			return nil, errors.Join(err, db.Close())
		}
	}
	return db, nil
}

// Migrate applies every pending migration of the dialect. Applying them
// again is a no-op.
func (db *DB) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations/"+db.d.migrations)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	p, err := goose.NewProvider(db.d.goose, db.write, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return db.wrap(ctx, "migrate", err)
	}
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return db.wrap(ctx, "ping", err)
	}
	if db.read != db.write {
		if err := db.read.PingContext(ctx); err != nil {
			return db.wrap(ctx, "ping", err)
		}
	}
	return nil
}

// Close closes the database. Every later call returns an error.
func (db *DB) Close() error {
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// wrap gives err the context of op and classifies it: a unique violation
// wraps auth.ErrDuplicate, an outage is an *auth.Error of KindUnavailable,
// and a cancelled ctx stays detectable with errors.Is.
func (db *DB) wrap(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	switch {
	case db.d.duplicate(err):
		return fmt.Errorf("sqlstore: %s: %w: %w", op, auth.ErrDuplicate, err)
	case errors.Is(err, sql.ErrConnDone) || db.d.unavailable(err):
		return &auth.Error{Kind: auth.KindUnavailable, Message: "Database unavailable", Op: "sqlstore: " + op, Err: err}
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// millis is the stored form of t.
func millis(t time.Time) int64 { return t.UnixMilli() }

// nullMillis is the stored form of t, NULL for the zero time.
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromMillis is the time stored as ms, in UTC.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// fromNullMillis is the time stored as ms, zero for NULL.
func fromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMillis(ms.Int64)
}
