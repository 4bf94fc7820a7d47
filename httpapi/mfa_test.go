package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/token"
)

// testClock is a settable clock for the service.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newMFAHarness is a harness whose service seals TOTP secrets and runs on
// clk.
func newMFAHarness(t *testing.T, clk *testClock) *harness {
	t.Helper()
	return newHarness(t, httpapi.Config{}, func(c *auth.Config) {
		sealer, err := token.NewSealer(randomBytes(t, token.SealerKeySize))
		if err != nil {
			t.Fatal(err)
		}
		c.MFASealer = sealer
		c.Now = clk.Now
	})
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func decodeJSON(t *testing.T, ex exchange, status int, v any) {
	t.Helper()
	if ex.status != status {
		t.Fatalf("status %d, want %d: %s", ex.status, status, ex.body)
	}
	if err := json.Unmarshal(ex.body, v); err != nil {
		t.Fatalf("%s: %v", ex.body, err)
	}
}

func amrClaim(t *testing.T, jwt string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AMR []string `json:"amr"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(c.AMR)
}

func TestTOTPFlowHTTP(t *testing.T) {
	t.Parallel()
	clk := &testClock{now: time.Now()} // the key ring checks expiry by the wall clock
	hs := newMFAHarness(t, clk)
	access, _ := hs.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
	if got := amrClaim(t, access); got != "[pwd]" {
		t.Errorf("signup amr = %s, want [pwd]", got)
	}
	signin := jsonBody(`{"login":"alice","password":"correct horse battery"}`)
	// Without a second factor, signin answers TokensDetails and nothing else.
	ex := hs.do(t, "POST", "/auth/signin", signin, nil)
	var plain map[string]any
	decodeJSON(t, ex, 200, &plain)
	if len(plain) != 2 || plain["access_token"] == nil || plain["refresh_token"] == nil {
		t.Errorf("signin without a second factor = %s", ex.body)
	}

	wantError(t, hs.do(t, "POST", "/auth/mfa/totp", payload{}, nil), 401, "Unauthorised user (empty bearer token)")
	var enroll struct{ Secret, OtpauthURL string }
	decodeJSON(t, hs.do(t, "POST", "/auth/mfa/totp", payload{}, bearer(access)), 200, &enroll)
	if !strings.HasPrefix(enroll.OtpauthURL, "otpauth://totp/authstore:alice?") || enroll.Secret == "" {
		t.Errorf("enrollment = %+v", enroll)
	}
	wantError(t, hs.do(t, "POST", "/auth/mfa/totp/confirm", jsonBody(`{"code":"000000"}`), bearer(access)), 400, "The code is incorrect")
	var rc struct{ RecoveryCodes []string }
	decodeJSON(t, hs.do(t, "POST", "/auth/mfa/totp/confirm", jsonBody(`{"code":"`+code(t, enroll.Secret, clk.Now())+`"}`), bearer(access)), 200, &rc)
	if len(rc.RecoveryCodes) != 10 {
		t.Fatalf("recovery codes = %q", rc.RecoveryCodes)
	}
	wantError(t, hs.do(t, "POST", "/auth/mfa/totp", payload{}, bearer(access)), 400, "Two-factor authentication is already enabled; disable it first")
	clk.Add(time.Minute)

	// Signin now answers a challenge.
	var ch struct {
		MFAToken string   `json:"mfa_token"`
		Methods  []string `json:"methods"`
	}
	decodeJSON(t, hs.do(t, "POST", "/auth/signin", signin, nil), 200, &ch)
	if ch.MFAToken == "" || !slices.Equal(ch.Methods, []string{"totp", "recovery"}) {
		t.Fatalf("challenge = %+v", ch)
	}
	verify := func(c string) payload { return jsonBody(`{"mfa_token":"` + ch.MFAToken + `","code":"` + c + `"}`) }
	wantError(t, hs.do(t, "POST", "/auth/mfa/verify", verify("000000"), nil), 400, "The code is incorrect")
	ex = hs.do(t, "POST", "/auth/mfa/verify", jsonBody(`{}`), nil)
	if _, msgs, _, _ := ex.errorBody(t); ex.status != 400 || !slices.Contains(msgs, "mfa_token should not be empty") || !slices.Contains(msgs, "code should not be empty") {
		t.Errorf("verify {}: %d %q", ex.status, msgs)
	}
	mfaAccess, mfaRefresh := hs.do(t, "POST", "/auth/mfa/verify", verify(code(t, enroll.Secret, clk.Now())), nil).tokens(t)
	if got := amrClaim(t, mfaAccess); got != "[pwd otp]" {
		t.Errorf("amr after TOTP = %s, want [pwd otp]", got)
	}
	wantError(t, hs.do(t, "POST", "/auth/mfa/verify", verify(rc.RecoveryCodes[0]), nil), 401, "Invalid or expired MFA token")
	refreshed, _ := hs.do(t, "POST", "/auth/refresh", jsonBody(`{"refresh_token":"`+mfaRefresh+`"}`), nil).tokens(t)
	if got := amrClaim(t, refreshed); got != "[pwd otp]" {
		t.Errorf("amr after refresh = %s, want [pwd otp]", got)
	}

	// A recovery code completes a signin once.
	decodeJSON(t, hs.do(t, "POST", "/auth/signin", signin, nil), 200, &ch)
	hs.do(t, "POST", "/auth/mfa/verify", verify(rc.RecoveryCodes[0]), nil).tokens(t)
	decodeJSON(t, hs.do(t, "POST", "/auth/signin", signin, nil), 200, &ch)
	wantError(t, hs.do(t, "POST", "/auth/mfa/verify", verify(rc.RecoveryCodes[0]), nil), 400, "The code is incorrect")

	// Regenerate, then disable with a new recovery code.
	clk.Add(time.Minute)
	var fresh struct{ RecoveryCodes []string }
	decodeJSON(t, hs.do(t, "POST", "/auth/mfa/recovery-codes", jsonBody(`{"code":"`+code(t, enroll.Secret, clk.Now())+`"}`), bearer(refreshed)), 200, &fresh)
	if len(fresh.RecoveryCodes) != 10 || slices.Contains(fresh.RecoveryCodes, rc.RecoveryCodes[1]) {
		t.Fatalf("regenerated = %q", fresh.RecoveryCodes)
	}
	var empty map[string]any
	decodeJSON(t, hs.do(t, "DELETE", "/auth/mfa/totp", jsonBody(`{"code":"`+fresh.RecoveryCodes[3]+`"}`), bearer(refreshed)), 200, &empty)
	wantError(t, hs.do(t, "DELETE", "/auth/mfa/totp", jsonBody(`{"code":"123456"}`), bearer(refreshed)), 400, "Two-factor authentication is not enabled")
	hs.do(t, "POST", "/auth/signin", signin, nil).tokens(t)
	for _, event := range []string{"mfa_totp_enrolled", "mfa_totp_enabled", "signin_mfa_required", "mfa_verified", "mfa_failed", "mfa_recovery_codes_regenerated", "mfa_totp_disabled"} {
		if !strings.Contains(hs.logs.String(), `"event":"`+event+`"`) {
			t.Errorf("no %s audit event", event)
		}
	}
	for _, secret := range append([]string{enroll.Secret, ch.MFAToken}, rc.RecoveryCodes...) {
		if strings.Contains(hs.logs.String(), secret) {
			t.Errorf("the log holds a secret, code or token: %q", secret)
		}
	}
}

func TestMFAThrottleHTTP(t *testing.T) {
	t.Parallel()
	clk := &testClock{now: time.Now()} // the key ring checks expiry by the wall clock
	hs := newMFAHarness(t, clk)
	access, _ := hs.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
	var enroll struct{ Secret string }
	decodeJSON(t, hs.do(t, "POST", "/auth/mfa/totp", payload{}, bearer(access)), 200, &enroll)
	hs.do(t, "POST", "/auth/mfa/totp/confirm", jsonBody(`{"code":"`+code(t, enroll.Secret, clk.Now())+`"}`), bearer(access))
	clk.Add(time.Minute)
	var ch struct {
		MFAToken string `json:"mfa_token"`
	}
	decodeJSON(t, hs.do(t, "POST", "/auth/signin", jsonBody(`{"login":"alice","password":"correct horse battery"}`), nil), 200, &ch)
	verify := func(c string) payload { return jsonBody(`{"mfa_token":"` + ch.MFAToken + `","code":"` + c + `"}`) }
	for range auth.DefaultLoginThrottle.Free {
		wantError(t, hs.do(t, "POST", "/auth/mfa/verify", verify("000000"), nil), 400, "The code is incorrect")
	}
	ex := hs.do(t, "POST", "/auth/mfa/verify", verify(code(t, enroll.Secret, clk.Now())), nil)
	wantError(t, ex, 429, "Too many requests, please try again later.")
	if ex.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", ex.header.Get("Retry-After"))
	}
	if !strings.Contains(hs.logs.String(), `"event":"mfa_throttled"`) {
		t.Error("no mfa_throttled audit event")
	}
	clk.Add(time.Second)
	hs.do(t, "POST", "/auth/mfa/verify", verify(code(t, enroll.Secret, clk.Now())), nil).tokens(t)
}
