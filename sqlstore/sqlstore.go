// Package sqlstore implements auth.Store on database/sql, on SQLite or on
// PostgreSQL; the DSN given to Open decides which.
//
// SQLite (modernc.org/sqlite, no cgo) is the default: one file, nothing else
// to run. A file database runs in WAL mode with synchronous=NORMAL: a
// committed transaction survives a crash of the process, but the last
// transactions before a power loss or an OS crash may be lost; with
// Options.SQLiteSyncFull (synchronous=FULL) they are not. ":memory:" is
// a private database that lives until Close and keeps nothing.
//
// PostgreSQL (github.com/jackc/pgx/v5 through its database/sql driver) lets
// several instances share one database. A transaction is durable once its
// commit returns, as far as the server's own settings (fsync,
// synchronous_commit, replication) make it so.
//
// Both dialects run the same query text; only the placeholders differ ("?"
// for SQLite, "$n" for PostgreSQL, rewritten once by Open). Times are stored
// as Unix milliseconds (INTEGER in SQLite, BIGINT in PostgreSQL) and read
// back in UTC: a time round-trips exactly after Truncate(time.Millisecond).
// The zero time is kept as NULL where a column may be unset
// (sessions.revoked_at, users.disabled_at).
//
// The store holds no business rules. Uniqueness is enforced by the database,
// so concurrent inserts of one key let exactly one through and the others
// fail with an error wrapping auth.ErrDuplicate. RotateSession is a single
// compare-and-swap UPDATE and AddLoginFailure a single upsert.
//
// Errors that mean the database cannot answer now are returned as
// *auth.Error of kind auth.KindUnavailable with the message "Database
// unavailable": for SQLite a lock held beyond the busy timeout, an I/O
// failure or a full disk; for PostgreSQL a refused, reset or closed
// connection, a terminated backend, a server shutting down or out of
// resources, a statement timeout, a serialization failure or a deadlock; for
// both a call that outlives Options.Timeout. A cancelled or expired ctx of
// the caller stays a plain error wrapping ctx.Err(). Other unexpected errors
// are wrapped plainly and count as internal.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/authstore/auth"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

var _ auth.Store = (*DB)(nil)

//go:embed migrations
var migrations embed.FS

// defaultTimeout bounds a Store call when Options.Timeout is 0.
const defaultTimeout = 5 * time.Second

// Options configure Open.
type Options struct {
	// Now returns the current time. The Store methods take every time they
	// write from their callers; Now is for stamps the store makes itself.
	// Nil means time.Now.
	Now func() time.Time
	// Migrate applies pending migrations during Open.
	Migrate bool
	// MaxConns is the size of the connection pool: for PostgreSQL the whole
	// pool (0 means 10), for a SQLite file the pool of readers beside its
	// single writer (0 means max(4, GOMAXPROCS)). A SQLite ":memory:"
	// database always has one connection.
	MaxConns int
	// Timeout bounds each Store call, waiting for a connection included; a
	// call that runs out of it fails with KindUnavailable. 0 means 5 s.
	// Migrate is not bounded by it.
	Timeout time.Duration
	// SQLiteSyncFull makes a SQLite file run with synchronous=FULL: each
	// commit is also durable against power loss and OS crashes, at the cost
	// of an fsync of the WAL per commit. Ignored for PostgreSQL.
	SQLiteSyncFull bool
	// Logger receives what migrations report, such as users whose keys a
	// re-keying migration retired. Nil discards it.
	Logger *slog.Logger
}

// Migration is one schema migration and whether the database has it.
type Migration struct {
	Version int64
	Name    string // file name, such as "00001_init.sql"; "00004_rekey_users.go" for a Go migration
	Applied bool
	// AppliedAt is when the migration was applied (by the database's clock),
	// zero while it is pending.
	AppliedAt time.Time
}

// dialect holds what differs between database engines.
type dialect struct {
	name       string // "sqlite" or "postgres"
	goose      goose.Dialect
	migrations string // folder under migrations/
	// bind rewrites the "?" placeholders of a query for the engine.
	bind func(query string) string
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
	q    queries
	// ws and rs cache the prepared statements of write and read (one
	// cache when they are one pool).
	ws, rs *stmts
	// rotations is the group commit of RotateSession on a SQLite file and
	// on PostgreSQL; nil for a SQLite ":memory:" database.
	rotations *batcher
	// locker serializes migrations across processes; nil means none is
	// needed (a private in-memory database).
	locker lock.SessionLocker
	now    func() time.Time
	log    *slog.Logger
	// timeout bounds each call; timedOut is the cause of its expiry, which
	// tells our deadline from the caller's.
	timeout  time.Duration
	timedOut error
}

