package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/authstore/auth/sqlstore"
)

// pgKeywords are the keys of a libpq key=value connection string that mark
// one as such (rather than a file path).
var pgKeywords = []string{"host", "hostaddr", "port", "user", "dbname", "password", "sslmode", "sslpassword", "passfile", "service"}

// isKeyValueDSN reports whether s looks like a libpq key=value connection
// string ("host=h user=u password=p"): every field is key=value and one key
// is a libpq keyword.
func isKeyValueDSN(s string) bool {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return false
	}
	known := false
	for _, f := range fields {
		k, _, ok := strings.Cut(f, "=")
		if !ok {
			return false
		}
		for _, kw := range pgKeywords {
			if k == kw {
				known = true
			}
		}
	}
	return known
}

// describeDSN returns what a log line or an error may say about dsn: for
// PostgreSQL (a URL or a key=value string) only its user, host, port and
// database, as postgres://user@host:port/db, never its password or any
// other parameter; a SQLite file path unchanged.
func describeDSN(dsn string) string {
	var user, host, port, db string
	switch {
	case sqlstore.IsPostgres(dsn):
		u, err := url.Parse(dsn)
		if err != nil {
			return "postgres://(unparsable URL)"
		}
		user, host, db = u.User.Username(), u.Host, strings.TrimPrefix(u.Path, "/")
	case isKeyValueDSN(dsn):
		for _, f := range strings.Fields(dsn) {
			k, v, _ := strings.Cut(f, "=")
			v = strings.Trim(v, "'")
			switch k {
			case "user":
				user = v
			case "host":
				host = v
			case "port":
				port = v
			case "dbname":
				db = v
			}
		}
		if port != "" {
			host += ":" + port
		}
	default:
		return dsn
	}
	out := "postgres://"
	if user != "" {
		out += url.PathEscape(user) + "@"
	}
	return out + host + "/" + url.PathEscape(db)
}

// dsnSecrets returns the values in dsn that must never be shown: the URL's
// password and every parameter whose name holds "password", in the forms
// they may take in a message (as written and percent-decoded).
func dsnSecrets(dsn string) []string {
	var out []string
	add := func(vs ...string) {
		for _, v := range vs {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	if sqlstore.IsPostgres(dsn) {
		if u, err := url.Parse(dsn); err == nil {
			if p, ok := u.User.Password(); ok {
				add(p, url.UserPassword("", p).String()[1:])
			}
			for k, vs := range u.Query() {
				if strings.Contains(strings.ToLower(k), "password") {
					for _, v := range vs {
						add(v, url.QueryEscape(v))
					}
				}
			}
		}
		// The raw query text, in case the URL does not parse as above.
		for kv := range strings.SplitSeq(dsn[strings.IndexByte(dsn, '?')+1:], "&") {
			if k, v, ok := strings.Cut(kv, "="); ok && strings.Contains(strings.ToLower(k), "password") && v != "" {
				add(v)
			}
		}
		return out
	}
	for _, f := range strings.Fields(dsn) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.Contains(strings.ToLower(k), "password") {
			add(strings.Trim(v, "'"))
		}
	}
	return out
}

// redactedError is an error whose message had a DSN's secrets taken out;
// errors.Is and errors.As still see the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err with every secret of dsn, and dsn itself, removed
// from its message (a driver's error may quote either); nil stays nil.
func redactErr(err error, dsn string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if sqlstore.IsPostgres(dsn) || isKeyValueDSN(dsn) {
		msg = strings.ReplaceAll(msg, dsn, describeDSN(dsn))
		for _, s := range dsnSecrets(dsn) {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// openMode says what openDB may do to the database.
type openMode int

const (
	// openExisting needs a database migrated by authstore and creates
	// nothing: the admin commands and serve --no-migrate.
	openExisting openMode = iota
	// openCreate creates a SQLite file if there is none, migrating nothing:
	// migrate up.
	openCreate
	// openMigrate creates and migrates: serve.
	openMigrate
)

// notAuthstoreDB is the refusal of a database authstore has not migrated.
func notAuthstoreDB(dsn string) error {
	return fmt.Errorf("%s is not an authstore database (run `authstore migrate up`)", describeDSN(dsn))
}

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// openDB opens the database c names as mode allows. An existing SQLite file
// that others may read is first made private (see tightenDBFile), with a
// warning on log. No error it returns holds the DSN's password.
func openDB(ctx context.Context, c dbConfig, mode openMode, log *slog.Logger) (*sqlstore.DB, error) {
	if isKeyValueDSN(c.DB) {
		// Taken as a file path, it would create a file named after the
		// password.
		return nil, usageError{Msg: "--db: a PostgreSQL database is named by a postgres:// URL, not a key=value string"}
	}
	if !sqlstore.IsPostgres(c.DB) && !isMemoryDB(c.DB) {
		isDB, err := checkDBFile(c.DB, log)
		if err != nil {
			return nil, err
		}
		if !isDB && mode == openExisting {
			return nil, notAuthstoreDB(c.DB)
		}
	}
	db, err := sqlstore.Open(ctx, c.DB, sqlstore.Options{
		Migrate:  mode == openMigrate,
		MaxConns: c.MaxConns,
		Timeout:  c.Timeout,

		SQLiteSyncFull: c.SQLiteSync == "full",
	})
	if err != nil {
		return nil, redactErr(fmt.Errorf("open database %s: %w", describeDSN(c.DB), err), c.DB)
	}
	if mode == openExisting {
		ok, err := db.HasSchema(ctx)
		if err == nil && !ok {
			err = notAuthstoreDB(c.DB)
		}
		if err != nil {
			db.Close()
			return nil, redactErr(err, c.DB)
		}
	}
	return db, nil
}

// checkDBFile looks at the SQLite file path before it is opened. It reports
// whether a SQLite database is there (false for a missing or empty file,
// or one that is not SQLite's); it refuses one owned by another user that
// others may read, and makes one of ours that others may read private:
// mode 0600 for it and its -wal and -shm files, with a warning on log.
// The file holds password hashes and sealed signing keys.
func checkDBFile(path string, log *slog.Logger) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open database %s: %w", path, err)
	}
	head := make([]byte, len(sqliteHeader))
	_, rerr := io.ReadFull(f, head)
	fi, serr := f.Stat()
	f.Close()
	if serr != nil {
		return false, fmt.Errorf("open database %s: %w", path, serr)
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("open database %s: not a regular file", path)
	}
	isDB := rerr == nil && bytes.Equal(head, sqliteHeader)
	if fi.Mode().Perm()&0o077 == 0 {
		return isDB, nil
	}
	if !ownedByUs(fi) {
		return false, fmt.Errorf("database %s is readable by others (mode %04o) and not owned by this user: make it private (chmod 600) or run as its owner", path, fi.Mode().Perm())
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		pfi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && pfi.Mode().Perm()&0o077 != 0 && ownedByUs(pfi) {
			log.Warn("database file was readable by others: made private", "file", p, "was", fmt.Sprintf("%04o", pfi.Mode().Perm()), "now", "0600")
			err = os.Chmod(p, 0o600)
		}
		if err != nil {
			return false, fmt.Errorf("database %s: %w", p, err)
		}
	}
	return isDB, nil
}
