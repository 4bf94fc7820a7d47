package sqlstore

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// defaultPostgresConns is the pool size when Options.MaxConns is 0.
const defaultPostgresConns = 10

// cancelGrace is how long a connection waits for the server to answer a
// cancel request before it is closed.
const cancelGrace = time.Second

// postgresDialect returns the PostgreSQL dialect.
func postgresDialect() dialect {
	return dialect{
		name:        "postgres",
		goose:       goose.DialectPostgres,
		migrations:  "postgres",
		bind:        numberPlaceholders,
		duplicate:   postgresDuplicate,
		unavailable: postgresUnavailable,
	}
}

// openPostgres opens a pool of at most conns connections (0 for the
// default) to the PostgreSQL database named by the URL dsn. It does not
// connect yet.
func openPostgres(dsn string, conns int) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgconn's parse errors redact the password.
		return nil, fmt.Errorf("sqlstore: postgres dsn: %w", err)
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "authstore"
	}
	// A call whose ctx ends asks the server to cancel its statement, so that
	// the statement does not run on (say, once a lock it waits for is
	// released) after the call has returned an error; if the server does not
	// answer within cancelGrace, the connection is closed.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelGrace}
	}
	locker, err := lock.NewPostgresSessionLocker(
		// Retry every second for up to migrateLockWait.
		lock.WithLockTimeout(1, uint64(migrateLockWait/time.Second)))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: postgres migration lock: %w", err)
	}
	if conns == 0 {
		conns = defaultPostgresConns
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{write: pool, read: pool, d: postgresDialect(), locker: locker}, nil
}

// postgresDuplicate reports whether err is a unique violation.
func postgresDuplicate(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// postgresDeadlock reports whether err is the abort of a deadlock's victim.
func postgresDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}

// postgresUnavailable reports whether err means the server cannot answer
// now: no connection (refused, reset, closed, timed out), connection
// exception (class 08), insufficient resources (class 53), a terminated
// backend or a server shutting down or starting (57P01, 57P02, 57P03), a
// statement timeout or cancellation (57014), or a serialization failure or
// deadlock (40001, 40P01), which a retry may not meet.
func postgresUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "57014", "40001", "40P01":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53")
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		pgconn.Timeout(err)
}
