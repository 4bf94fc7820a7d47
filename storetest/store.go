package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// storeTests are the subtests of what auth.Store adds to its parts, and
// of every part at once.
func storeTests() []subtest[auth.Store] {
	return []subtest[auth.Store]{
		{"CreateUserWithSession", testCreateUserWithSession},
		{"Ping", testPing},
		{"CanceledContext", testCanceledContext},
	}
}

// testCreateUserWithSession checks that a user and its first session are
// stored together, and that a refused insert stores neither: a duplicate
// login leaves no session behind, and a duplicate session id leaves no user
// behind (the case of a signup whose session insert fails after its user
// insert succeeded).
func testCreateUserWithSession(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := newUser(1)
	sess := newSession(1, u.ID)
	if err := s.CreateUserWithSession(ctx, u, sess, nil); err != nil {
		t.Fatalf("CreateUserWithSession: %v", err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, got, u)
	checkSession(t, mustSession(t, s, sess.ID), sess)

	tests := []struct {
		name string
		user *auth.User
		sess func(userID string) *auth.Session
	}{
		{"duplicate login", func() *auth.User { d := newUser(2); d.LoginKey = u.LoginKey; return d }(),
			func(id string) *auth.Session { return newSession(2, id) }},
		{"duplicate login skeleton", func() *auth.User { d := newUser(5); d.LoginSkeleton = u.LoginSkeleton; return d }(),
			func(id string) *auth.Session { return newSession(5, id) }},
		{"duplicate email", func() *auth.User { d := newUser(3); d.EmailKey = u.EmailKey; return d }(),
			func(id string) *auth.Session { return newSession(3, id) }},
		{"duplicate session id", newUser(4),
			func(id string) *auth.Session { return newSession(1, id) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := tt.sess(tt.user.ID)
			err := s.CreateUserWithSession(ctx, tt.user, ds, nil)
			if !errors.Is(err, auth.ErrDuplicate) {
				t.Fatalf("error = %v, want ErrDuplicate", err)
			}
			if _, err := s.UserByID(ctx, tt.user.ID); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("UserByID(refused user) error = %v, want ErrNotFound", err)
			}
			if ds.ID != sess.ID {
				if _, err := s.Session(ctx, ds.ID); !errors.Is(err, auth.ErrNotFound) {
					t.Errorf("Session(refused session) error = %v, want ErrNotFound", err)
				}
			}
			// The login and email of the refused user are free again.
			login, email, err := s.KeysTaken(ctx, tt.user.LoginKey, tt.user.LoginSkeleton, tt.user.EmailKey)
			if err != nil {
				t.Fatal(err)
			}
			if login != (tt.user.LoginKey == u.LoginKey || tt.user.LoginSkeleton == u.LoginSkeleton) || email != (tt.user.EmailKey == u.EmailKey) {
				t.Errorf("KeysTaken = %v, %v after the refused insert", login, email)
			}
		})
	}
	checkSession(t, mustSession(t, s, sess.ID), sess)
}

func testPing(t *testing.T, s auth.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testCanceledContext(t *testing.T, s auth.Store) {
	sess := mustCreateSession(t, s, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateUser", func() error { return s.CreateUser(ctx, newUser(2)) }},
		{"UserByID", func() error { _, err := s.UserByID(ctx, sess.UserID); return err }},
		{"Session", func() error { _, err := s.Session(ctx, sess.ID); return err }},
		{"RotateSession", func() error { _, _, err := s.RotateSession(ctx, sess.ID, 1, time.Time{}, at(3*time.Hour)); return err }},
		{"Users", func() error { _, err := s.Users(ctx, time.Time{}, "", 10); return err }},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, sess.UserID) }},
		{"RevokeUserSessions", func() error { _, err := s.RevokeUserSessions(ctx, sess.UserID, "", at(3*time.Hour)); return err }},
		{"AddLoginFailure", func() error { _, err := s.AddLoginFailure(ctx, "user1", at(3*time.Hour), time.Time{}); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s(canceled ctx) error = %v, want context.Canceled", c.name, err)
		}
	}
	if _, err := s.UserByID(t.Context(), newUser(2).ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("CreateUser with a canceled ctx stored the user (UserByID error = %v)", err)
	}
	checkSession(t, mustSession(t, s, sess.ID), sess)
	if f, err := s.LoginFailures(t.Context(), "user1"); err != nil || f.Count != 0 {
		t.Errorf("LoginFailures after AddLoginFailure with a canceled ctx = %+v, %v, want none", f, err)
	}
}
