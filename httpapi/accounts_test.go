package httpapi_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/token"
)

// mailHarness is a harness whose service mails (verification at signup)
// with an outbox it can read back, as the mail sender does.
type mailHarness struct {
	*harness
	sealer *token.Sealer
}

func newMailHarness(t *testing.T, cfg httpapi.Config, change ...func(*auth.Config)) *mailHarness {
	t.Helper()
	sealer, err := token.NewSealer(randomBytes(t, token.SealerKeySize))
	if err != nil {
		t.Fatal(err)
	}
	change = append([]func(*auth.Config){func(c *auth.Config) {
		c.MailSealer, c.SendVerification = sealer, true
		c.ResetURL = "https://shop.example/reset?token={token}"
	}}, change...)
	return &mailHarness{harness: newHarness(t, cfg, change...), sealer: sealer}
}

type sentMail struct {
	template, to string
	data         auth.MailData
}

// mails delivers the outbox and returns what it held.
func (mh *mailHarness) mails(t *testing.T) []sentMail {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	msgs, err := mh.db.ClaimOutbox(ctx, "test", now, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []sentMail
	for _, m := range msgs {
		d, err := auth.OpenMailData(mh.sealer, &m)
		if err != nil {
			t.Fatal(err)
		}
		if err := mh.db.MarkSent(ctx, m.ID, "test", now); err != nil {
			t.Fatal(err)
		}
		out = append(out, sentMail{m.Template, m.To, d})
	}
	return out
}

// linkToken delivers the outbox, which must hold one mail of template to
// to, and returns the token of its link.
func (mh *mailHarness) linkToken(t *testing.T, template, to string) string {
	t.Helper()
	ms := mh.mails(t)
	if len(ms) != 1 || ms[0].template != template || ms[0].to != to {
		t.Fatalf("outbox held %+v, want one %s to %s", ms, template, to)
	}
	u, err := url.Parse(ms[0].data.Link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

func wantEmptyObject(t *testing.T, ex exchange, status int) {
	t.Helper()
	if ex.status != status || strings.TrimSpace(string(ex.body)) != "{}" {
		t.Fatalf("answer %d %s, want %d {}", ex.status, ex.body, status)
	}
}

func (hs *harness) me(t *testing.T, access string) map[string]any {
	t.Helper()
	ex := hs.do(t, "GET", "/auth/me", payload{}, bearer(access))
	var p map[string]any
	if ex.status != 200 || json.Unmarshal(ex.body, &p) != nil {
		t.Fatalf("me: %d %s", ex.status, ex.body)
	}
	return p
}

func TestVerifyEmailHTTP(t *testing.T) {
	t.Parallel()
	mh := newMailHarness(t, httpapi.Config{})
	access, _ := mh.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
	tok := mh.linkToken(t, auth.TemplateVerifyEmail, "alice@example.com")
	if mh.me(t, access)["emailVerified"] != false {
		t.Fatal("verified before the link was followed")
	}
	wantEmptyObject(t, mh.do(t, "POST", "/auth/email/verify/resend", payload{}, bearer(access)), http.StatusAccepted)
	tok2 := mh.linkToken(t, auth.TemplateVerifyEmail, "alice@example.com")
	// The resent link superseded the first.
	wantError(t, mh.do(t, "POST", "/auth/email/verify", jsonBody(`{"token":"`+tok+`"}`), nil), 400, "Invalid or expired link")
	wantEmptyObject(t, mh.do(t, "POST", "/auth/email/verify", formBody("token", tok2), nil), http.StatusOK)
	if mh.me(t, access)["emailVerified"] != true {
		t.Error("not verified after following the link")
	}
	wantError(t, mh.do(t, "POST", "/auth/email/verify", jsonBody(`{"token":"`+tok2+`"}`), nil), 400, "Invalid or expired link")
	wantError(t, mh.do(t, "POST", "/auth/email/verify", jsonBody(`{}`), nil), 400, "Invalid or expired link")
	wantEmptyObject(t, mh.do(t, "POST", "/auth/email/verify/resend", payload{}, bearer(access)), http.StatusAccepted)
	if ms := mh.mails(t); len(ms) != 0 {
		t.Errorf("resend to a verified address mailed %+v", ms)
	}
	wantError(t, mh.do(t, "POST", "/auth/email/verify/resend", payload{}, nil), 401, "Unauthorised user (empty bearer token)")
}

// Forgot answers a known and an unknown address alike: status, body and
// headers; only the known one gets mail.
func TestForgotNoEnumeration(t *testing.T) {
	t.Parallel()
	mh := newMailHarness(t, httpapi.Config{})
	mh.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
	mh.mails(t)
	known := mh.do(t, "POST", "/auth/password/forgot", jsonBody(`{"email":"ALICE@example.com"}`), nil)
	mh.linkToken(t, auth.TemplateResetPassword, "alice@example.com")
	for _, body := range []payload{
		jsonBody(`{"email":"nobody@example.com"}`),
		jsonBody(`{"login":"nobody"}`),
		formBody("login", "nobody"),
	} {
		unknown := mh.do(t, "POST", "/auth/password/forgot", body, nil)
		if unknown.status != known.status || string(unknown.body) != string(known.body) {
			t.Errorf("unknown: %d %s; known: %d %s", unknown.status, unknown.body, known.status, known.body)
		}
		if k, u := headerNames(known.header), headerNames(unknown.header); !slices.Equal(k, u) {
			t.Errorf("headers differ: known %v, unknown %v", k, u)
		}
		for _, name := range headerNames(known.header) {
			if name != "X-Request-Id" && known.header.Get(name) != unknown.header.Get(name) {
				t.Errorf("header %s: known %q, unknown %q", name, known.header.Get(name), unknown.header.Get(name))
			}
		}
	}
	wantEmptyObject(t, known, http.StatusAccepted)
	if ms := mh.mails(t); len(ms) != 0 {
		t.Errorf("unknown accounts got mail: %+v", ms)
	}
	ex := mh.do(t, "POST", "/auth/password/forgot", jsonBody(`{}`), nil)
	if ex.status != 400 {
		t.Errorf("forgot {} = %d %s, want 400", ex.status, ex.body)
	}
	wantError(t, mh.do(t, "POST", "/auth/password/forgot", jsonBody(`{"email":"nope"}`), nil), 400, "email must be an email")
}

func headerNames(h http.Header) []string {
	return slices.Sorted(maps.Keys(h))
}

// The address's throttle: past it, 202 {} and no mail.
func TestForgotThrottleHTTP(t *testing.T) {
	t.Parallel()
	mh := newMailHarness(t, httpapi.Config{}, func(c *auth.Config) { c.MailThrottle.Max = 2 })
	mh.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
	mh.mails(t)
	for range 4 {
		wantEmptyObject(t, mh.do(t, "POST", "/auth/password/forgot", jsonBody(`{"login":"alice"}`), nil), http.StatusAccepted)
	}
	if ms := mh.mails(t); len(ms) != 2 {
		t.Errorf("%d mails for 4 requests, want 2", len(ms))
	}
}

// The per-IP limit of the mail routes.
func TestMailRateLimit(t *testing.T) {
	t.Parallel()
	mh := newMailHarness(t, httpapi.Config{MailRateLimit: 2})
	for range 2 {
		ex := mh.do(t, "POST", "/auth/password/forgot", jsonBody(`{"login":"nobody"}`), nil)
		if ex.status != http.StatusAccepted || !strings.Contains(ex.header.Get("RateLimit-Policy"), `"mail-ip";q=2`) {
			t.Fatalf("forgot: %d %v", ex.status, ex.header)
		}
	}
	ex := mh.do(t, "POST", "/auth/password/forgot", jsonBody(`{"login":"nobody"}`), nil)
	wantError(t, ex, http.StatusTooManyRequests, "Too many requests, please try again later.")
	// Other routes keep their own limits.
	mh.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
}

func TestResetPasswordHTTP(t *testing.T) {
	t.Parallel()
	mh := newMailHarness(t, httpapi.Config{})
	_, oldRefresh, _, phoneRefresh := mh.account(t, "alice")
	mh.mails(t)
	for range 3 {
		wantError(t, mh.do(t, "POST", "/auth/signin", jsonBody(`{"login":"alice","password":"wrong password"}`), nil), 400, "The login or password is incorrect")
	}
	wantEmptyObject(t, mh.do(t, "POST", "/auth/password/forgot", jsonBody(`{"email":"alice@example.com"}`), nil), http.StatusAccepted)
	ms := mh.mails(t)
	if len(ms) != 1 || !strings.HasPrefix(ms[0].data.Link, "https://shop.example/reset?token=") {
		t.Fatalf("mails %+v, want one link from the reset URL", ms)
	}
	tok, _ := url.Parse(ms[0].data.Link)
	body := jsonBody(`{"token":"` + tok.Query().Get("token") + `","newPassword":"a brand new passphrase"}`)

	short := jsonBody(`{"token":"` + tok.Query().Get("token") + `","newPassword":"short"}`)
	ex := mh.do(t, "POST", "/auth/password/reset", short, nil)
	if _, msgs, _, _ := ex.errorBody(t); ex.status != 400 || !slices.Equal(msgs, []string{"newPassword must be longer than or equal to 8 characters"}) {
		t.Fatalf("short new password: %d %q", ex.status, msgs)
	}
	access, refresh := mh.do(t, "POST", "/auth/password/reset", body, nil).tokens(t)
	mh.me(t, access)
	mh.do(t, "POST", "/auth/refresh", jsonBody(`{"refresh_token":"`+refresh+`"}`), nil).tokens(t)
	for _, rt := range []string{oldRefresh, phoneRefresh} {
		wantError(t, mh.do(t, "POST", "/auth/refresh", jsonBody(`{"refresh_token":"`+rt+`"}`), nil), 401, "Invalid token")
	}
	wantError(t, mh.do(t, "POST", "/auth/password/reset", body, nil), 400, "Invalid or expired link")
	wantError(t, mh.do(t, "POST", "/auth/signin", jsonBody(`{"login":"alice","password":"correct horse battery"}`), nil), 400, "The login or password is incorrect")
	mh.do(t, "POST", "/auth/signin", jsonBody(`{"login":"alice","password":"a brand new passphrase"}`), nil).tokens(t)
}

func TestChangePasswordHTTP(t *testing.T) {
	t.Parallel()
	mh := newMailHarness(t, httpapi.Config{})
	access, _, _, phoneRefresh := mh.account(t, "alice")
	wrong := jsonBody(`{"currentPassword":"wrong password","newPassword":"a brand new passphrase"}`)
	wantError(t, mh.do(t, "POST", "/auth/password", wrong, bearer(access)), 400, "The login or password is incorrect")
	ex := mh.do(t, "POST", "/auth/password", jsonBody(`{}`), bearer(access))
	if _, msgs, _, _ := ex.errorBody(t); ex.status != 400 || len(msgs) != 4 || !strings.HasPrefix(msgs[0], "currentPassword ") || !strings.HasPrefix(msgs[2], "newPassword ") {
		t.Errorf("change with {}: %d %q", ex.status, msgs)
	}
	ok := formBody("currentPassword", "correct horse battery", "newPassword", "a brand new passphrase")
	newAccess, newRefresh := mh.do(t, "POST", "/auth/password", ok, bearer(access)).tokens(t)
	mh.me(t, newAccess)
	mh.do(t, "POST", "/auth/refresh", jsonBody(`{"refresh_token":"`+newRefresh+`"}`), nil).tokens(t)
	wantError(t, mh.do(t, "POST", "/auth/refresh", jsonBody(`{"refresh_token":"`+phoneRefresh+`"}`), nil), 401, "Invalid token")
	wantError(t, mh.do(t, "POST", "/auth/password", ok, nil), 401, "Unauthorised user (empty bearer token)")
}

func TestChangeEmailHTTP(t *testing.T) {
	t.Parallel()
	mh := newMailHarness(t, httpapi.Config{})
	access, _ := mh.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
	mh.do(t, "POST", "/auth/signup", signupBody("bob"), nil).tokens(t)
	mh.mails(t)
	wantError(t, mh.do(t, "POST", "/auth/email", jsonBody(`{"newEmail":"BOB@example.com","password":"correct horse battery"}`), bearer(access)), 400, "Email already used")
	wantError(t, mh.do(t, "POST", "/auth/email", jsonBody(`{"newEmail":"new@example.com","password":"wrong password"}`), bearer(access)), 400, "The login or password is incorrect")
	ex := mh.do(t, "POST", "/auth/email", jsonBody(`{"newEmail":"nope","password":"correct horse battery"}`), bearer(access))
	if _, msgs, _, _ := ex.errorBody(t); ex.status != 400 || !slices.Equal(msgs, []string{"newEmail must be an email"}) {
		t.Errorf("bad newEmail: %d %q", ex.status, msgs)
	}
	wantEmptyObject(t, mh.do(t, "POST", "/auth/email", jsonBody(`{"newEmail":"new@example.com","password":"correct horse battery"}`), bearer(access)), http.StatusAccepted)
	tok := mh.linkToken(t, auth.TemplateConfirmNewEmail, "new@example.com")
	if mh.me(t, access)["email"] != "alice@example.com" {
		t.Fatal("the email changed before the link was followed")
	}
	wantEmptyObject(t, mh.do(t, "POST", "/auth/email/verify", jsonBody(`{"token":"`+tok+`"}`), nil), http.StatusOK)
	p := mh.me(t, access)
	if p["email"] != "new@example.com" || p["emailVerified"] != true {
		t.Errorf("me after the change = %v", p)
	}
	ms := mh.mails(t)
	if len(ms) != 1 || ms[0].template != auth.TemplateEmailChanged || ms[0].to != "alice@example.com" || ms[0].data.NewEmail != "new@example.com" {
		t.Errorf("after the change the outbox held %+v, want the notice to the old address", ms)
	}
}

// With --require-verified-email, 403 comes only after a correct password.
func TestRequireVerifiedEmailHTTP(t *testing.T) {
	t.Parallel()
	mh := newMailHarness(t, httpapi.Config{}, func(c *auth.Config) { c.RequireVerifiedEmail = true })
	mh.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
	tok := mh.linkToken(t, auth.TemplateVerifyEmail, "alice@example.com")
	wantError(t, mh.do(t, "POST", "/auth/signin", jsonBody(`{"login":"alice","password":"wrong password"}`), nil), 400, "The login or password is incorrect")
	wantError(t, mh.do(t, "POST", "/auth/signin", jsonBody(`{"login":"alice","password":"correct horse battery"}`), nil), 403, "Email not verified")
	wantEmptyObject(t, mh.do(t, "POST", "/auth/email/verify", jsonBody(`{"token":"`+tok+`"}`), nil), http.StatusOK)
	mh.do(t, "POST", "/auth/signin", jsonBody(`{"login":"alice","password":"correct horse battery"}`), nil).tokens(t)
}
