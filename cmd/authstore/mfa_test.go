package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// bearerPost posts body as JSON to path with an access token.
func (s *server) bearerPost(t *testing.T, path, access string, body any) response {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+access)
	return do(t, req)
}

func TestUsersMFAReset(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	s := startServer(t, nil, "--db", db)
	up := s.post(t, "/auth/signup", map[string]any{"firstName": "Ada", "lastName": "L", "login": "ada", "email": "ada@example.com", "password": "correct horse battery"})
	up.want(t, 200, "")
	access := up.str("access_token")
	enroll := s.bearerPost(t, "/auth/mfa/totp", access, map[string]any{})
	enroll.want(t, 200, "")
	if !strings.HasPrefix(enroll.str("otpauthUrl"), "otpauth://totp/authstore:ada?") {
		t.Errorf("otpauthUrl = %q, want the issuer label authstore", enroll.str("otpauthUrl"))
	}
	code, err := totp.GenerateCodeCustom(enroll.str("secret"), time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	s.bearerPost(t, "/auth/mfa/totp/confirm", access, map[string]any{"code": code}).want(t, 200, "")
	signin := map[string]any{"login": "ada", "password": "correct horse battery"}
	if r := s.post(t, "/auth/signin", signin); r.status != 200 || r.str("mfa_token") == "" || r.str("access_token") != "" {
		t.Fatalf("signin with TOTP: %d %s", r.status, r.raw)
	}

	out, errOut, err := runCLI(nil, "users", "mfa-reset", "ADA", "--db", db)
	if err != nil || !strings.Contains(out, "removed the TOTP and recovery codes of user") {
		t.Fatalf("users mfa-reset: %v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(errOut, `"event":"mfa_reset"`) && !strings.Contains(errOut, "event=mfa_reset") {
		t.Errorf("no mfa_reset audit event:\n%s", errOut)
	}
	if r := s.post(t, "/auth/signin", signin); r.status != 200 || r.str("access_token") == "" {
		t.Fatalf("signin after mfa-reset: %d %s", r.status, r.raw)
	}
	if out := mustCLI(t, nil, "users", "mfa-reset", "ada", "--db", db); !strings.Contains(out, "has no TOTP; nothing to reset") {
		t.Errorf("second mfa-reset: %s", out)
	}
	if _, err := cli(t, nil, "users", "mfa-reset", "nobody", "--db", db); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Errorf("mfa-reset of an unknown user: %v", err)
	}
	if _, err := cli(t, nil, "users", "mfa-reset", "--db", db); exitCode(err) != 2 {
		t.Errorf("mfa-reset without a user: %v, want a usage error", err)
	}
}
