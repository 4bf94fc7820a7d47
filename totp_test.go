package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/authstore/auth"
	"github.com/authstore/auth/token"
)

// newTOTPFixture is newFixture with TOTP sealing and a small code
// throttle (3 free failures, then 1 s doubling), and the Config it built
// the Service from, for a second instance on the same store.
func newTOTPFixture(t *testing.T) (*fixture, auth.Config) {
	t.Helper()
	var cfg *auth.Config
	f := newFixture(t, func(c *auth.Config) {
		sealer, err := token.NewSealer([]byte("an mfa sealing key of 32 bytes.."))
		if err != nil {
			t.Fatal(err)
		}
		c.MFASealer = sealer
		c.TOTPIssuer = "Example Store"
		c.LoginThrottle = auth.LoginThrottle{Free: 3, Delay: time.Second, MaxDelay: time.Minute, Window: time.Hour}
		cfg = c
	})
	return f, *cfg
}

// totpCode is the code of secret (base32) at at.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mfaUser is a user with TOTP active: its secret, recovery codes and
// first tokens.
type mfaUser struct {
	login, secret string
	recovery      []string
	tokens        auth.Tokens
}

// enableTOTP signs login up and activates TOTP for it, then moves the
// clock a minute on, past the confirming code's window.
func (f *fixture) enableTOTP(t *testing.T, login string) mfaUser {
	t.Helper()
	ctx := context.Background()
	tok := f.signup(t, login)
	c := f.caller(t, tok.AccessToken)
	e, err := f.svc.EnrollTOTP(ctx, c, auth.Client{})
	if err != nil {
		t.Fatalf("EnrollTOTP: %v", err)
	}
	codes, err := f.svc.ConfirmTOTP(ctx, c, auth.String(totpCode(t, e.Secret, f.clock.Now())), auth.Client{})
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	f.clock.Add(time.Minute)
	return mfaUser{login: login, secret: e.Secret, recovery: codes, tokens: tok}
}

// challenge signs login in with the right password and returns the
// challenge it must answer.
func (f *fixture) challenge(t *testing.T, login string) *auth.Challenge {
	t.Helper()
	res, err := f.svc.Signin(context.Background(), auth.SigninRequest{Login: auth.String(login), Password: auth.String("correct horse battery")}, auth.Client{IP: "192.0.2.7"})
	if err != nil {
		t.Fatalf("Signin: %v", err)
	}
	if res.Challenge == nil || res.AccessToken != "" || res.RefreshToken != "" {
		t.Fatalf("Signin = %+v, want a challenge and no tokens", res)
	}
	return res.Challenge
}

func verifyMFA(svc *auth.Service, mfaToken, code string) (auth.Tokens, error) {
	return svc.VerifyMFA(context.Background(), auth.MFAVerifyRequest{MFAToken: auth.String(mfaToken), Code: auth.String(code)}, auth.Client{IP: "192.0.2.7"})
}

func amrOf(t *testing.T, access string) string {
	t.Helper()
	return fmt.Sprint(claims(t, access)["amr"])
}

