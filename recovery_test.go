package auth_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/token"
)

// lockedRand is a seeded, deterministic randomness source safe for
// concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (l *lockedRand) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// mailFixture is a fixture whose Service sends mail: every signup mails a
// verification link, randomness is seeded, and mails are read back from
// the outbox as the sender would read them.
type mailFixture struct {
	*fixture
	sealer *token.Sealer
}

func newMailFixture(t testing.TB, change func(*auth.Config)) *mailFixture {
	t.Helper()
	sealer, err := token.NewSealer([]byte("outbox key outbox key outbox key"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *auth.Config) {
		c.MailSealer = sealer
		c.SendVerification = true
		c.Rand = &lockedRand{r: rand.NewChaCha8([32]byte{1, 2, 3})}
		if change != nil {
			change(c)
		}
	})
	return &mailFixture{fixture: f, sealer: sealer}
}

// mail is one delivered message, opened.
type mail struct {
	Template, To string
	Data         auth.MailData
}

// token is the token of the mail's link.
func (m mail) token(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(m.Data.Link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("mail %s has no link with a token: %q", m.Template, m.Data.Link)
	}
	return u.Query().Get("token")
}

// mails delivers the outbox (claims, opens and marks sent every due
// message) and returns what it held, oldest first.
func (f *mailFixture) mails(t *testing.T) []mail {
	t.Helper()
	ctx := context.Background()
	now := f.clock.Now()
	msgs, err := f.db.ClaimOutbox(ctx, "test", now, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []mail
	for _, m := range msgs {
		d, err := auth.OpenMailData(f.sealer, &m)
		if err != nil {
			t.Fatalf("open %s: %v", m.ID, err)
		}
		if err := f.db.MarkSent(ctx, m.ID, "test", now); err != nil {
			t.Fatal(err)
		}
		out = append(out, mail{Template: m.Template, To: m.To, Data: d})
	}
	return out
}

// oneMail delivers the outbox and returns its one message, which must be of
// template to to.
func (f *mailFixture) oneMail(t *testing.T, template, to string) mail {
	t.Helper()
	ms := f.mails(t)
	if len(ms) != 1 || ms[0].Template != template || ms[0].To != to {
		t.Fatalf("outbox held %+v, want one %s to %s", ms, template, to)
	}
	return ms[0]
}

func wantErrIn(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}

func forgot(f *mailFixture, email string) error {
	return f.svc.ForgotPassword(context.Background(), auth.ForgotRequest{Email: auth.String(email)}, auth.Client{IP: "192.0.2.9"})
}

func reset(f *mailFixture, tok, pw string) (auth.Tokens, error) {
	res, err := f.svc.ResetPassword(context.Background(), auth.ResetRequest{Token: auth.String(tok), NewPassword: auth.String(pw)}, auth.Client{IP: "192.0.2.9"})
	if err == nil && res.Challenge != nil {
		return auth.Tokens{}, errors.New("reset answered a second-factor challenge")
	}
	return res.Tokens, err
}

func TestSignupMailsVerification(t *testing.T) {
	f := newMailFixture(t, nil)
	tok := f.signup(t, "alice")
	m := f.oneMail(t, auth.TemplateVerifyEmail, "alice@example.com")
	if m.Data.Login != "alice" || m.Data.FirstName != "Evgeny" || len(m.token(t)) != 43 {
		t.Errorf("verification mail data = %+v", m.Data)
	}
	if c := f.caller(t, tok.AccessToken); c.User.EmailVerified() {
		t.Error("a new user is verified before following the link")
	}
	// Without SendVerification, signup mails nothing.
	plain := newMailFixture(t, func(c *auth.Config) { c.SendVerification = false })
	plain.signup(t, "bob")
	if ms := plain.mails(t); len(ms) != 0 {
		t.Errorf("signup without SendVerification mailed %+v", ms)
	}
}

func TestForgotAndReset(t *testing.T) {
	ctx := context.Background()
	f := newMailFixture(t, nil)
	first := f.signup(t, "alice")
	phone := f.signin(t, "alice", "phone")
	f.mails(t)
	for range 3 { // failures the reset must clear
		signin(f.fixture, "alice", "wrong password")
	}
	if err := forgot(f, " ALICE@example.com "); err != nil {
		t.Fatalf("ForgotPassword: %v", err)
	}
	m := f.oneMail(t, auth.TemplateResetPassword, "alice@example.com")
	if m.Data.Login != "alice" || m.Data.NewEmail != "" {
		t.Errorf("reset mail data = %+v", m.Data)
	}
	f.clock.Add(time.Minute)
	tok, err := reset(f, m.token(t), "a brand new passphrase")
	if err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	// The new session works; every other one is revoked.
	f.caller(t, tok.AccessToken)
	if _, err := f.refresh(tok.RefreshToken); err != nil {
		t.Errorf("refresh of the new session: %v", err)
	}
	for _, old := range []auth.Tokens{first, phone} {
		if _, err := f.refresh(old.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("refresh of an old session: %v, want ErrInvalidToken", err)
		}
	}
	// The old password is refused, the new one works, the throttle is clear.
	if rec, _ := f.db.LoginFailures(ctx, f.svc.ThrottleKey("alice")); rec.Count != 0 {
		t.Errorf("login failures after the reset = %+v, want none", rec)
	}
	wantErrIn(t, "signin with the old password", signin(f.fixture, "alice", "correct horse battery"), auth.ErrBadCredentials)
	if err := signin(f.fixture, "alice", "a brand new passphrase"); err != nil {
		t.Errorf("signin with the new password: %v", err)
	}
	// Single use.
	_, err = reset(f, m.token(t), "yet another passphrase")
	wantErrIn(t, "a second reset with the token", err, auth.ErrInvalidLink)
}

func TestResetLinkExpiry(t *testing.T) {
	f := newMailFixture(t, func(c *auth.Config) { c.ResetTTL = 30 * time.Minute })
	f.signup(t, "alice")
	f.mails(t)
	forgot(f, "alice@example.com")
	expired := f.oneMail(t, auth.TemplateResetPassword, "alice@example.com").token(t)
	f.clock.Add(30 * time.Minute) // at the expiry: refused
	_, err := reset(f, expired, "a brand new passphrase")
	wantErrIn(t, "reset at the expiry", err, auth.ErrInvalidLink)

	forgot(f, "alice@example.com")
	live := f.oneMail(t, auth.TemplateResetPassword, "alice@example.com").token(t)
	f.clock.Add(30*time.Minute - time.Millisecond) // a millisecond before it
	if _, err := reset(f, live, "a brand new passphrase"); err != nil {
		t.Fatalf("reset just before the expiry: %v", err)
	}
}

func TestSecondResetLinkSupersedesFirst(t *testing.T) {
	f := newMailFixture(t, nil)
	f.signup(t, "alice")
	f.mails(t)
	forgot(f, "alice@example.com")
	first := f.oneMail(t, auth.TemplateResetPassword, "alice@example.com").token(t)
	forgot(f, "alice@example.com")
	second := f.oneMail(t, auth.TemplateResetPassword, "alice@example.com").token(t)
	_, err := reset(f, first, "a brand new passphrase")
	wantErrIn(t, "reset with the first link", err, auth.ErrInvalidLink)
	if _, err := reset(f, second, "a brand new passphrase"); err != nil {
		t.Fatalf("reset with the second link: %v", err)
	}
}

func TestResetRefusals(t *testing.T) {
	f := newMailFixture(t, nil)
	f.signup(t, "alice")
	verify := f.oneMail(t, auth.TemplateVerifyEmail, "alice@example.com").token(t)
	for _, tt := range []struct {
		name, token string
	}{
		{"unknown", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"malformed", "not a token"},
		{"empty", ""},
		{"a verification token", verify},
	} {
		_, err := reset(f, tt.token, "a brand new passphrase")
		wantErrIn(t, tt.name, err, auth.ErrInvalidLink)
	}
	_, err := f.svc.ResetPassword(context.Background(), auth.ResetRequest{NewPassword: auth.String("a brand new passphrase")}, auth.Client{})
	wantErrIn(t, "no token", err, auth.ErrInvalidLink)
	_, err = reset(f, verify, "short")
	wantMessages(t, err, "newPassword must be longer than or equal to 8 characters")
}

// Forgot answers alike for a known, an unknown and a disabled account, and
// mails only the known one.
func TestForgotUnknownSendsNothing(t *testing.T) {
	ctx := context.Background()
	f := newMailFixture(t, nil)
	f.signup(t, "alice")
	f.signup(t, "carol")
	f.mails(t)
	if _, err := f.admin(t).DisableUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []auth.ForgotRequest{
		{Email: auth.String("nobody@example.com")},
		{Login: auth.String("nobody")},
		{Email: auth.String("carol@example.com")},
		{Login: auth.String("carol")},
	} {
		if err := f.svc.ForgotPassword(ctx, r, auth.Client{}); err != nil {
			t.Errorf("ForgotPassword(%+v) = %v, want nil", r, err)
		}
	}
	if ms := f.mails(t); len(ms) != 0 {
		t.Errorf("mailed %+v for unknown or disabled accounts", ms)
	}
	if err := f.svc.ForgotPassword(ctx, auth.ForgotRequest{Login: auth.String("ALICE")}, auth.Client{}); err != nil {
		t.Fatal(err)
	}
	f.oneMail(t, auth.TemplateResetPassword, "alice@example.com")

	err := f.svc.ForgotPassword(ctx, auth.ForgotRequest{Email: auth.String("not an address")}, auth.Client{})
	wantMessages(t, err, "email must be an email")
	err = f.svc.ForgotPassword(ctx, auth.ForgotRequest{}, auth.Client{})
	wantMessages(t, err, "login must be longer than or equal to 3 characters", "login must be a string")
}

func TestForgotThrottlePerAddress(t *testing.T) {
	ctx := context.Background()
	f := newMailFixture(t, func(c *auth.Config) { c.MailThrottle = auth.MailThrottle{Max: 3, Window: time.Hour} })
	f.signup(t, "alice")
	f.mails(t)
	// By email or by login, the address counts once per request.
	reqs := []auth.ForgotRequest{
		{Email: auth.String("alice@example.com")}, {Login: auth.String("alice")},
		{Email: auth.String("Alice@Example.com")}, {Login: auth.String("alice")},
	}
	for _, r := range reqs {
		if err := f.svc.ForgotPassword(ctx, r, auth.Client{}); err != nil {
			t.Fatal(err)
		}
	}
	if ms := f.mails(t); len(ms) != 3 {
		t.Fatalf("%d mails for 4 requests, want 3", len(ms))
	}
	f.clock.Add(time.Hour)
	forgot(f, "alice@example.com")
	f.oneMail(t, auth.TemplateResetPassword, "alice@example.com")
}

func TestVerifyEmail(t *testing.T) {
	ctx := context.Background()
	f := newMailFixture(t, func(c *auth.Config) { c.VerifyTTL = 24 * time.Hour })
	tok := f.signup(t, "alice")
	link := f.oneMail(t, auth.TemplateVerifyEmail, "alice@example.com").token(t)
	f.clock.Add(24*time.Hour - time.Millisecond)
	if err := f.svc.VerifyEmail(ctx, auth.String(link)); err != nil {
		t.Fatalf("VerifyEmail: %v", err)
	}
	u, err := f.db.UserByLoginKey(ctx, "alice")
	if err != nil || !u.EmailVerified() || !u.EmailVerifiedAt.Equal(f.clock.Now().Truncate(time.Millisecond)) {
		t.Errorf("user after verification = %+v, %v", u, err)
	}
	wantErrIn(t, "a used link", f.svc.VerifyEmail(ctx, auth.String(link)), auth.ErrInvalidLink)
	// Verified: resending mails nothing.
	tok = f.signin(t, "alice", "test")
	if err := f.svc.ResendVerification(ctx, f.caller(t, tok.AccessToken), auth.Client{}); err != nil {
		t.Fatal(err)
	}
	if ms := f.mails(t); len(ms) != 0 {
		t.Errorf("resend to a verified address mailed %+v", ms)
	}

	other := f.signup(t, "bob")
	f.mails(t)
	if err := f.svc.ResendVerification(ctx, f.caller(t, other.AccessToken), auth.Client{}); err != nil {
		t.Fatal(err)
	}
	late := f.oneMail(t, auth.TemplateVerifyEmail, "bob@example.com").token(t)
	f.clock.Add(24 * time.Hour)
	wantErrIn(t, "a link at its expiry", f.svc.VerifyEmail(ctx, auth.String(late)), auth.ErrInvalidLink)
}

func changeEmail(f *mailFixture, c *auth.Caller, email, pw string) error {
	return f.svc.ChangeEmail(context.Background(), c, auth.ChangeEmailRequest{NewEmail: auth.String(email), Password: auth.String(pw)}, auth.Client{})
}

func TestChangeEmail(t *testing.T) {
	ctx := context.Background()
	f := newMailFixture(t, nil)
	tok := f.signup(t, "alice")
	f.signup(t, "bob")
	oldVerify := f.mails(t)[0].token(t) // alice's, unused
	c := f.caller(t, tok.AccessToken)

	wantErrIn(t, "a wrong password", changeEmail(f, c, "new@example.com", "wrong password"), auth.ErrBadCredentials)
	wantErrIn(t, "a taken address", changeEmail(f, c, "BOB@example.com", "correct horse battery"), auth.ErrEmailUsed)
	wantMessages(t, changeEmail(f, c, "nope", "short"),
		"newEmail must be an email", "password must be longer than or equal to 8 characters")
	if ms := f.mails(t); len(ms) != 0 {
		t.Fatalf("refused changes mailed %+v", ms)
	}
	if err := changeEmail(f, c, "New@Example.com", "correct horse battery"); err != nil {
		t.Fatalf("ChangeEmail: %v", err)
	}
	confirm := f.oneMail(t, auth.TemplateConfirmNewEmail, "New@Example.com")
	if confirm.Data.NewEmail != "New@Example.com" || confirm.Data.Login != "alice" {
		t.Errorf("confirmation data = %+v", confirm.Data)
	}
	if u := f.caller(t, tok.AccessToken).User; u.Email != "alice@example.com" {
		t.Fatalf("the email changed before the link was followed: %+v", u)
	}
	if err := f.svc.VerifyEmail(ctx, auth.String(confirm.token(t))); err != nil {
		t.Fatalf("VerifyEmail(confirmation): %v", err)
	}
	u := f.caller(t, tok.AccessToken).User
	if u.Email != "New@Example.com" || u.EmailKey != "new@example.com" || !u.EmailVerified() {
		t.Errorf("user after the change = %+v", u)
	}
	notice := f.oneMail(t, auth.TemplateEmailChanged, "alice@example.com")
	if notice.Data.NewEmail != "New@Example.com" || notice.Data.Link != "" {
		t.Errorf("notice data = %+v", notice.Data)
	}
	// Signin and forgot follow the new address; the old verification link is dead.
	if err := forgot(f, "new@example.com"); err != nil {
		t.Fatal(err)
	}
	f.oneMail(t, auth.TemplateResetPassword, "New@Example.com")
	wantErrIn(t, "the old address's verification link", f.svc.VerifyEmail(ctx, auth.String(oldVerify)), auth.ErrInvalidLink)
}

// The new address is checked again when the link is followed.
func TestChangeEmailTakenMeanwhile(t *testing.T) {
	ctx := context.Background()
	f := newMailFixture(t, nil)
	tok := f.signup(t, "alice")
	f.mails(t)
	if err := changeEmail(f, f.caller(t, tok.AccessToken), "taken@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	link := f.oneMail(t, auth.TemplateConfirmNewEmail, "taken@example.com").token(t)
	if _, err := f.svc.Signup(ctx, signupReq("thief", "Taken@example.com"), auth.Client{}); err != nil {
		t.Fatal(err)
	}
	f.mails(t)
	wantErrIn(t, "following the link", f.svc.VerifyEmail(ctx, auth.String(link)), auth.ErrEmailUsed)
	if u := f.caller(t, tok.AccessToken).User; u.Email != "alice@example.com" {
		t.Errorf("email = %q after the refused change", u.Email)
	}
	if ms := f.mails(t); len(ms) != 0 {
		t.Errorf("the refused change mailed %+v", ms)
	}
}

func TestRequireVerifiedEmail(t *testing.T) {
	ctx := context.Background()
	f := newMailFixture(t, func(c *auth.Config) { c.RequireVerifiedEmail = true })
	f.signup(t, "alice")
	link := f.oneMail(t, auth.TemplateVerifyEmail, "alice@example.com").token(t)
	wantErrIn(t, "a wrong password", signin(f.fixture, "alice", "wrong password"), auth.ErrBadCredentials)
	err := signin(f.fixture, "alice", "correct horse battery")
	wantErrIn(t, "the right password, unverified", err, auth.ErrEmailNotVerified)
	if auth.ErrorKind(err) != auth.KindForbidden {
		t.Errorf("kind %v, want forbidden", auth.ErrorKind(err))
	}
	if err := f.svc.VerifyEmail(ctx, auth.String(link)); err != nil {
		t.Fatal(err)
	}
	if err := signin(f.fixture, "alice", "correct horse battery"); err != nil {
		t.Errorf("signin once verified: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	f := newMailFixture(t, nil)
	tok := f.signup(t, "alice")
	phone := f.signin(t, "alice", "phone")
	f.mails(t)
	forgot(f, "alice@example.com")
	resetLink := f.oneMail(t, auth.TemplateResetPassword, "alice@example.com").token(t)
	change := func(cur, next string) (auth.Tokens, error) {
		return f.svc.ChangePassword(ctx, f.caller(t, tok.AccessToken),
			auth.ChangePasswordRequest{CurrentPassword: auth.String(cur), NewPassword: auth.String(next)}, auth.Client{})
	}
	_, err := change("short", "also")
	wantMessages(t, err, "currentPassword must be longer than or equal to 8 characters",
		"newPassword must be longer than or equal to 8 characters")
	_, err = change("wrong password", "a brand new passphrase")
	wantErrIn(t, "a wrong current password", err, auth.ErrBadCredentials)
	if rec, _ := f.db.LoginFailures(ctx, f.svc.ThrottleKey("alice")); rec.Count != 1 {
		t.Errorf("login failures after a wrong current password = %+v, want 1", rec)
	}
	got, err := change("correct horse battery", "a brand new passphrase")
	if err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	// The caller's session goes on with the new tokens; the phone is out.
	f.caller(t, got.AccessToken)
	if _, err := f.refresh(got.RefreshToken); err != nil {
		t.Errorf("refresh with the new refresh token: %v", err)
	}
	if _, err := f.refresh(phone.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("refresh of the other session: %v, want ErrInvalidToken", err)
	}
	wantErrIn(t, "the old password", signin(f.fixture, "alice", "correct horse battery"), auth.ErrBadCredentials)
	if err := signin(f.fixture, "alice", "a brand new passphrase"); err != nil {
		t.Errorf("signin with the new password: %v", err)
	}
	_, err = reset(f, resetLink, "another passphrase")
	wantErrIn(t, "a reset link from before the change", err, auth.ErrInvalidLink)
}

func TestAdminAccountCommands(t *testing.T) {
	ctx := context.Background()
	f := newMailFixture(t, nil)
	tok := f.signup(t, "alice")
	f.mails(t)
	a, err := auth.NewAdmin(auth.AdminConfig{
		Store: f.db, Now: f.clock.Now, MailSealer: f.sealer, Hasher: passwordHasher(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyEmail(ctx, "ALICE"); err != nil {
		t.Fatalf("VerifyEmail: %v", err)
	}
	if u := f.caller(t, tok.AccessToken).User; !u.EmailVerified() {
		t.Error("not verified by the admin")
	}
	if _, err := a.SendReset(ctx, "alice"); err != nil {
		t.Fatalf("SendReset: %v", err)
	}
	link := f.oneMail(t, auth.TemplateResetPassword, "alice@example.com").token(t)
	if _, err := a.SetPassword(ctx, "alice", "short"); !auth.IsKind(err, auth.KindInvalid) {
		t.Errorf("SetPassword(short) error = %v, want the password rules", err)
	}
	if _, err := a.SetPassword(ctx, "alice", "an admin's passphrase"); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if _, err := f.refresh(tok.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("a session survived set-password: %v", err)
	}
	if err := signin(f.fixture, "alice", "an admin's passphrase"); err != nil {
		t.Errorf("signin with the admin's password: %v", err)
	}
	_, err = reset(f, link, "another passphrase")
	wantErrIn(t, "a reset link from before set-password", err, auth.ErrInvalidLink)
	if _, err := a.SetPassword(ctx, "nobody", "an admin's passphrase"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SetPassword(nobody) error = %v, want ErrNotFound", err)
	}
}

func passwordHasher() auth.PasswordHasher { return password.New(password.Options{Params: fastParams}) }

// Imported users keep the source's verified flag, verified by default.
func TestImportVerifiedFlag(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	a := f.admin(t)
	no, yes := false, true
	for i, tt := range []struct {
		in   auth.ImportUser
		want bool
	}{
		{auth.ImportUser{}, true},
		{auth.ImportUser{EmailVerified: &no}, false},
		{auth.ImportUser{EmailVerifiedSnake: &no}, false},
		{auth.ImportUser{EmailVerified: &yes, EmailVerifiedSnake: &no}, true},
	} {
		in := tt.in
		in.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		in.FirstName, in.LastName, in.Login, in.Email = "Ada", "L", fmt.Sprintf("user%d", i), fmt.Sprintf("user%d@example.com", i)
		in.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA"
		if out, reason, err := a.Import(ctx, in); err != nil || out != auth.Imported {
			t.Fatalf("Import %d: %v %s %v", i, out, reason, err)
		}
		u, err := f.db.UserByID(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.EmailVerified() != tt.want {
			t.Errorf("import %d: verified = %v, want %v", i, u.EmailVerified(), tt.want)
		}
	}
}
