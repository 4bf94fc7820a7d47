package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/passkey"
	"github.com/authstore/auth/passkey/passkeytest"
)

const frontEnd = "http://localhost:3000"

// passkeyHarness is a harness whose service has passkeys on for the
// relying party localhost and the front end at frontEnd.
func passkeyHarness(t *testing.T) *harness {
	t.Helper()
	wa, err := passkey.New(passkey.Config{RPID: "localhost", Origins: []string{frontEnd}})
	if err != nil {
		t.Fatal(err)
	}
	return newHarness(t, httpapi.Config{}, func(c *auth.Config) { c.WebAuthn = wa })
}

type ceremonyJSON struct {
	Ceremony  string          `json:"ceremony"`
	PublicKey json.RawMessage `json:"publicKey"`
}

func (hs *harness) begin(t *testing.T, path string, header map[string]string) ceremonyJSON {
	t.Helper()
	ex := hs.do(t, http.MethodPost, path, payload{}, header)
	if ex.status != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, ex.status, ex.body)
	}
	if cc := ex.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("POST %s: Cache-Control %q, want no-store", path, cc)
	}
	var c ceremonyJSON
	if err := json.Unmarshal(ex.body, &c); err != nil || c.Ceremony == "" || len(c.PublicKey) == 0 {
		t.Fatalf("POST %s: %s", path, ex.body)
	}
	return c
}

func finishBody(ceremony string, cred json.RawMessage, extra string) payload {
	return jsonBody(`{"ceremony":"` + ceremony + `","credential":` + string(cred) + extra + `}`)
}

