package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth"
)

func (f *fixture) signin(t *testing.T, login, ua string) auth.Tokens {
	t.Helper()
	tok, err := f.svc.Signin(context.Background(), auth.SigninRequest{Login: auth.String(login), Password: auth.String("correct horse battery")},
		auth.Client{IP: "192.0.2.7", UserAgent: ua})
	if err != nil {
		t.Fatalf("signin %s: %v", login, err)
	}
	return tok.Tokens
}

func (f *fixture) caller(t *testing.T, access string) *auth.Caller {
	t.Helper()
	c, err := f.svc.Authenticate(context.Background(), access)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return c
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	tok := f.signup(t, "alice")
	c := f.caller(t, tok.AccessToken)
	if c.User.Login != "alice" || c.Session.UserID != c.User.ID || c.Claims.Subject != c.User.ID {
		t.Fatalf("caller = %+v", c)
	}

	// Another service on the same keys but another audience.
	other := newFixture(t, func(cfg *auth.Config) { cfg.Audience = "elsewhere" })
	foreign := other.signup(t, "bob")

	tests := []struct {
		name   string
		bearer string
		want   error
	}{
		{"empty", "", auth.ErrEmptyBearer},
		{"blank", "   ", auth.ErrEmptyBearer},
		{"garbage", "not-a-token", auth.ErrInvalidToken},
		{"a refresh token", tok.RefreshToken, auth.ErrInvalidToken},
		{"signed by another service", foreign.AccessToken, auth.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Authenticate(ctx, tt.bearer)
			wantErr(t, err, tt.want)
		})
	}

	t.Run("disabled user", func(t *testing.T) {
		tok := f.signup(t, "carol")
		c := f.caller(t, tok.AccessToken)
		if err := f.db.SetUserDisabled(ctx, c.User.ID, f.clock.Now(), f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Authenticate(ctx, tok.AccessToken)
		wantErr(t, err, auth.ErrInvalidToken)
	})
	t.Run("revoked session, before the token expires", func(t *testing.T) {
		tok := f.signup(t, "dave")
		if err := f.svc.Logout(ctx, tok.RefreshToken); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Authenticate(ctx, tok.AccessToken)
		wantErr(t, err, auth.ErrInvalidToken)
	})
	t.Run("expired", func(t *testing.T) {
		tok := f.signup(t, "erin")
		f.clock.Add(20 * time.Minute)
		_, err := f.svc.Authenticate(ctx, tok.AccessToken)
		wantErr(t, err, auth.ErrTokenExpired)
	})
}

