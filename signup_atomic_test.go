package auth_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/authstore/auth"
)

// A signup whose session insert fails stores no user either, so retrying
// it succeeds instead of answering "Login and email already used". The
// failure is injected by a trigger in the test's SQLite database.
func TestSignupAtomic(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	raw, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TRIGGER fail_session BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'injected session insert failure'); END`)
	c := auth.Client{IP: "192.0.2.1"}
	if _, err := f.svc.Signup(ctx, signupReq("alice", "alice@example.com"), c); err == nil {
		t.Fatal("signup succeeded with the session insert failing")
	}
	login, email, err := f.db.KeysTaken(ctx, "alice", auth.Skeleton("alice"), "alice@example.com")
	if err != nil || login || email {
		t.Fatalf("after the failed signup: login taken %v, email taken %v, %v; want both free", login, email, err)
	}
	if _, err := f.db.UserByLoginKey(ctx, "alice"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("user of the failed signup: %v, want ErrNotFound", err)
	}
	exec(`DROP TRIGGER fail_session`)
	tok, err := f.svc.Signup(ctx, signupReq("alice", "alice@example.com"), c)
	if err != nil {
		t.Fatalf("retried signup: %v", err)
	}
	if _, err := f.refresh(tok.RefreshToken); err != nil {
		t.Fatalf("the retried signup's session: %v", err)
	}
}