func TestPasskeyRoutes(t *testing.T) {
	t.Parallel()
	hs := passkeyHarness(t)
	access, _ := hs.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
	bobAccess, _ := hs.do(t, "POST", "/auth/signup", signupBody("bob"), nil).tokens(t)

	// Register.
	reg := hs.begin(t, "/auth/passkeys/register/begin", bearer(access))
	if !strings.Contains(string(reg.PublicKey), `"residentKey":"required"`) {
		t.Errorf("creation options %s: want residentKey required", reg.PublicKey)
	}
	a := passkeytest.New(frontEnd)
	cred, err := a.Create(reg.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ex := hs.do(t, "POST", "/auth/passkeys/register/finish", finishBody(reg.Ceremony, cred, `,"name":"Laptop"`), bearer(access))
	if ex.status != http.StatusOK {
		t.Fatalf("register finish: %d %s", ex.status, ex.body)
	}
	var created struct{ ID, Name, CreatedAt string }
	if err := json.Unmarshal(ex.body, &created); err != nil || created.Name != "Laptop" || created.ID == "" {
		t.Fatalf("register finish answered %s", ex.body)
	}
	// The ceremony is spent.
	wantError(t, hs.do(t, "POST", "/auth/passkeys/register/finish", finishBody(reg.Ceremony, cred, ""), bearer(access)),
		http.StatusBadRequest, "Invalid or expired ceremony")

	// Sign in with it alone.
	login := hs.begin(t, "/auth/passkeys/login/begin", nil)
	if strings.Contains(string(login.PublicKey), "allowCredentials") {
		t.Errorf("request options %s: want no allowCredentials", login.PublicKey)
	}
	assertion, err := a.Get(login.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	newAccess, _ := hs.do(t, "POST", "/auth/passkeys/login/finish", finishBody(login.Ceremony, assertion, ""), nil).tokens(t)
	if got := hs.do(t, "GET", "/auth/me", payload{}, bearer(newAccess)); got.status != http.StatusOK || !strings.Contains(string(got.body), `"login":"alice"`) {
		t.Errorf("me with the passkey session: %d %s", got.status, got.body)
	}

	// List: alice has it, used; bob has none.
	ex = hs.do(t, "GET", "/auth/passkeys", payload{}, bearer(access))
	var list []struct {
		ID                       string
		Name                     string
		LastUsedAt               *string
		BackupEligible, BackedUp bool
	}
	if err := json.Unmarshal(ex.body, &list); err != nil || len(list) != 1 || list[0].ID != created.ID || list[0].LastUsedAt == nil {
		t.Fatalf("GET /auth/passkeys: %d %s", ex.status, ex.body)
	}
	if ex := hs.do(t, "GET", "/auth/passkeys", payload{}, bearer(bobAccess)); string(ex.body) != "[]" {
		t.Errorf("bob's passkeys: %s, want []", ex.body)
	}

	// Delete: not bob's to delete; alice's own.
	wantError(t, hs.do(t, "DELETE", "/auth/passkeys/"+created.ID, payload{}, bearer(bobAccess)), http.StatusNotFound, "Passkey not found")
	if ex := hs.do(t, "DELETE", "/auth/passkeys/"+created.ID, payload{}, bearer(access)); ex.status != http.StatusOK || string(ex.body) != "{}" {
		t.Fatalf("DELETE: %d %s", ex.status, ex.body)
	}
	login = hs.begin(t, "/auth/passkeys/login/begin", nil)
	assertion, _ = a.Get(login.PublicKey)
	wantError(t, hs.do(t, "POST", "/auth/passkeys/login/finish", finishBody(login.Ceremony, assertion, ""), nil),
		http.StatusUnauthorized, "Invalid credential")
}

func TestPasskeyRoutesRefusals(t *testing.T) {
	t.Parallel()
	hs := passkeyHarness(t)
	access, _ := hs.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
	a := passkeytest.New(frontEnd)
	reg := hs.begin(t, "/auth/passkeys/register/begin", bearer(access))
	cred, _ := a.Create(reg.PublicKey)
	hs.do(t, "POST", "/auth/passkeys/register/finish", finishBody(reg.Ceremony, cred, ""), bearer(access))

	// An assertion made on another origin, or for another RP id.
	for _, change := range []func(){func() { a.Origin = "http://localhost:4000" }, func() { a.Origin, a.RPID = frontEnd, "example.com" }} {
		change()
		login := hs.begin(t, "/auth/passkeys/login/begin", nil)
		assertion, _ := a.Get(login.PublicKey)
		wantError(t, hs.do(t, "POST", "/auth/passkeys/login/finish", finishBody(login.Ceremony, assertion, ""), nil),
			http.StatusUnauthorized, "Invalid credential")
	}
	// A registration from another origin.
	reg = hs.begin(t, "/auth/passkeys/register/begin", bearer(access))
	evil, _ := passkeytest.New("https://evil.example").Create(reg.PublicKey)
	wantError(t, hs.do(t, "POST", "/auth/passkeys/register/finish", finishBody(reg.Ceremony, evil, ""), bearer(access)),
		http.StatusBadRequest, "Invalid credential")

	// No ceremony, a form body, a credential that is not an object.
	wantError(t, hs.do(t, "POST", "/auth/passkeys/login/finish", jsonBody(`{}`), nil), http.StatusBadRequest, "Invalid or expired ceremony")
	wantError(t, hs.do(t, "POST", "/auth/passkeys/login/finish", formBody("ceremony", "x"), nil), http.StatusBadRequest, "Invalid or expired ceremony")
	login := hs.begin(t, "/auth/passkeys/login/begin", nil)
	wantError(t, hs.do(t, "POST", "/auth/passkeys/login/finish", jsonBody(`{"ceremony":"`+login.Ceremony+`","credential":"x"}`), nil),
		http.StatusUnauthorized, "Invalid credential")
	ex := hs.do(t, "POST", "/auth/passkeys/login/finish", jsonBody(`{"ceremony":`), nil)
	if ex.status != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d %s", ex.status, ex.body)
	}
	// A bad name is a validation error.
	reg = hs.begin(t, "/auth/passkeys/register/begin", bearer(access))
	cred, _ = passkeytest.New(frontEnd).Create(reg.PublicKey)
	ex = hs.do(t, "POST", "/auth/passkeys/register/finish", finishBody(reg.Ceremony, cred, `,"name":7`), bearer(access))
	if code, msgs, _, _ := ex.errorBody(t); code != http.StatusBadRequest || len(msgs) != 1 || msgs[0] != "name must be a string" {
		t.Errorf("bad name: %d %q", code, msgs)
	}
	// Bearer routes need a bearer.
	wantError(t, hs.do(t, "POST", "/auth/passkeys/register/begin", payload{}, nil), http.StatusUnauthorized, "Unauthorised user (empty bearer token)")
	wantError(t, hs.do(t, "GET", "/auth/passkeys", payload{}, nil), http.StatusUnauthorized, "Unauthorised user (empty bearer token)")
}

func TestPasskeyRoutesOff(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	access, _ := hs.do(t, "POST", "/auth/signup", signupBody("alice"), nil).tokens(t)
	wantError(t, hs.do(t, "POST", "/auth/passkeys/login/begin", payload{}, nil), http.StatusNotFound, "Passkeys are not enabled")
	wantError(t, hs.do(t, "POST", "/auth/passkeys/register/begin", payload{}, bearer(access)), http.StatusNotFound, "Passkeys are not enabled")
}
