package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// A full run at debug level writes no password, token, key or rt value to
// its log, in either log format: the log is collected from the server's
// stderr after shutdown and searched for every secret the run used.
func TestLogsKeepSecretsOut(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				t.Fatal(err)
			}
			keyText := hex.EncodeToString(key)
			env := map[string]string{"AUTHSTORE_SECRET_KEY": keyText}
			s := startServer(t, env, "--db", filepath.Join(t.TempDir(), "auth.db"),
				"--log-level", "debug", "--log-format", format)

			tag := rand.Text()[:10]
			pw := "Secret-Password-" + rand.Text()
			wrongPw := "Wrong-Password-" + rand.Text()
			canaryQuery := "rt-canary-query-" + rand.Text()
			canaryBody := "rt-canary-body-" + rand.Text()
			canaryPath := "rt-canary-path-" + rand.Text()
			login := "sec" + strings.ToLower(tag)

			up := s.post(t, "/auth/signup", map[string]string{
				"firstName": "A", "lastName": "B", "login": login, "email": login + "@example.com", "password": pw})
			up.want(t, 200, "")
			s.post(t, "/auth/signin", map[string]string{"login": login, "password": wrongPw}).want(t, 400, "The login or password is incorrect")
			in := s.post(t, "/auth/signin", map[string]string{"login": login, "password": pw})
			in.want(t, 200, "")

			// Rotate by query, then by body; then replay the first token,
			// which revokes the session as reuse.
			rt1 := in.str("refresh_token")
			byQuery := s.post(t, refreshPath(rt1), nil)
			byQuery.want(t, 200, "")
			rt2 := byQuery.str("refresh_token")
			byBody := s.post(t, "/auth/refresh", map[string]string{"refresh_token": rt2})
			byBody.want(t, 200, "")
			s.post(t, refreshPath(rt1), nil).want(t, 401, "Invalid token")
			s.post(t, refreshPath(byBody.str("refresh_token")), nil).want(t, 401, "Invalid token")

			// Tokens that are not refresh tokens, where one belongs.
			s.post(t, refreshPath(canaryQuery), nil).want(t, 401, "Invalid token")
			s.post(t, "/auth/refresh", map[string]string{"refresh_token": canaryBody}).want(t, 401, "Invalid token")
			s.post(t, refreshPath(up.str("access_token")), nil).want(t, 401, "Invalid token")
			s.post(t, "/auth/nothing?rt="+canaryPath, nil).want(t, 404, "")
			s.post(t, "/auth//refresh?rt="+canaryPath, nil).want(t, 404, "")

			res, err := http.Get(s.url + "/.well-known/jwks.json")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("jwks: %d", res.StatusCode)
			}

			s.shutdown(t)
			logs := s.stderr.String()
			// The log is the one the run wrote: the reuse was audited and
			// every refresh has its access-log line.
			if !strings.Contains(logs, "refresh_reuse") || strings.Count(logs, "/auth/refresh") < 7 {
				t.Fatalf("the log does not hold the run:\n%s", logs)
			}

			secrets := map[string]string{
				"password":                 pw,
				"wrong password":           wrongPw,
				"secret key (hex)":         keyText,
				"secret key (base64)":      base64.StdEncoding.EncodeToString(key),
				"secret key (base64url)":   base64.RawURLEncoding.EncodeToString(key),
				"rt canary (query)":        canaryQuery,
				"rt canary (body)":         canaryBody,
				"rt canary (unknown path)": canaryPath,
			}
			for i, r := range []response{up, in, byQuery, byBody} {
				name := []string{"signup", "signin", "refresh by query", "refresh by body"}[i]
				secrets[name+" refresh token"] = r.str("refresh_token")
				at := r.str("access_token")
				secrets[name+" access token"] = at
				if parts := strings.Split(at, "."); len(parts) == 3 {
					secrets[name+" access token signature"] = parts[2]
				} else {
					t.Fatalf("%s access token is not a JWS", name)
				}
			}
			for name, secret := range secrets {
				if secret == "" {
					t.Fatalf("%s is empty", name)
				}
				if strings.Contains(logs, secret) {
					t.Errorf("the log holds the %s", name)
				}
			}
		})
	}
}