func TestTOTPEnrollment(t *testing.T) {
	ctx := context.Background()
	f, _ := newTOTPFixture(t)
	tok := f.signup(t, "alice")
	c := f.caller(t, tok.AccessToken)
	first, err := f.svc.EnrollTOTP(ctx, c, auth.Client{})
	if err != nil {
		t.Fatalf("EnrollTOTP: %v", err)
	}
	u, err := url.Parse(first.URL)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Example Store:alice" ||
		u.Query().Get("secret") != first.Secret || u.Query().Get("issuer") != "Example Store" {
		t.Errorf("otpauth URL = %q, secret %q", first.URL, first.Secret)
	}
	if len(first.Secret) != 32 { // 20 bytes in base32
		t.Errorf("secret %q is not 160 bits", first.Secret)
	}
	// Re-enrolling before confirmation replaces the pending secret.
	second, err := f.svc.EnrollTOTP(ctx, c, auth.Client{})
	if err != nil || second.Secret == first.Secret {
		t.Fatalf("EnrollTOTP again = %+v, %v; want a new secret", second, err)
	}
	_, err = f.svc.ConfirmTOTP(ctx, c, auth.String(totpCode(t, first.Secret, f.clock.Now())), auth.Client{})
	wantErr(t, err, auth.ErrBadCode)
	codes, err := f.svc.ConfirmTOTP(ctx, c, auth.String(totpCode(t, second.Secret, f.clock.Now())), auth.Client{})
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(codes))
	}
	seen := map[string]bool{}
	for _, rc := range codes {
		if len(rc) != 11 || rc[5] != '-' || strings.Trim(strings.ReplaceAll(rc, "-", ""), "0123456789abcdefghjkmnpqrstvwxyz") != "" || seen[rc] {
			t.Errorf("recovery code %q is not xxxxx-xxxxx of Crockford base32, or repeats", rc)
		}
		seen[rc] = true
	}
	// Once active: enrolling again and confirming again are refused.
	_, err = f.svc.EnrollTOTP(ctx, c, auth.Client{})
	wantErr(t, err, auth.ErrTOTPActive)
	_, err = f.svc.ConfirmTOTP(ctx, c, auth.String("123456"), auth.Client{})
	wantErr(t, err, auth.ErrTOTPActive)

	// Without an enrollment there is nothing to confirm.
	other := f.caller(t, f.signup(t, "bob").AccessToken)
	_, err = f.svc.ConfirmTOTP(ctx, other, auth.String("123456"), auth.Client{})
	wantErr(t, err, auth.ErrTOTPNotPending)
	_, err = f.svc.ConfirmTOTP(ctx, other, auth.Null(), auth.Client{})
	if !auth.IsKind(err, auth.KindInvalid) || !slices.Contains(auth.ErrorMessages(err), "code should not be empty") {
		t.Errorf("ConfirmTOTP(null) error = %v, want code's messages", err)
	}
}

func TestTOTPWindow(t *testing.T) {
	f, _ := newTOTPFixture(t)
	for _, tt := range []struct {
		steps int
		ok    bool
	}{
		{-2, false}, {-1, true}, {0, true}, {1, true}, {2, false},
	} {
		t.Run(fmt.Sprintf("step %+d", tt.steps), func(t *testing.T) {
			u := f.enableTOTP(t, fmt.Sprintf("user%d", tt.steps+2))
			f.clock.Add(10 * time.Minute)
			ch := f.challenge(t, u.login)
			now := f.clock.Now()
			_, err := verifyMFA(f.svc, ch.MFAToken, totpCode(t, u.secret, now.Add(time.Duration(tt.steps)*30*time.Second)))
			if tt.ok && err != nil {
				t.Errorf("code of step %+d refused: %v", tt.steps, err)
			}
			if !tt.ok && !errors.Is(err, auth.ErrBadCode) {
				t.Errorf("code of step %+d: error %v, want ErrBadCode", tt.steps, err)
			}
		})
	}
}

func TestTOTPReplayRefused(t *testing.T) {
	f, cfg := newTOTPFixture(t)
	// A second instance on the same store: the last used step is shared.
	other, err := auth.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := f.enableTOTP(t, "alice")
	code := totpCode(t, u.secret, f.clock.Now())
	ch1, ch2, ch3 := f.challenge(t, "alice"), f.challenge(t, "alice"), f.challenge(t, "alice")
	tok, err := verifyMFA(f.svc, ch1.MFAToken, code)
	if err != nil {
		t.Fatalf("VerifyMFA: %v", err)
	}
	if got := amrOf(t, tok.AccessToken); got != "[pwd otp]" {
		t.Errorf("amr = %s, want [pwd otp]", got)
	}
	_, err = verifyMFA(f.svc, ch2.MFAToken, code)
	wantErr(t, err, auth.ErrBadCode)
	_, err = verifyMFA(other, ch3.MFAToken, code)
	wantErr(t, err, auth.ErrBadCode)
	// The previous step's code, still in the window, is older than the
	// used one: refused too. The next step's works, on either instance.
	_, err = verifyMFA(other, ch3.MFAToken, totpCode(t, u.secret, f.clock.Now().Add(-30*time.Second)))
	wantErr(t, err, auth.ErrBadCode)
	f.clock.Add(time.Second) // three failures: the code throttle's wait
	if _, err := verifyMFA(other, ch3.MFAToken, totpCode(t, u.secret, f.clock.Now().Add(30*time.Second))); err != nil {
		t.Errorf("next step's code refused: %v", err)
	}
}

