package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeoutMillis is how long a SQLite connection waits for a lock held by
// another connection (in practice: another process) before failing.
const busyTimeoutMillis = "5000"

// sqliteDialect returns the SQLite dialect.
func sqliteDialect() dialect {
	return dialect{
		name:        "sqlite",
		goose:       goose.DialectSQLite3,
		migrations:  "sqlite",
		bind:        keepPlaceholders,
		duplicate:   sqliteDuplicate,
		unavailable: sqliteUnavailable,
	}
}

// openSQLite opens the SQLite database at path, or a private in-memory
// database for ":memory:".
//
// A file gets two pools: one connection for every write (transactions begin
// IMMEDIATE), so writers of this process never race for the lock and never
// see SQLITE_BUSY, and a pool of query-only connections for reads, which WAL
// lets run beside the writer. An in-memory database exists only within its
// connection, so it gets one connection for everything. readers is the size
// of the read pool, 0 for the default; syncFull sets synchronous=FULL.
func openSQLite(ctx context.Context, path string, readers int, syncFull bool) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlstore: empty dsn")
	}
	if strings.Contains(path, "?") || strings.HasPrefix(path, "file:") {
		return nil, errors.New("sqlstore: sqlite dsn must be a file path or :memory:, not a file: URI or a query string")
	}
	if path == ":memory:" {
		q := url.Values{"_pragma": {"busy_timeout(" + busyTimeoutMillis + ")", "foreign_keys(1)"}}
		one, err := sql.Open("sqlite", path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open: %w", err)
		}
		one.SetMaxOpenConns(1)
		one.SetMaxIdleConns(1)
		one.SetConnMaxLifetime(0)
		one.SetConnMaxIdleTime(0)
		return &DB{write: one, read: one, d: sqliteDialect()}, nil
	}

	// The database holds password hashes: create it readable by its owner
	// only. SQLite gives the -wal and -shm files the same mode.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlstore: create %s: %w", path, err)
	}

	sync := "synchronous(NORMAL)"
	if syncFull {
		sync = "synchronous(FULL)"
	}
	wq := url.Values{
		"_pragma": {
			"busy_timeout(" + busyTimeoutMillis + ")",
			"journal_mode(WAL)",
			sync,
			"foreign_keys(1)",
		},
		"_txlock": {"immediate"},
	}
	write, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	// The writer connects first so that the file exists and is in WAL mode
	// before any reader opens it.
	if err := pingWriter(ctx, write); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open %s: %w", path, err), write.Close())
	}

	rq := url.Values{
		"_pragma": {
			"busy_timeout(" + busyTimeoutMillis + ")",
			"foreign_keys(1)",
			"query_only(1)",
		},
	}
	read, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open: %w", err), write.Close())
	}
	if readers == 0 {
		readers = max(4, runtime.GOMAXPROCS(0))
	}
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	return &DB{write: write, read: read, d: sqliteDialect(), locker: &fileLocker{path: path + ".migrate-lock"}}, nil
}

// pingWriter makes the writer's first connection, which switches the file
// to WAL. Processes opening one new file at the same moment can get
// SQLITE_BUSY from that switch at once, without the busy handler waiting,
// so a busy answer is retried for up to the busy timeout.
func pingWriter(ctx context.Context, write *sql.DB) error {
	deadline := time.Now().Add(5 * time.Second) // busyTimeoutMillis
	for {
		err := write.PingContext(ctx)
		code, ok := sqliteCode(err)
		if err == nil || !ok || code&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// sqliteCode returns the extended result code of a SQLite error in err's
// chain.
func sqliteCode(err error) (int, bool) {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.Code(), true
}

// sqliteDuplicate reports whether err is a UNIQUE or PRIMARY KEY violation.
func sqliteDuplicate(err error) bool {
	code, ok := sqliteCode(err)
	return ok && (code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// sqliteUnavailable reports whether err means the database cannot answer:
// locked beyond the busy timeout, an I/O error, a full disk, or a file that
// cannot be opened, read or written.
func sqliteUnavailable(err error) bool {
	code, ok := sqliteCode(err)
	if !ok {
		return false
	}
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return true
	}
	return false
}
