package verify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth/verify"
	"github.com/go-jose/go-jose/v4"
)

func TestMiddleware(t *testing.T) {
	t.Parallel()
	ed := newKey(t, jose.EdDSA, "ed")
	srv := newJWKSServer(t, ed)
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	now := clk.Now()
	good := ed.token(t, now, nil)
	expired := ed.token(t, now, func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })
	wrongAud := ed.token(t, now, func(c map[string]any) { c["aud"] = "billing" })

	// A kid that is not cached while the JWKS is down: the verifier cannot
	// tell whether the token is good.
	downSrv := newJWKSServer(t, ed)
	downClk := newClock()
	down := newVerifier(t, downSrv, downClk, nil)
	downSrv.setStatus(http.StatusServiceUnavailable)
	downClk.Advance(time.Minute)
	unknownKid := newKey(t, jose.EdDSA, "new").token(t, downClk.Now(), nil)

	const invalidChallenge = `Bearer error="invalid_token", error_description="The access token is invalid"`
	tests := []struct {
		name          string
		v             *verify.Verifier
		authorization []string
		wantStatus    int
		wantMessage   string
		wantChallenge string
		wantRetry     string
	}{
		{"valid", v, []string{"Bearer " + good}, http.StatusOK, "", "", ""},
		{"scheme in lower case", v, []string{"bearer " + good}, http.StatusOK, "", "", ""},
		{"extra spaces", v, []string{"  Bearer   " + good + " "}, http.StatusOK, "", "", ""},
		{"no header", v, nil, http.StatusUnauthorized, verify.MessageEmptyBearer, "Bearer", ""},
		{"empty header", v, []string{""}, http.StatusUnauthorized, verify.MessageEmptyBearer, "Bearer", ""},
		{"Bearer alone", v, []string{"Bearer"}, http.StatusUnauthorized, verify.MessageEmptyBearer, "Bearer", ""},
		{"Bearer and blanks", v, []string{"Bearer    "}, http.StatusUnauthorized, verify.MessageEmptyBearer, "Bearer", ""},
		{"Basic scheme", v, []string{"Basic dXNlcjpwYXNz"}, http.StatusUnauthorized, verify.MessageEmptyBearer, "Bearer", ""},
		{"token without scheme", v, []string{good}, http.StatusUnauthorized, verify.MessageEmptyBearer, "Bearer", ""},
		{"garbage", v, []string{"Bearer not.a.token"}, http.StatusUnauthorized, verify.MessageInvalidToken, invalidChallenge, ""},
		{"two tokens", v, []string{"Bearer " + good + " " + good}, http.StatusUnauthorized, verify.MessageInvalidToken, invalidChallenge, ""},
		{"wrong audience", v, []string{"Bearer " + wrongAud}, http.StatusUnauthorized, verify.MessageInvalidToken, invalidChallenge, ""},
		{"expired", v, []string{"Bearer " + expired}, http.StatusUnauthorized, verify.MessageTokenExpired,
			`Bearer error="invalid_token", error_description="The access token expired"`, ""},
		{"keys unavailable", down, []string{"Bearer " + unknownKid}, http.StatusServiceUnavailable, verify.MessageUnavailable, "", "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *verify.Claims
			h := tt.v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, ok := verify.ClaimsFrom(r.Context())
				if !ok {
					t.Error("handler called without claims")
				}
				got = c
				w.Write([]byte("ok"))
			}))
			req := httptest.NewRequest("GET", "/orders/7?rt=query-secret", nil)
			for _, a := range tt.authorization {
				req.Header.Add("Authorization", a)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == http.StatusOK {
				if got == nil || got.Subject != testSubject || got.SessionID != testSession {
					t.Errorf("claims in context = %+v", got)
				}
				return
			}
			if got != nil {
				t.Error("handler called on a refused request")
			}
			if h := rec.Header().Get("WWW-Authenticate"); h != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", h, tt.wantChallenge)
			}
			if h := rec.Header().Get("Retry-After"); h != tt.wantRetry {
				t.Errorf("Retry-After = %q, want %q", h, tt.wantRetry)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			body := rec.Body.String()
			var shape map[string]any
			if err := json.Unmarshal([]byte(body), &shape); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			clock := clk.Now()
			if tt.v == down {
				clock = downClk.Now()
			}
			want := map[string]any{
				"statusCode": float64(tt.wantStatus),
				"message":    tt.wantMessage,
				"timestamp":  clock.Format("2006-01-02T15:04:05.000Z"),
				"path":       "/orders/7",
			}
			if len(shape) != len(want) {
				t.Errorf("body %s has fields other than %v", body, want)
			}
			for k, w := range want {
				if shape[k] != w {
					t.Errorf("body %s: %s = %v, want %v", body, k, shape[k], w)
				}
			}
			if strings.Contains(body, "query-secret") || (len(tt.authorization) > 0 && len(tt.authorization[0]) > 10 && strings.Contains(body, tt.authorization[0][7:])) {
				t.Errorf("body %s echoes the request's secrets", body)
			}
		})
	}
}

func TestClaimsFrom(t *testing.T) {
	t.Parallel()
	if c, ok := verify.ClaimsFrom(context.Background()); ok || c != nil {
		t.Errorf("ClaimsFrom(empty) = %v, %v", c, ok)
	}
	if c, ok := verify.ClaimsFrom(verify.WithClaims(context.Background(), nil)); ok || c != nil {
		t.Errorf("ClaimsFrom(nil claims) = %v, %v", c, ok)
	}
	want := &verify.Claims{Subject: testSubject}
	if c, ok := verify.ClaimsFrom(verify.WithClaims(context.Background(), want)); !ok || c != want {
		t.Errorf("ClaimsFrom = %v, %v; want %v", c, ok, want)
	}
}