func TestRecoveryCodes(t *testing.T) {
	ctx := context.Background()
	f, _ := newTOTPFixture(t)
	u := f.enableTOTP(t, "alice")
	// Accepted in another case and without the dash; once only.
	tok, err := verifyMFA(f.svc, f.challenge(t, "alice").MFAToken, strings.ToUpper(strings.ReplaceAll(u.recovery[0], "-", "")))
	if err != nil {
		t.Fatalf("VerifyMFA(recovery code): %v", err)
	}
	if got := amrOf(t, tok.AccessToken); got != "[pwd otp]" {
		t.Errorf("amr = %s, want [pwd otp]", got)
	}
	_, err = verifyMFA(f.svc, f.challenge(t, "alice").MFAToken, u.recovery[0])
	wantErr(t, err, auth.ErrBadCode)

	// Regenerating needs a TOTP code, not a recovery code, and replaces
	// every code.
	c := f.caller(t, tok.AccessToken)
	_, err = f.svc.RegenerateRecoveryCodes(ctx, c, auth.String(u.recovery[1]), auth.Client{})
	wantErr(t, err, auth.ErrBadCode)
	fresh, err := f.svc.RegenerateRecoveryCodes(ctx, c, auth.String(totpCode(t, u.secret, f.clock.Now())), auth.Client{})
	if err != nil || len(fresh) != 10 {
		t.Fatalf("RegenerateRecoveryCodes = %v, %v", fresh, err)
	}
	_, err = verifyMFA(f.svc, f.challenge(t, "alice").MFAToken, u.recovery[2])
	wantErr(t, err, auth.ErrBadCode)
	if _, err := verifyMFA(f.svc, f.challenge(t, "alice").MFAToken, fresh[9]); err != nil {
		t.Errorf("new recovery code refused: %v", err)
	}
	// Another user's codes are not this one's.
	bob := f.enableTOTP(t, "bob")
	_, err = verifyMFA(f.svc, f.challenge(t, "alice").MFAToken, bob.recovery[0])
	wantErr(t, err, auth.ErrBadCode)
}

func TestMFAThrottle(t *testing.T) {
	f, cfg := newTOTPFixture(t)
	other, err := auth.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := f.enableTOTP(t, "alice")
	ch := f.challenge(t, "alice")
	// Three free failures, spread over two instances: the count is in the store.
	for _, svc := range []*auth.Service{f.svc, other, f.svc} {
		_, err := verifyMFA(svc, ch.MFAToken, "000000")
		wantErr(t, err, auth.ErrBadCode)
	}
	right := totpCode(t, u.secret, f.clock.Now())
	_, err = verifyMFA(other, ch.MFAToken, right)
	var e *auth.Error
	if !errors.As(err, &e) || e.Kind != auth.KindTooManyRequests || e.RetryAfter != time.Second {
		t.Fatalf("fourth attempt error = %v, want KindTooManyRequests with RetryAfter 1s", err)
	}
	// The bearer endpoints count against the same throttle.
	_, err = f.svc.RegenerateRecoveryCodes(context.Background(), f.caller(t, u.tokens.AccessToken), auth.String(right), auth.Client{})
	if !auth.IsKind(err, auth.KindTooManyRequests) {
		t.Errorf("RegenerateRecoveryCodes while throttled: error %v, want KindTooManyRequests", err)
	}
	// A failed code did not consume the token: once the wait is over it
	// completes the signin, and success clears the count.
	f.clock.Add(time.Second)
	if _, err := verifyMFA(f.svc, ch.MFAToken, right); err != nil {
		t.Fatalf("VerifyMFA after the wait: %v", err)
	}
	for range 3 {
		_, err := verifyMFA(f.svc, f.challenge(t, "alice").MFAToken, "000000")
		wantErr(t, err, auth.ErrBadCode)
	}
	// The password throttle is not the code throttle: signin still works.
	f.challenge(t, "alice")
}