// Open opens the database named by dsn and, if opts.Migrate, migrates it.
//
// A dsn starting with postgres:// or postgresql:// is a PostgreSQL
// connection URL (see the pgx documentation for its parameters); Open sets
// application_name=authstore unless the URL sets one. Any other dsn is a
// SQLite file path, or ":memory:".
//
// A SQLite file runs in WAL mode with synchronous=NORMAL, or FULL with
// opts.SQLiteSyncFull (see the package documentation for what each keeps), foreign keys are enforced and a
// connection waits up to 5 s for a lock held by another process.
//
// Open checks that the database answers; an unreachable one is an error of
// KindUnavailable.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if opts.MaxConns < 0 || opts.Timeout < 0 {
		return nil, errors.New("sqlstore: MaxConns and Timeout must not be negative")
	}
	var (
		db  *DB
		err error
	)
	switch {
	case IsPostgres(dsn):
		db, err = openPostgres(dsn, opts.MaxConns)
	default:
		db, err = openSQLite(ctx, dsn, opts.MaxConns, opts.SQLiteSyncFull)
	}
	if err != nil {
		return nil, err
	}
	db.q = newQueries(db.d.bind)
	db.ws, db.rs = newStmts(db.write), newStmts(db.read)
	if db.read == db.write {
		db.rs = db.ws
	}
	db.log = opts.Logger
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	db.now = opts.Now
	if db.now == nil {
		db.now = time.Now
	}
	db.timeout = opts.Timeout
	if db.timeout == 0 {
		db.timeout = defaultTimeout
	}
	db.timedOut = fmt.Errorf("sqlstore: call exceeded its %v timeout: %w", db.timeout, context.DeadlineExceeded)
	switch {
	case db.d.name == "postgres":
		db.rotations = newBatcher(newPGRotations(db).run)
	case db.read != db.write: // a SQLite file
		db.rotations = newBatcher(db.rotateSQLite)
	}
	if err := db.Ping(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if opts.Migrate {
		if _, err := db.Migrate(ctx); err != nil {
			return nil, errors.Join(err, db.Close())
		}
	}
	return db, nil
}

// provider returns a goose provider of the dialect's migrations that holds
// the migration lock while it works.
func (db *DB) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+db.d.migrations)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(db.rekeyMigration(rekeyVersion)),
	}
	if db.locker != nil {
		opts = append(opts, goose.WithSessionLocker(db.locker))
	}
	return goose.NewProvider(db.d.goose, db.write, fsys, opts...)
}

// Migrate applies every pending migration of the dialect and returns those
// it applied, by version; applying them again is a no-op.
//
// Instances that migrate one database at once take turns: PostgreSQL holds
// a session-level advisory lock, a SQLite file an exclusive flock(2) on the
// file "<path>.migrate-lock" beside it (created once and kept), for the
// whole run. Waiting for the lock is bounded by ctx and by 5 minutes.
func (db *DB) Migrate(ctx context.Context) ([]Migration, error) {
	p, err := db.provider()
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, db.wrap(ctx, "migrate", err)
	}
	if len(results) == 0 {
		return nil, nil
	}
	status, err := db.MigrationStatus(ctx)
	if err != nil {
		return nil, err
	}
	applied := make(map[int64]bool, len(results))
	for _, r := range results {
		applied[r.Source.Version] = true
	}
	var out []Migration
	for _, m := range status {
		if applied[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}

// MigrationStatus returns every migration of the dialect, by version, and
// whether the database has it. It creates goose's version table if the
// database has none.
func (db *DB) MigrationStatus(ctx context.Context) ([]Migration, error) {
	p, err := db.provider()
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migration status: %w", err)
	}
	status, err := p.Status(ctx)
	if err != nil {
		return nil, db.wrap(ctx, "migration status", err)
	}
	out := make([]Migration, 0, len(status))
	for _, s := range status {
		m := Migration{
			Version: s.Source.Version,
			Name:    path.Base(s.Source.Path),
			Applied: s.State == goose.StateApplied,
		}
		if s.Source.Type == goose.TypeGo {
			m.Name = goMigrationName(m.Version)
		}
		if m.Applied {
			m.AppliedAt = s.AppliedAt.UTC()
		}
		out = append(out, m)
	}
	return out, nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := db.call(ctx)
	defer cancel()
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
	if db.rotations != nil {
		db.rotations.close()
	}
	err := db.ws.close()
	if db.rs != db.ws {
		err = errors.Join(err, db.rs.close())
	}
	err = errors.Join(err, db.write.Close())
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// call returns ctx bounded by the call timeout.
func (db *DB) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, db.timeout, db.timedOut)
}

// unavailable returns the error of an outage during op.
func unavailable(op string, err error) error {
	return &auth.Error{Kind: auth.KindUnavailable, Message: "Database unavailable", Op: "sqlstore: " + op, Err: err}
}

// wrap gives err the context of op and classifies it: a unique violation
// wraps auth.ErrDuplicate; our own call timeout and an outage are an
// *auth.Error of KindUnavailable; a cancelled or expired ctx of the caller
// stays detectable with errors.Is and is not an outage.
func (db *DB) wrap(ctx context.Context, op string, err error) error {
	if db.d.duplicate(err) {
		return fmt.Errorf("sqlstore: %s: %w: %w", op, auth.ErrDuplicate, err)
	}
	if cerr := ctx.Err(); cerr != nil {
		if cause := context.Cause(ctx); cause == db.timedOut {
			return unavailable(op, fmt.Errorf("%w: %w", cause, err))
		}
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) || db.d.unavailable(err) {
		return unavailable(op, err)
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

// IsPostgres reports whether Open takes dsn for a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}
