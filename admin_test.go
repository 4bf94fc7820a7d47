package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authstore/auth"
	"github.com/authstore/auth/password"
	"golang.org/x/crypto/bcrypt"
)

func (f *fixture) admin(t *testing.T) *auth.Admin {
	t.Helper()
	a, err := auth.NewAdmin(auth.AdminConfig{Store: f.db, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	a := f.admin(t)
	// A hash the original service made: argon2id with other parameters.
	old := password.New(password.Options{Params: password.Params{Memory: 128, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}})
	argonHash, err := old.Hash(ctx, "hunter2 but longer")
	if err != nil {
		t.Fatal(err)
	}
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte("bcrypt password"), 4)
	if err != nil {
		t.Fatal(err)
	}
	f.signup(t, "taken")

	user := func(id, login, email, hash string) auth.ImportUser {
		return auth.ImportUser{ID: id, FirstName: "Imp", LastName: "Orted", Login: login, Email: email, PasswordHash: hash}
	}
	tests := []struct {
		name   string
		in     auth.ImportUser
		want   auth.ImportOutcome
		reason string
	}{
		{"argon2id user", user("8D3A2C1E-0F4B-4C5D-9E6F-7A8B9C0D1E2F", "imported", "imp@example.com", argonHash), auth.Imported, ""},
		{"the same again", user("8d3a2c1e-0f4b-4c5d-9e6f-7a8b9c0d1e2f", "imported", "imp@example.com", argonHash), auth.Skipped, "already imported"},
		{"bcrypt user", user("1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "bee", "bee@example.com", string(bcryptHash)), auth.Imported, ""},
		{"not a uuid", user("42", "fortytwo", "ft@example.com", argonHash), auth.Rejected, "uuid is not a UUID"},
		{"bad email", user("2c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "mail", "not-an-email", argonHash), auth.Rejected, "email must be an email"},
		{"plain-text password", user("3c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "plain", "plain@example.com", "secret123"), auth.Rejected, "password is not an argon2id or bcrypt hash"},
		{"login of another user", user("4c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "TAKEN", "new@example.com", argonHash), auth.Rejected, "login already used by another user"},
	}
	for _, tt := range tests {
		got, reason, err := a.Import(ctx, tt.in)
		if err != nil || got != tt.want || reason != tt.reason {
			t.Errorf("%s: Import = %v %q %v, want %v %q", tt.name, got, reason, err, tt.want, tt.reason)
		}
	}

	// Imported users sign in with their old passwords; the ID is kept.
	for login, pw := range map[string]string{"imported": "hunter2 but longer", "bee": "bcrypt password"} {
		tok, err := f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String(login), Password: auth.String(pw)}, auth.Client{})
		if err != nil {
			t.Fatalf("signin %s: %v", login, err)
		}
		c := f.caller(t, tok.AccessToken)
		if login == "imported" && c.User.ID != "8d3a2c1e-0f4b-4c5d-9e6f-7a8b9c0d1e2f" {
			t.Errorf("imported user has id %s", c.User.ID)
		}
	}
	// ... and the hash was upgraded to the current parameters.
	u, err := f.db.UserByLoginKey(ctx, "imported")
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash == argonHash {
		t.Error("hash not upgraded at first signin")
	}
}

func TestDisableEnableDelete(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	a := f.admin(t)
	tok := f.signup(t, "alice")

	u, err := a.DisableUser(ctx, "ALICE")
	if err != nil || !u.Disabled() {
		t.Fatalf("DisableUser = %+v, %v", u, err)
	}
	_, err = f.refresh(tok.RefreshToken)
	wantErr(t, err, auth.ErrInvalidToken)
	_, err = f.svc.Authenticate(ctx, tok.AccessToken)
	wantErr(t, err, auth.ErrInvalidToken)
	_, err = f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String("alice"), Password: auth.String("correct horse battery")}, auth.Client{})
	wantErr(t, err, auth.ErrBadCredentials)

	if _, err := a.EnableUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	f.signin(t, "alice", "back")

	if _, err := a.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.User(ctx, "alice"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("User after delete: %v, want not found", err)
	}
	if _, err := a.DisableUser(ctx, "nobody"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DisableUser(nobody) = %v, want not found", err)
	}
}

// disablingHasher disables the user while its password is being checked,
// as an administrator acting during a signin would.
type disablingHasher struct {
	auth.PasswordHasher
	disable func()
}

func (h *disablingHasher) Verify(ctx context.Context, encoded, password string) (bool, bool, error) {
	h.disable()
	return h.PasswordHasher.Verify(ctx, encoded, password)
}

// A session opened by a signin that raced the disabling, or one whose
// revocation was missed, neither rotates nor replays: the store refuses to
// rotate for a disabled user, and the service checks before a replay.
func TestDisabledUserCannotRefresh(t *testing.T) {
	ctx := context.Background()
	var h *disablingHasher
	f := newFixture(t, func(c *auth.Config) {
		h = &disablingHasher{PasswordHasher: c.Hasher, disable: func() {}}
		c.Hasher = h
	})
	first := f.signup(t, "alice")
	second, err := f.refresh(first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.db.UserByLoginKey(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	h.disable = func() {
		if err := f.db.SetUserDisabled(ctx, u.ID, f.clock.Now(), f.clock.Now()); err != nil {
			t.Error(err)
		}
	}
	// The signin read the user before it was disabled and gets tokens.
	raced, err := f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String("alice"), Password: auth.String("correct horse battery")}, auth.Client{})
	if err != nil {
		t.Fatalf("signin racing the disable: %v", err)
	}
	for name, rt := range map[string]string{
		"the raced session":                      raced.RefreshToken,
		"a session never revoked, current token": second.RefreshToken,
		"its predecessor, within the grace":      first.RefreshToken,
	} {
		if _, err := f.refresh(rt); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: refresh of a disabled user = %v, want ErrInvalidToken", name, err)
		}
	}
}
