package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/passkey"
	"github.com/authstore/auth/passkey/passkeytest"
)

// The relying party of these tests: a front end at http://localhost:3000.
const (
	rpID     = "localhost"
	rpOrigin = "http://localhost:3000"
)

// events records the audit events of a Service.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(name string) { e.mu.Lock(); defer e.mu.Unlock(); e.list = append(e.list, name) }
func (e *events) has(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(e.list, name)
}

// newPasskeyFixture is newFixture with passkeys on, for rpID and rpOrigin.
func newPasskeyFixture(t *testing.T, change func(*auth.Config)) (*fixture, *events) {
	t.Helper()
	wa, err := passkey.New(passkey.Config{RPID: rpID, Origins: []string{rpOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	f := newFixture(t, func(c *auth.Config) {
		c.WebAuthn = wa
		c.OnEvent = ev.add
		if change != nil {
			change(c)
		}
	})
	return f, ev
}

// newCaller signs up login and returns its caller.
func (f *fixture) newCaller(t *testing.T, login string) *auth.Caller {
	t.Helper()
	return f.caller(t, f.signup(t, login).AccessToken)
}

// register registers a passkey of a for c and returns it.
func (f *fixture) register(t *testing.T, c *auth.Caller, a *passkeytest.Authenticator, name string) *auth.Passkey {
	t.Helper()
	p, err := f.tryRegister(t, c, a, name)
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	return p
}

func (f *fixture) tryRegister(t *testing.T, c *auth.Caller, a *passkeytest.Authenticator, name string) (*auth.Passkey, error) {
	t.Helper()
	start, err := f.svc.BeginPasskeyRegistration(t.Context(), c)
	if err != nil {
		t.Fatalf("BeginPasskeyRegistration: %v", err)
	}
	cred, err := a.Create(start.Options)
	if err != nil {
		t.Fatalf("authenticator: %v", err)
	}
	return f.svc.FinishPasskeyRegistration(t.Context(), c, auth.PasskeyFinish{
		Ceremony: auth.String(start.Ceremony), Credential: cred, Name: auth.String(name),
	})
}

// passkeySignin signs in with a's passkey alone.
func (f *fixture) passkeySignin(t *testing.T, a *passkeytest.Authenticator) (auth.Tokens, error) {
	t.Helper()
	start, err := f.svc.BeginPasskeyLogin(t.Context())
	if err != nil {
		t.Fatalf("BeginPasskeyLogin: %v", err)
	}
	cred, err := a.Get(start.Options)
	if err != nil {
		t.Fatalf("authenticator: %v", err)
	}
	return f.svc.FinishPasskeyLogin(t.Context(), auth.PasskeyFinish{Ceremony: auth.String(start.Ceremony), Credential: cred}, auth.Client{IP: "192.0.2.7"})
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	t.Parallel()
	f, ev := newPasskeyFixture(t, nil)
	ctx := t.Context()
	c := f.newCaller(t, "alice")

	start, err := f.svc.BeginPasskeyRegistration(ctx, c)
	if err != nil {
		t.Fatalf("BeginPasskeyRegistration: %v", err)
	}
	var opts struct {
		RP struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID, Name string
		} `json:"user"`
		Challenge              string `json:"challenge"`
		AuthenticatorSelection struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		ExcludeCredentials []any `json:"excludeCredentials"`
	}
	if err := json.Unmarshal(start.Options, &opts); err != nil {
		t.Fatalf("creation options %s: %v", start.Options, err)
	}
	handle, _ := base64.RawURLEncoding.DecodeString(opts.User.ID)
	if opts.RP.ID != rpID || len(handle) != 16 || opts.User.Name != "alice" || len(opts.Challenge) < 22 ||
		opts.AuthenticatorSelection.ResidentKey != "required" || opts.AuthenticatorSelection.UserVerification != "required" ||
		len(opts.ExcludeCredentials) != 0 {
		t.Errorf("creation options = %s", start.Options)
	}
	a := passkeytest.New(rpOrigin)
	a.BackupEligible, a.BackedUp = true, true
	cred, err := a.Create(start.Options)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.FinishPasskeyRegistration(ctx, c, auth.PasskeyFinish{Ceremony: auth.String(start.Ceremony), Credential: cred, Name: auth.String("  Phone  ")})
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	if p.Name != "Phone" || p.UserID != c.User.ID || !p.BackupEligible || !p.BackedUp || !p.CreatedAt.Equal(f.clock.Now()) || !p.LastUsedAt.IsZero() {
		t.Errorf("passkey = %+v", p)
	}
	if !ev.has("passkey_registered") {
		t.Errorf("no passkey_registered event")
	}

	// The next registration excludes it.
	start, err = f.svc.BeginPasskeyRegistration(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(start.Options, &opts); err != nil || len(opts.ExcludeCredentials) != 1 {
		t.Errorf("second creation options exclude %v, want the first passkey", opts.ExcludeCredentials)
	}

	f.clock.Add(time.Minute)
	tok, err := f.passkeySignin(t, a)
	if err != nil {
		t.Fatalf("FinishPasskeyLogin: %v", err)
	}
	got, err := f.svc.Authenticate(ctx, tok.AccessToken)
	if err != nil || got.User.ID != c.User.ID || got.Session.ID == c.Session.ID {
		t.Fatalf("Authenticate(passkey signin's token) = %+v, %v; want a new session of alice", got, err)
	}
	if _, err := f.refresh(tok.RefreshToken); err != nil {
		t.Errorf("refresh of the passkey session: %v", err)
	}
	list, err := f.svc.Passkeys(ctx, c)
	if err != nil || len(list) != 1 || !list[0].LastUsedAt.Equal(f.clock.Now()) || !list[0].UserVerified {
		t.Errorf("Passkeys = %+v, %v; want the passkey used now", list, err)
	}
	if !ev.has("passkey_signin") {
		t.Errorf("no passkey_signin event")
	}
}

func TestPasskeyLoginOptionsAreDiscoverable(t *testing.T) {
	t.Parallel()
	f, _ := newPasskeyFixture(t, nil)
	start, err := f.svc.BeginPasskeyLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var opts map[string]any
	if err := json.Unmarshal(start.Options, &opts); err != nil {
		t.Fatal(err)
	}
	if _, ok := opts["allowCredentials"]; ok || opts["rpId"] != rpID || opts["userVerification"] != "required" || opts["challenge"] == "" {
		t.Errorf("request options = %s, want no allowCredentials, rpId %s, userVerification required", start.Options, rpID)
	}
	if start.Ceremony == "" || strings.Contains(string(start.Options), start.Ceremony) {
		t.Errorf("ceremony %q: want a token apart from the options", start.Ceremony)
	}
}

func TestPasskeyCeremonySingleUseAndExpiry(t *testing.T) {
	t.Parallel()
	f, _ := newPasskeyFixture(t, nil)
	ctx := t.Context()
	c := f.newCaller(t, "alice")
	a := passkeytest.New(rpOrigin)
	f.register(t, c, a, "")

	// Used once: a replay of the same response is refused.
	start, err := f.svc.BeginPasskeyLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := a.Get(start.Options)
	if err != nil {
		t.Fatal(err)
	}
	fin := auth.PasskeyFinish{Ceremony: auth.String(start.Ceremony), Credential: cred}
	if _, err := f.svc.FinishPasskeyLogin(ctx, fin, auth.Client{}); err != nil {
		t.Fatalf("FinishPasskeyLogin: %v", err)
	}
	_, err = f.svc.FinishPasskeyLogin(ctx, fin, auth.Client{})
	wantErr(t, err, auth.ErrInvalidCeremony)

	// Expired after CeremonyTTL.
	start, err = f.svc.BeginPasskeyLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cred, _ = a.Get(start.Options)
	f.clock.Add(auth.CeremonyTTL)
	_, err = f.svc.FinishPasskeyLogin(ctx, auth.PasskeyFinish{Ceremony: auth.String(start.Ceremony), Credential: cred}, auth.Client{})
	wantErr(t, err, auth.ErrInvalidCeremony)

	// Unknown, missing and malformed tokens.
	for _, v := range []auth.Value{auth.String("nope"), {}, auth.Number(1), auth.String(strings.Repeat("a", 500))} {
		_, err = f.svc.FinishPasskeyLogin(ctx, auth.PasskeyFinish{Ceremony: v, Credential: cred}, auth.Client{})
		wantErr(t, err, auth.ErrInvalidCeremony)
	}

	// A registration ceremony finishes no signin, and another user's
	// registration is not the caller's.
	reg, err := f.svc.BeginPasskeyRegistration(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.FinishPasskeyLogin(ctx, auth.PasskeyFinish{Ceremony: auth.String(reg.Ceremony), Credential: cred}, auth.Client{})
	wantErr(t, err, auth.ErrInvalidCeremony)
	reg, _ = f.svc.BeginPasskeyRegistration(ctx, c)
	bob := f.newCaller(t, "bob")
	other, _ := passkeytest.New(rpOrigin).Create(reg.Options)
	_, err = f.svc.FinishPasskeyRegistration(ctx, bob, auth.PasskeyFinish{Ceremony: auth.String(reg.Ceremony), Credential: other})
	wantErr(t, err, auth.ErrInvalidCeremony)
	// A login ceremony registers nothing.
	login, _ := f.svc.BeginPasskeyLogin(ctx)
	_, err = f.svc.FinishPasskeyRegistration(ctx, c, auth.PasskeyFinish{Ceremony: auth.String(login.Ceremony), Credential: other})
	wantErr(t, err, auth.ErrInvalidCeremony)
}

func TestPasskeyWrongOriginOrRPRefused(t *testing.T) {
	t.Parallel()
	f, ev := newPasskeyFixture(t, nil)
	c := f.newCaller(t, "alice")

	for name, a := range map[string]*passkeytest.Authenticator{
		"origin":     {Origin: "http://localhost:4000"},
		"rp id":      {Origin: rpOrigin, RPID: "example.com"},
		"no UV flag": {Origin: rpOrigin, NoUserVerification: true},
	} {
		if _, err := f.tryRegister(t, c, a, ""); !errors.Is(err, auth.ErrPasskeyInvalid) {
			t.Errorf("registration with another %s: error = %v, want ErrPasskeyInvalid", name, err)
		}
	}

	a := passkeytest.New(rpOrigin)
	f.register(t, c, a, "")
	for name, change := range map[string]func(){
		"origin":      func() { a.Origin = "https://evil.example" },
		"rp id":       func() { a.RPID = "evil.example" },
		"user handle": func() { a.UserHandle = make([]byte, 16) },
	} {
		good := *a
		change()
		if _, err := f.passkeySignin(t, a); !errors.Is(err, auth.ErrPasskeyRefused) {
			t.Errorf("signin with another %s: error = %v, want ErrPasskeyRefused", name, err)
		}
		*a = good
	}
	if !ev.has("passkey_signin_failed") {
		t.Errorf("no passkey_signin_failed event")
	}
	if _, err := f.passkeySignin(t, a); err != nil {
		t.Errorf("signin with the right origin and rp id: %v", err)
	}
	// No credential at all.
	start, _ := f.svc.BeginPasskeyLogin(t.Context())
	_, err := f.svc.FinishPasskeyLogin(t.Context(), auth.PasskeyFinish{Ceremony: auth.String(start.Ceremony)}, auth.Client{})
	wantErr(t, err, auth.ErrPasskeyRefused)
}

func TestPasskeySignCounterRegressionRefused(t *testing.T) {
	t.Parallel()
	f, ev := newPasskeyFixture(t, nil)
	c := f.newCaller(t, "alice")
	a := passkeytest.New(rpOrigin)
	a.CountUp = true
	f.register(t, c, a, "key")
	for range 2 {
		if _, err := f.passkeySignin(t, a); err != nil {
			t.Fatalf("signin with a growing counter: %v", err)
		}
	}
	// A clone: its counter is behind the stored 2.
	clone := *a
	clone.Counter = 0
	if _, err := f.passkeySignin(t, &clone); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Errorf("signin with a counter that went back: error = %v, want ErrPasskeyRefused", err)
	}
	if !ev.has("passkey_counter_regressed") {
		t.Errorf("no passkey_counter_regressed event")
	}
	list, _ := f.svc.Passkeys(t.Context(), c)
	if len(list) != 1 || list[0].SignCount != 2 {
		t.Errorf("passkeys = %+v, want the counter kept at 2", list)
	}
	// The same counter again is a regression too.
	same := *a
	same.CountUp = false
	if _, err := f.passkeySignin(t, &same); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Errorf("signin with the same counter: error = %v, want ErrPasskeyRefused", err)
	}
	if _, err := f.passkeySignin(t, a); err != nil {
		t.Errorf("signin with the original: %v", err)
	}

	// Authenticators without a counter (0 every time) sign in again and again.
	synced := passkeytest.New(rpOrigin)
	f.register(t, c, synced, "synced")
	for range 3 {
		if _, err := f.passkeySignin(t, synced); err != nil {
			t.Fatalf("signin with a zero counter: %v", err)
		}
	}
}

func TestPasskeyListAndDelete(t *testing.T) {
	t.Parallel()
	f, ev := newPasskeyFixture(t, nil)
	ctx := t.Context()
	alice, bob := f.newCaller(t, "alice"), f.newCaller(t, "bob")
	a := passkeytest.New(rpOrigin)
	p := f.register(t, alice, a, "")
	f.clock.Add(time.Second)
	f.register(t, alice, passkeytest.New(rpOrigin), "second")
	list, err := f.svc.Passkeys(ctx, alice)
	if err != nil || len(list) != 2 || list[0].ID != p.ID || list[0].Name != auth.DefaultPasskeyName || list[1].Name != "second" {
		t.Fatalf("Passkeys = %+v, %v; want both, oldest first", list, err)
	}
	if l, _ := f.svc.Passkeys(ctx, bob); len(l) != 0 {
		t.Errorf("bob's passkeys = %+v, want none", l)
	}
	wantErr(t, f.svc.DeletePasskey(ctx, bob, p.ID), auth.ErrPasskeyNotFound)
	wantErr(t, f.svc.DeletePasskey(ctx, alice, "not-a-uuid"), auth.ErrPasskeyNotFound)
	if err := f.svc.DeletePasskey(ctx, alice, strings.ToUpper(p.ID)); err != nil {
		t.Fatalf("DeletePasskey: %v", err)
	}
	if !ev.has("passkey_deleted") {
		t.Errorf("no passkey_deleted event")
	}
	wantErr(t, f.svc.DeletePasskey(ctx, alice, p.ID), auth.ErrPasskeyNotFound)
	if _, err := f.passkeySignin(t, a); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Errorf("signin with a deleted passkey: error = %v, want ErrPasskeyRefused", err)
	}
}

func TestPasskeyNames(t *testing.T) {
	t.Parallel()
	f, _ := newPasskeyFixture(t, nil)
	c := f.newCaller(t, "alice")
	for _, name := range []auth.Value{auth.Number(3), auth.String(strings.Repeat("é", auth.PasskeyNameMax+1)), auth.String("a\x00b")} {
		start, _ := f.svc.BeginPasskeyRegistration(t.Context(), c)
		cred, _ := passkeytest.New(rpOrigin).Create(start.Options)
		_, err := f.svc.FinishPasskeyRegistration(t.Context(), c, auth.PasskeyFinish{Ceremony: auth.String(start.Ceremony), Credential: cred, Name: name})
		if !auth.IsKind(err, auth.KindInvalid) || errors.Is(err, auth.ErrInvalidCeremony) {
			t.Errorf("name %+v: error = %v, want a validation error", name, err)
		}
		// The ceremony was not spent on the bad name.
		if _, err := f.svc.FinishPasskeyRegistration(t.Context(), c, auth.PasskeyFinish{Ceremony: auth.String(start.Ceremony), Credential: cred}); err != nil {
			t.Errorf("the same ceremony with no name: %v", err)
		}
	}
}

func TestPasskeyDisabledUserRefused(t *testing.T) {
	t.Parallel()
	f, _ := newPasskeyFixture(t, nil)
	c := f.newCaller(t, "alice")
	a := passkeytest.New(rpOrigin)
	f.register(t, c, a, "")
	if err := f.db.SetUserDisabled(t.Context(), c.User.ID, f.clock.Now(), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.passkeySignin(t, a); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Errorf("signin of a disabled user: error = %v, want ErrPasskeyRefused", err)
	}
}

func TestPasskeyRequireVerifiedEmail(t *testing.T) {
	t.Parallel()
	f, _ := newPasskeyFixture(t, func(c *auth.Config) { c.RequireVerifiedEmail = true })
	// Signup is refused for nothing; signin is. Register through a
	// session made before the rule applies to signin.
	c := f.newCaller(t, "alice")
	a := passkeytest.New(rpOrigin)
	f.register(t, c, a, "")
	if _, err := f.passkeySignin(t, a); !errors.Is(err, auth.ErrEmailNotVerified) {
		t.Errorf("signin of an unverified address: error = %v, want ErrEmailNotVerified", err)
	}
}

func TestPasskeysOffWithoutWebAuthn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.newCaller(t, "alice")
	_, err := f.svc.BeginPasskeyRegistration(t.Context(), c)
	wantErr(t, err, auth.ErrPasskeysDisabled)
	_, err = f.svc.BeginPasskeyLogin(t.Context())
	wantErr(t, err, auth.ErrPasskeysDisabled)
}

