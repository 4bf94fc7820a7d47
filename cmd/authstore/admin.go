package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/sqlstore"
)

// open checks c's flags and opens the database in mode, with the logger to
// stderr they ask for. The caller must close the database.
func (c adminConfig) open(ctx context.Context, mode openMode, stderr io.Writer) (*sqlstore.DB, *slog.Logger, error) {
	if err := c.db.check(); err != nil {
		return nil, nil, err
	}
	log, err := c.log.logger(stderr)
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(ctx, c.db, mode, log)
	if err != nil {
		return nil, nil, err
	}
	return db, log, nil
}

// adminCtx is what a users, sessions or import command works with.
type adminCtx struct {
	*auth.Admin
	db  *sqlstore.DB
	log *slog.Logger // the command's log, to stderr, as --log-level and --log-format say
}

// openAdmin checks c's flags, refuses a database authstore has not
// migrated (creating nothing), and opens it and an auth.Admin logging audit
// events to stderr. The caller must close a.db.
func (c adminConfig) openAdmin(ctx context.Context, stderr io.Writer) (*adminCtx, error) {
	db, log, err := c.open(ctx, openExisting, stderr)
	if err != nil {
		return nil, err
	}
	a, err := auth.NewAdmin(auth.AdminConfig{Store: db, Logger: log})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &adminCtx{Admin: a, db: db, log: log}, nil
}

// rfc3339 formats t in UTC for the admin commands' tables; "-" for none.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
