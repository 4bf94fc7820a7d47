package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/internal/pgtest"
	"github.com/authstore/auth/sqlstore"
)

// On PostgreSQL, a signup whose session insert waits past the call timeout
// (another transaction holds LOCK TABLE sessions) fails as unavailable and
// leaves no user behind: the login is free for the retry, which succeeds
// once the lock is gone.
func TestPostgresCreateUserWithSessionTimeout(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	db, err := sqlstore.Open(t.Context(), dsn, sqlstore.Options{Migrate: true, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	u := testUser()
	s := &auth.Session{ID: "10000000-0000-4000-8000-000000000001", UserID: u.ID, Generation: 1,
		RotatedAt: u.CreatedAt, CreatedAt: u.CreatedAt, LastUsedAt: u.CreatedAt}

	holder := connect(t, dsn, "pgtest-holder")
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(ctx, `LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatalf("LOCK TABLE: %v", err)
	}
	err = db.CreateUserWithSession(ctx, u, s, nil)
	if !auth.IsKind(err, auth.KindUnavailable) {
		t.Fatalf("CreateUserWithSession with sessions locked: %v, want KindUnavailable", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("release the lock: %v", err)
	}
	login, email, err := db.KeysTaken(ctx, u.LoginKey, u.LoginSkeleton, u.EmailKey)
	if err != nil || login || email {
		t.Fatalf("after the failed insert: login taken %v, email taken %v, %v; want both free", login, email, err)
	}
	if err := db.CreateUserWithSession(ctx, u, s, nil); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if _, err := db.Session(ctx, s.ID); err != nil {
		t.Errorf("session of the retry: %v", err)
	}
	if _, err := db.UserByID(ctx, u.ID); errors.Is(err, auth.ErrNotFound) {
		t.Errorf("user of the retry: %v", err)
	}
}