func TestPasskeyTooMany(t *testing.T) {
	t.Parallel()
	f, _ := newPasskeyFixture(t, nil)
	c := f.newCaller(t, "alice")
	for range auth.MaxPasskeys {
		f.register(t, c, passkeytest.New(rpOrigin), "")
	}
	_, err := f.svc.BeginPasskeyRegistration(t.Context(), c)
	wantErr(t, err, auth.ErrTooManyPasskeys)
}

func TestPurgeCeremonies(t *testing.T) {
	t.Parallel()
	f, _ := newPasskeyFixture(t, nil)
	for range 3 {
		if _, err := f.svc.BeginPasskeyLogin(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := f.svc.PurgeCeremonies(t.Context()); err != nil || n != 0 {
		t.Errorf("PurgeCeremonies of live ones = %d, %v; want 0", n, err)
	}
	f.clock.Add(auth.CeremonyTTL + time.Millisecond)
	if n, err := f.svc.PurgeCeremonies(context.Background()); err != nil || n != 3 {
		t.Errorf("PurgeCeremonies of expired ones = %d, %v; want 3", n, err)
	}
}

func TestPasskeyAsSecondFactor(t *testing.T) {
	t.Parallel()
	f, _ := newPasskeyFixture(t, nil)
	ctx := t.Context()
	c := f.newCaller(t, "alice")
	a := passkeytest.New(rpOrigin)
	a.CountUp = true
	f.register(t, c, a, "")
	password := auth.SigninRequest{Login: auth.String("alice"), Password: auth.String("correct horse battery")}

	// A registered passkey makes password signin ask for it.
	res, err := f.svc.Signin(ctx, password, auth.Client{})
	if err != nil || res.Challenge == nil || !slices.Equal(res.Challenge.Methods, []string{auth.MethodWebAuthn}) {
		t.Fatalf("Signin = %+v, %v; want a challenge with methods [webauthn]", res, err)
	}
	mfa := auth.String(res.Challenge.MFAToken)
	opts, err := f.svc.BeginMFAWebAuthn(ctx, mfa)
	if err != nil {
		t.Fatalf("BeginMFAWebAuthn: %v", err)
	}
	var o struct {
		Allow []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
		UserVerification string `json:"userVerification"`
	}
	if err := json.Unmarshal(opts, &o); err != nil || len(o.Allow) != 1 || o.UserVerification != "preferred" {
		t.Errorf("second-factor options = %s, want the passkey in allowCredentials, userVerification preferred", opts)
	}
	// A refused assertion spends the ceremony, not the mfa_token.
	wrong := *a
	wrong.Origin = "https://evil.example"
	bad, _ := wrong.Get(opts)
	_, err = f.svc.VerifyMFA(ctx, auth.MFAVerifyRequest{MFAToken: mfa, Credential: bad}, auth.Client{})
	wantErr(t, err, auth.ErrPasskeyRefused)
	cred, _ := a.Get(opts)
	_, err = f.svc.VerifyMFA(ctx, auth.MFAVerifyRequest{MFAToken: mfa, Credential: cred}, auth.Client{})
	wantErr(t, err, auth.ErrInvalidCeremony)

	opts, err = f.svc.BeginMFAWebAuthn(ctx, mfa)
	if err != nil {
		t.Fatal(err)
	}
	cred, _ = a.Get(opts)
	tok, err := f.svc.VerifyMFA(ctx, auth.MFAVerifyRequest{MFAToken: mfa, Credential: cred}, auth.Client{})
	if err != nil {
		t.Fatalf("VerifyMFA with a passkey: %v", err)
	}
	if amr := claims(t, tok.AccessToken)["amr"]; !slices.Equal(toStrings(amr), []string{"pwd", "webauthn"}) {
		t.Errorf("amr = %v, want [pwd webauthn]", amr)
	}
	// The mfa_token is spent.
	_, err = f.svc.BeginMFAWebAuthn(ctx, mfa)
	wantErr(t, err, auth.ErrInvalidMFAToken)

	// A passkey alone: amr [webauthn], no second factor asked.
	tok, err = f.passkeySignin(t, a)
	if err != nil {
		t.Fatal(err)
	}
	if amr := claims(t, tok.AccessToken)["amr"]; !slices.Equal(toStrings(amr), []string{"webauthn"}) {
		t.Errorf("passkey signin amr = %v, want [webauthn]", amr)
	}

	// Another user's passkey does not answer alice's challenge.
	bob := f.newCaller(t, "bob")
	b := passkeytest.New(rpOrigin)
	f.register(t, bob, b, "")
	res, _ = f.svc.Signin(ctx, password, auth.Client{})
	opts, _ = f.svc.BeginMFAWebAuthn(ctx, auth.String(res.Challenge.MFAToken))
	stolen, err := passkeyOf(b).Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.VerifyMFA(ctx, auth.MFAVerifyRequest{MFAToken: auth.String(res.Challenge.MFAToken), Credential: stolen}, auth.Client{})
	wantErr(t, err, auth.ErrPasskeyRefused)
}

// passkeyOf is a with a browser that ignores allowCredentials: an
// attacker's client.
func passkeyOf(a *passkeytest.Authenticator) interface {
	Get([]byte) (json.RawMessage, error)
} {
	return ignoreAllow{a}
}

type ignoreAllow struct{ a *passkeytest.Authenticator }

func (i ignoreAllow) Get(opts []byte) (json.RawMessage, error) {
	var m map[string]any
	json.Unmarshal(opts, &m)
	delete(m, "allowCredentials")
	b, _ := json.Marshal(m)
	return i.a.Get(b)
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