func TestMFATokenLifetime(t *testing.T) {
	f, _ := newTOTPFixture(t)
	u := f.enableTOTP(t, "alice")
	for _, tt := range []struct {
		after time.Duration
		ok    bool
	}{
		{5*time.Minute - time.Second, true},
		{5 * time.Minute, false},
	} {
		ch := f.challenge(t, "alice")
		if want := f.clock.Now().Add(auth.MFATokenTTL); !ch.ExpiresAt.Equal(want) || auth.MFATokenTTL != 5*time.Minute {
			t.Errorf("ExpiresAt = %v, want %v", ch.ExpiresAt, want)
		}
		f.clock.Add(tt.after)
		_, err := verifyMFA(f.svc, ch.MFAToken, totpCode(t, u.secret, f.clock.Now()))
		switch {
		case tt.ok && err != nil:
			t.Errorf("after %v: %v", tt.after, err)
		case !tt.ok && !errors.Is(err, auth.ErrInvalidMFAToken):
			t.Errorf("after %v: error %v, want ErrInvalidMFAToken", tt.after, err)
		}
		f.clock.Add(time.Minute) // the next code is of a later step
	}
	// Single use: a completed token completes nothing more.
	ch := f.challenge(t, "alice")
	if _, err := verifyMFA(f.svc, ch.MFAToken, totpCode(t, u.secret, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	_, err := verifyMFA(f.svc, ch.MFAToken, totpCode(t, u.secret, f.clock.Now()))
	wantErr(t, err, auth.ErrInvalidMFAToken)
	for _, bad := range []string{"", "short", ch.MFAToken + "x", strings.Repeat("A", 43)} {
		_, err := verifyMFA(f.svc, bad, "123456")
		if !errors.Is(err, auth.ErrInvalidMFAToken) && !auth.IsKind(err, auth.KindInvalid) {
			t.Errorf("VerifyMFA(%q) error = %v", bad, err)
		}
	}
}

func TestDisableTOTP(t *testing.T) {
	ctx := context.Background()
	f, _ := newTOTPFixture(t)
	for _, tt := range []struct {
		name string
		code func(u mfaUser) string
	}{
		{"totp code", func(u mfaUser) string { return totpCode(t, u.secret, f.clock.Now()) }},
		{"recovery code", func(u mfaUser) string { return u.recovery[4] }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := f.enableTOTP(t, strings.ReplaceAll(tt.name, " ", ""))
			c := f.caller(t, u.tokens.AccessToken)
			wantErr(t, f.svc.DisableTOTP(ctx, c, auth.String("000000"), auth.Client{}), auth.ErrBadCode)
			if err := f.svc.DisableTOTP(ctx, c, auth.String(tt.code(u)), auth.Client{}); err != nil {
				t.Fatalf("DisableTOTP: %v", err)
			}
			wantErr(t, f.svc.DisableTOTP(ctx, c, auth.String(tt.code(u)), auth.Client{}), auth.ErrTOTPNotEnabled)
			// The signin is back to tokens, with the password alone.
			tok := f.signin(t, u.login, "test")
			if got := amrOf(t, tok.AccessToken); got != "[pwd]" {
				t.Errorf("amr = %s, want [pwd]", got)
			}
			// And the user may enroll again.
			if _, err := f.svc.EnrollTOTP(ctx, c, auth.Client{}); err != nil {
				t.Errorf("EnrollTOTP after disabling: %v", err)
			}
		})
	}
}

func TestSigninWithoutSecondFactorUnchanged(t *testing.T) {
	f, _ := newTOTPFixture(t)
	f.signup(t, "alice")
	res, err := f.svc.Signin(context.Background(), auth.SigninRequest{Login: auth.String("alice"), Password: auth.String("correct horse battery")}, auth.Client{})
	if err != nil || res.Challenge != nil || res.AccessToken == "" || res.RefreshToken == "" {
		t.Fatalf("Signin = %+v, %v; want tokens and no challenge", res, err)
	}
	if got := amrOf(t, res.AccessToken); got != "[pwd]" {
		t.Errorf("amr = %s, want [pwd]", got)
	}
	// A pending enrollment is no second factor yet.
	if _, err := f.svc.EnrollTOTP(context.Background(), f.caller(t, res.AccessToken), auth.Client{}); err != nil {
		t.Fatal(err)
	}
	if tok := f.signin(t, "alice", "test"); tok.AccessToken == "" {
		t.Error("signin with a pending enrollment gave no tokens")
	}
	// A wrong password of an account with TOTP is a wrong password.
	f.enableTOTP(t, "bob")
	_, err = f.svc.Signin(context.Background(), auth.SigninRequest{Login: auth.String("bob"), Password: auth.String("wrong horse battery")}, auth.Client{})
	wantErr(t, err, auth.ErrBadCredentials)
}

func TestAMRKeptAcrossRefresh(t *testing.T) {
	f, _ := newTOTPFixture(t)
	u := f.enableTOTP(t, "alice")
	if got := amrOf(t, u.tokens.AccessToken); got != "[pwd]" {
		t.Errorf("signup amr = %s, want [pwd]", got)
	}
	tok, err := verifyMFA(f.svc, f.challenge(t, "alice").MFAToken, totpCode(t, u.secret, f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	next, err := f.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if got := amrOf(t, next.AccessToken); got != "[pwd otp]" {
		t.Errorf("refreshed amr = %s, want [pwd otp]", got)
	}
	// The grace replay of the predecessor keeps it too.
	replay, err := f.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("grace replay: %v", err)
	}
	if got := amrOf(t, replay.AccessToken); got != "[pwd otp]" {
		t.Errorf("grace replay amr = %s, want [pwd otp]", got)
	}
	// The caller's session records it.
	if c := f.caller(t, next.AccessToken); !slices.Equal(c.Session.AMR, []string{"pwd", "otp"}) || !slices.Equal(c.Claims.AMR, c.Session.AMR) {
		t.Errorf("caller AMR = %v (claims %v), want [pwd otp]", c.Session.AMR, c.Claims.AMR)
	}
}

func TestTOTPNeedsSealer(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.svc.EnrollTOTP(context.Background(), f.caller(t, f.signup(t, "alice").AccessToken), auth.Client{})
	if err == nil || auth.ErrorKind(err) != auth.KindInternal {
		t.Errorf("EnrollTOTP without MFASealer: error %v, want an internal error", err)
	}
}

// A reset link is one factor: for an account with TOTP it sets the new
// password and answers the signin's challenge, and only a code opens a
// session.
func TestResetWithSecondFactorAsksForIt(t *testing.T) {
	ctx := context.Background()
	f := newMailFixture(t, func(c *auth.Config) {
		sealer, err := token.NewSealer([]byte("an mfa sealing key of 32 bytes.."))
		if err != nil {
			t.Fatal(err)
		}
		c.MFASealer = sealer
	})
	u := f.enableTOTP(t, "twofa")
	f.mails(t) // whatever signup queued
	if err := forgot(f, "twofa@example.com"); err != nil {
		t.Fatal(err)
	}
	tok := f.oneMail(t, auth.TemplateResetPassword, "twofa@example.com").token(t)
	res, err := f.svc.ResetPassword(ctx, auth.ResetRequest{Token: auth.String(tok), NewPassword: auth.String("a brand new passphrase")}, auth.Client{})
	if err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	if res.Challenge == nil || res.AccessToken != "" || !slices.Contains(res.Challenge.Methods, "totp") {
		t.Fatalf("reset of a TOTP account = %+v, want a challenge and no tokens", res)
	}
	if _, err := f.svc.Refresh(ctx, u.tokens.RefreshToken, auth.Client{}); err == nil {
		t.Error("a session from before the reset still refreshes")
	}
	done, err := verifyMFA(f.svc, res.Challenge.MFAToken, totpCode(t, u.secret, f.clock.Now()))
	if err != nil {
		t.Fatalf("VerifyMFA: %v", err)
	}
	if got := amrOf(t, done.AccessToken); got != "[pwd otp]" {
		t.Errorf("amr %s, want [pwd otp]", got)
	}
}
