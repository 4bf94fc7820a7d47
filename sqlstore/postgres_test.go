package sqlstore_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/internal/pgtest"
	"github.com/authstore/auth/sqlstore"
	"github.com/authstore/auth/storetest"
	"github.com/jackc/pgx/v5"
)

func TestPostgresStore(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	storetest.Run(t, func(t *testing.T) auth.Store {
		return open(t, pgtest.Schema(t, dsn))
	})
}

func TestPostgresConcurrentMigrate(t *testing.T) {
	t.Parallel()
	testConcurrentMigrate(t, pgtest.DSN(t))
}

func TestPostgresUpgradeFromInit(t *testing.T) {
	t.Parallel()
	testUpgradeFromInit(t, pgtest.DSN(t))
}

func TestPostgresMigrationStatus(t *testing.T) {
	t.Parallel()
	testMigrationStatus(t, pgtest.DSN(t), "postgres")
}

// connect opens a plain pgx connection to dsn, named app in
// pg_stat_activity, closed when t ends.
func connect(t *testing.T, dsn, app string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	cfg.RuntimeParams["application_name"] = app
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestPostgresApplicationName(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	custom, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse dsn: %v", err)
	}
	q := custom.Query()
	q.Set("application_name", "custom-name")
	custom.RawQuery = q.Encode()
	monitor := connect(t, dsn, "pgtest-monitor")

	tests := []struct{ name, dsn, want string }{
		{"default", dsn, "authstore"},
		{"set by the dsn", custom.String(), "custom-name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t, tt.dsn)
			if err := db.Ping(t.Context()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			var n int
			err := monitor.QueryRow(t.Context(),
				`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
				tt.want).Scan(&n)
			if err != nil {
				t.Fatalf("pg_stat_activity: %v", err)
			}
			if n == 0 {
				t.Errorf("no connection named %q", tt.want)
			}
		})
	}
}

// lockedSession creates a user and session 1 in db, and returns the session
// id with a connection whose open transaction holds the session's row lock,
// so that a write of the row by db waits.
func lockedSession(t *testing.T, db *sqlstore.DB, dsn string) (string, pgx.Tx) {
	t.Helper()
	ctx := t.Context()
	u := testUser()
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	now := u.CreatedAt
	sess := &auth.Session{ID: "10000000-0000-4000-8000-000000000001", UserID: u.ID, Generation: 1, RotatedAt: now, CreatedAt: now, LastUsedAt: now}
	if err := db.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	holder := connect(t, dsn, "pgtest-holder")
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(ctx, `SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE`, sess.ID); err != nil {
		t.Fatalf("lock the session row: %v", err)
	}
	return sess.ID, tx
}

// waitingBackend returns the pid of the backend of the authstore pool that
// waits for a lock, polling pg_stat_activity through monitor.
func waitingBackend(t *testing.T, monitor *pgx.Conn) int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var pid int32
		err := monitor.QueryRow(ctx,
			`SELECT pid FROM pg_stat_activity
			 WHERE datname = current_database() AND application_name = 'authstore' AND wait_event_type = 'Lock'`).Scan(&pid)
		switch {
		case err == nil:
			return pid
		case !errors.Is(err, pgx.ErrNoRows):
			t.Fatalf("pg_stat_activity: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("no authstore backend waited for the row lock")
		case <-tick.C:
		}
	}
}

// TestPostgresOutage kills the backend of a call waiting on a row lock, as a
// failover or an administrator would, and checks that the call reports the
// outage and that the next call works on a new connection.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	// One connection, so the next call must replace the broken one; a long
	// timeout, so that only the kill ends the call.
	db, err := sqlstore.Open(t.Context(), dsn, sqlstore.Options{Migrate: true, MaxConns: 1, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	id, tx := lockedSession(t, db, dsn)
	monitor := connect(t, dsn, "pgtest-monitor")

	done := make(chan error, 1)
	go func() { _, _, err := db.RotateSession(t.Context(), id, 1, time.Time{}, time.Now()); done <- err }()
	pid := waitingBackend(t, monitor)
	var killed bool
	if err := monitor.QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, pid).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
	}
	err = <-done
	var e *auth.Error
	if !errors.As(err, &e) || e.Kind != auth.KindUnavailable || e.Message != "Database unavailable" {
		t.Errorf("RotateSession on a terminated backend error = %v, want KindUnavailable \"Database unavailable\"", err)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback: %v", err)
	}

	if _, _, err := db.RotateSession(t.Context(), id, 1, time.Time{}, time.Now()); err != nil {
		t.Errorf("RotateSession after the outage: %v", err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Errorf("Ping after the outage: %v", err)
	}
}

// TestPostgresCallTimeout checks that a call outliving Options.Timeout is an
// outage, and one outliving the caller's deadline is not.
func TestPostgresCallTimeout(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	// Long enough to connect on a loaded machine; the held lock outlasts any timeout.
	db, err := sqlstore.Open(t.Context(), dsn, sqlstore.Options{Migrate: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	id, tx := lockedSession(t, db, dsn)

	_, _, err = db.RotateSession(t.Context(), id, 1, time.Time{}, time.Now())
	if !auth.IsKind(err, auth.KindUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RotateSession past the timeout error = %v, want KindUnavailable wrapping DeadlineExceeded", err)
	}

	slow, err := sqlstore.Open(t.Context(), dsn, sqlstore.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { slow.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, _, err = slow.RotateSession(ctx, id, 1, time.Time{}, time.Now())
	if auth.IsKind(err, auth.KindUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RotateSession past the caller's deadline error = %v, want a plain DeadlineExceeded", err)
	}

	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if _, _, err := db.RotateSession(t.Context(), id, 1, time.Time{}, time.Now()); err != nil {
		t.Errorf("RotateSession after the lock is released: %v", err)
	}
}

func TestOpenUnreachableServer(t *testing.T) {
	t.Parallel()
	// Port 1 on the loopback refuses connections.
	db, err := sqlstore.Open(t.Context(), "postgres://u@127.0.0.1:1/auth?sslmode=disable", sqlstore.Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open of an unreachable server succeeded")
	}
	if !auth.IsKind(err, auth.KindUnavailable) {
		t.Errorf("Open of an unreachable server error = %v, want KindUnavailable", err)
	}
}
