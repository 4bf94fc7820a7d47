package verify_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/authstore/auth/verify"
)

func TestHasSecondFactor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		amr  []string
		want bool
	}{
		{nil, false},
		{[]string{"pwd"}, false},
		{[]string{"pwd", "otp"}, true},
		{[]string{"webauthn"}, true},
		{[]string{"pwd", "webauthn"}, true},
		{[]string{"pwd", "hwk"}, true},
		{[]string{"mfa"}, true},
		{[]string{"pwd", "pin"}, false},
	} {
		if got := (&verify.Claims{AMR: tt.amr}).HasSecondFactor(); got != tt.want {
			t.Errorf("HasSecondFactor(%q) = %v, want %v", tt.amr, got, tt.want)
		}
	}
}

func TestRequireSecondFactor(t *testing.T) {
	t.Parallel()
	ed := newKey(t, jose.EdDSA, "ed")
	clk := newClock()
	v := newVerifier(t, newJWKSServer(t, ed), clk, nil)
	now := clk.Now()
	withAMR := func(amr ...string) string {
		return ed.token(t, now, func(c map[string]any) {
			if amr == nil {
				delete(c, "amr")
			} else {
				c["amr"] = amr
			}
		})
	}
	h := v.RequireSecondFactor(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := verify.ClaimsFrom(r.Context()); !ok || !c.HasSecondFactor() {
			t.Error("handler called without second-factor claims")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	const stepUp = `Bearer error="insufficient_user_authentication", error_description="A second factor is required"`
	for _, tt := range []struct {
		name          string
		authorization string
		wantStatus    int
		wantMessage   string
		wantChallenge string
	}{
		{"pwd and otp", "Bearer " + withAMR("pwd", "otp"), http.StatusNoContent, "", ""},
		{"passkey", "Bearer " + withAMR("webauthn"), http.StatusNoContent, "", ""},
		{"password only", "Bearer " + withAMR("pwd"), http.StatusUnauthorized, verify.MessageSecondFactor, stepUp},
		{"no amr", "Bearer " + withAMR(), http.StatusUnauthorized, verify.MessageSecondFactor, stepUp},
		{"no token", "", http.StatusUnauthorized, verify.MessageEmptyBearer, "Bearer"},
		{"bad token", "Bearer x.y.z", http.StatusUnauthorized, verify.MessageInvalidToken,
			`Bearer error="invalid_token", error_description="The access token is invalid"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/orders?x=1", nil)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantChallenge)
			}
			if tt.wantMessage == "" {
				return
			}
			var body struct {
				StatusCode int    `json:"statusCode"`
				Message    string `json:"message"`
				Path       string `json:"path"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.StatusCode != tt.wantStatus || body.Message != tt.wantMessage || body.Path != "/orders" {
				t.Errorf("body = %s, want authstore's error shape with %q", rec.Body, tt.wantMessage)
			}
		})
	}
}