func TestLogout(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	first := f.signup(t, "alice")
	second, err := f.refresh(first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	other := f.signin(t, "alice", "other device")

	wantErr(t, f.svc.Logout(ctx, ""), auth.ErrEmptyRefresh)
	wantErr(t, f.svc.Logout(ctx, first.RefreshToken[:len(first.RefreshToken)-2]+"AA"), auth.ErrInvalidToken)
	wantErr(t, f.svc.Logout(ctx, first.AccessToken), auth.ErrInvalidToken)

	// A superseded token of the session still proves it: logout ends it.
	if err := f.svc.Logout(ctx, first.RefreshToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	_, err = f.refresh(second.RefreshToken)
	wantErr(t, err, auth.ErrInvalidToken)
	// Again: still 200.
	if err := f.svc.Logout(ctx, second.RefreshToken); err != nil {
		t.Fatalf("second Logout: %v", err)
	}
	// The user's other session is untouched.
	if _, err := f.refresh(other.RefreshToken); err != nil {
		t.Fatalf("other session after logout: %v", err)
	}
}

func TestSessionsRevokeAndLogoutAll(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	laptop := f.signup(t, "alice")
	f.clock.Add(time.Minute)
	phone := f.signin(t, "alice", "phone")
	f.clock.Add(time.Minute)
	tablet := f.signin(t, "alice", "tablet")
	bob := f.signup(t, "bob")

	c := f.caller(t, phone.AccessToken)
	list, err := f.svc.Sessions(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var agents []string
	for _, s := range list {
		agents = append(agents, s.UserAgent)
	}
	if len(list) != 3 || agents[0] != "tablet" || agents[1] != "phone" || agents[2] != "test" {
		t.Fatalf("sessions = %v, want tablet, phone, test (newest first)", agents)
	}

	t.Run("another user's session is not found", func(t *testing.T) {
		bc := f.caller(t, bob.AccessToken)
		wantErr(t, f.svc.RevokeSession(ctx, c, bc.Session.ID), auth.ErrSessionNotFound)
		wantErr(t, f.svc.RevokeSession(ctx, c, "no-such-session"), auth.ErrSessionNotFound)
		if _, err := f.refresh(bob.RefreshToken); err != nil {
			t.Fatalf("bob's session after the attempt: %v", err)
		}
	})
	t.Run("revoking one of mine", func(t *testing.T) {
		tc := f.caller(t, tablet.AccessToken)
		if err := f.svc.RevokeSession(ctx, c, tc.Session.ID); err != nil {
			t.Fatal(err)
		}
		_, err := f.refresh(tablet.RefreshToken)
		wantErr(t, err, auth.ErrInvalidToken)
		_, err = f.svc.Authenticate(ctx, tablet.AccessToken)
		wantErr(t, err, auth.ErrInvalidToken)
		list, _ := f.svc.Sessions(ctx, c)
		if len(list) != 2 {
			t.Errorf("%d sessions listed after revoking one, want 2", len(list))
		}
	})
	t.Run("logout-all keeps only the caller's", func(t *testing.T) {
		n, err := f.svc.LogoutAll(ctx, c)
		if err != nil || n != 1 {
			t.Fatalf("LogoutAll = %d, %v; want 1 (the laptop)", n, err)
		}
		_, err = f.refresh(laptop.RefreshToken)
		wantErr(t, err, auth.ErrInvalidToken)
		if _, err := f.refresh(phone.RefreshToken); err != nil {
			t.Fatalf("caller's session after logout-all: %v", err)
		}
	})
	t.Run("expired sessions are not listed", func(t *testing.T) {
		f.clock.Add(720 * time.Hour)
		fresh := f.signin(t, "alice", "new")
		list, err := f.svc.Sessions(ctx, f.caller(t, fresh.AccessToken))
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].UserAgent != "new" {
			t.Errorf("sessions after a month = %+v, want only the new one", list)
		}
	})
}

// Input a database may refuse never reaches it: a login signup could not
// have accepted, a session id that is not a UUID, a user agent with NUL or
// invalid UTF-8.
func TestInputTheStoreMightRefuse(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	for _, login := range []string{"nul\x00login", strings.Repeat("a", 8000)} {
		_, err := f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String(login), Password: auth.String("whatever password")}, auth.Client{})
		if !errors.Is(err, auth.ErrBadCredentials) && !auth.IsKind(err, auth.KindInvalid) {
			t.Errorf("signin as %.20q: %v, want incorrect or a validation error", login, err)
		}
		if rec, err := f.db.LoginFailures(ctx, f.svc.ThrottleKey(login)); err != nil || rec.Count != 0 {
			t.Errorf("a login no account can have was recorded: %+v, %v", rec, err)
		}
	}
	tok, err := f.svc.Signup(ctx, signupReq("alice", "alice@example.com"), auth.Client{IP: "192.0.2.1", UserAgent: "bad\xff\xfe\x00agent\n"})
	if err != nil {
		t.Fatal(err)
	}
	c := f.caller(t, tok.AccessToken)
	if c.Session.UserAgent != "bad\uFFFDagent" {
		t.Errorf("stored user agent %q, want invalid UTF-8 replaced and control characters dropped", c.Session.UserAgent)
	}
	for _, id := range []string{"\x00", "\xff", "not-a-uuid"} {
		wantErr(t, f.svc.RevokeSession(ctx, c, id), auth.ErrSessionNotFound)
	}
}

// A refresh token of a session that no longer exists, current or
// superseded, is invalid: the store reports a missing session as stale, and
// the Service's own read of it finds nothing.
func TestRefreshOfDeletedSession(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	t1 := f.signup(t, "alice")
	t2, err := f.refresh(t1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	c := f.caller(t, t2.AccessToken)
	if err := f.db.DeleteUser(ctx, c.User.ID); err != nil {
		t.Fatal(err)
	}
	for name, rt := range map[string]string{"current": t2.RefreshToken, "superseded": t1.RefreshToken} {
		if _, err := f.refresh(rt); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("refresh with the %s token of a deleted session: %v, want ErrInvalidToken", name, err)
		}
	}
}
