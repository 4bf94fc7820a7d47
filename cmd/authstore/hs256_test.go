package main

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authstore/auth/verify"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testJWTSecret is a 40-byte HS256 shared secret.
const testJWTSecret = "a secret the store's services all share!"

// get sends GET path with the access token tok as bearer.
func (s *server) get(t *testing.T, path, tok string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	return do(t, req)
}

// TestServeHS256 runs the compatibility mode end to end: signup, the token's
// header and MAC checked independently and through verify, /auth/me and
// /auth/sessions with it, the empty JWKS, and alg confusion refused in and
// out of the mode on one database.
func TestServeHS256(t *testing.T) {
	db := filepath.Join(t.TempDir(), "auth.db")
	env := map[string]string{"AUTHSTORE_JWT_SECRET": testJWTSecret}
	user := map[string]string{"firstName": "A", "lastName": "B", "login": "hmac", "email": "hmac@example.com", "password": "a less common passphrase"}

	// An EdDSA token from the same database, before the mode is on.
	s := startServer(t, env, "--db", db, "--issuer", "https://auth.test", "--audience", "store")
	eddsa := s.post(t, "/auth/signup", user)
	eddsa.want(t, 200, "")
	s.shutdown(t)

	s = startServer(t, env, "--db", db, "--issuer", "https://auth.test", "--audience", "store", "--signing-alg", "HS256")
	in := s.post(t, "/auth/signin", map[string]string{"login": "hmac", "password": user["password"]})
	in.want(t, 200, "")
	tok := in.str("access_token")

	head, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil || string(head) != `{"alg":"HS256","typ":"JWT"}` {
		t.Errorf("header %s (%v), want exactly {\"alg\":\"HS256\",\"typ\":\"JWT\"}", head, err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{}
	if err := parsed.Claims([]byte(testJWTSecret), &claims); err != nil {
		t.Fatalf("go-jose with the shared secret: %v", err)
	}
	for _, k := range []string{"sub", "iat", "exp", "iss", "aud", "jti", "sid"} {
		if claims[k] == nil {
			t.Errorf("claim %s missing: %v", k, claims)
		}
	}

	v, err := verify.New(context.Background(), verify.Config{Issuer: "https://auth.test", Audience: "store", HMACSecret: []byte(testJWTSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := v.Verify(context.Background(), tok); err != nil || c.Subject != claims["sub"] {
		t.Errorf("verify with the secret: %+v, %v", c, err)
	}
	if _, err := v.Verify(context.Background(), eddsa.str("access_token")); err == nil {
		t.Error("verify with only the secret accepts an EdDSA token")
	}

	me := s.get(t, "/auth/me", tok)
	me.want(t, 200, "")
	if me.str("login") != "hmac" {
		t.Errorf("/auth/me: %s", me.raw)
	}
	s.get(t, "/auth/sessions", tok).want(t, 200, "")
	// In the mode, a token of another alg is refused, though its key is
	// still in the database.
	s.get(t, "/auth/me", eddsa.str("access_token")).want(t, 401, "Invalid token")

	res, err := http.Get(s.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.TrimSpace(string(body)) != `{"keys":[]}` {
		t.Errorf("JWKS in HS256 mode = %s, want {\"keys\":[]}", body)
	}
	if strings.Contains(s.stderr.String(), testJWTSecret) {
		t.Error("the shared secret appears in the log")
	}
	s.shutdown(t)

	// Out of the mode, HS256 tokens are refused and the EdDSA one works.
	s = startServer(t, env, "--db", db, "--issuer", "https://auth.test", "--audience", "store")
	s.get(t, "/auth/me", tok).want(t, 401, "Invalid token")
	s.get(t, "/auth/me", eddsa.str("access_token")).want(t, 200, "")

	// Rotation does not apply to the shared secret.
	_, err = cli(t, nil, "keys", "rotate", "--db", db, "--signing-alg", "HS256")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "EdDSA, ES256 and RS256 only") {
		t.Errorf("keys rotate --signing-alg HS256: %v, want a usage error saying rotation is for asymmetric keys", err)
	}
}

// TestServeHS256SecretRefused checks that the mode refuses to start, with
// exit status 2 and without quoting the secret, unless exactly one secret of
// at least 32 bytes is given.
func TestServeHS256SecretRefused(t *testing.T) {
	dir := t.TempDir()
	short := strings.Repeat("s", 31)
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shortFile := file("short", short+"\n", 0o600)
	// 31 bytes and a line break: the line break is not part of the secret.
	newlineFile := file("newline", strings.Repeat("n", 31)+"\n", 0o600)
	goodFile := file("good", testJWTSecret+"\n", 0o600)
	openFile := file("open", testJWTSecret, 0o644)
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		want   string
		status int
	}{
		{"no secret", nil, nil, "AUTHSTORE_JWT_SECRET", 2},
		{"short secret", map[string]string{"AUTHSTORE_JWT_SECRET": short}, nil, "at least 32", 2},
		{"short secret file", nil, []string{"--jwt-secret-file", shortFile}, "at least 32", 2},
		{"31 bytes and a newline", nil, []string{"--jwt-secret-file", newlineFile}, "at least 32", 2},
		{"short file from the environment", map[string]string{"AUTHSTORE_JWT_SECRET_FILE": shortFile}, nil, "at least 32", 2},
		{"both", map[string]string{"AUTHSTORE_JWT_SECRET": testJWTSecret}, []string{"--jwt-secret-file", goodFile}, "not both", 2},
		{"missing file", nil, []string{"--jwt-secret-file", filepath.Join(dir, "none")}, "--jwt-secret-file", 1},
		{"file others can read", nil, []string{"--jwt-secret-file", openFile}, "chmod 600", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, tt.name+".db"), "--signing-alg", "HS256"}, tt.args...)
			err := run(context.Background(), args, func(k string) string { return tt.env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err) != tt.status {
				t.Fatalf("got %v (exit %d), want exit %d naming %q", err, exitCode(err), tt.status, tt.want)
			}
			for _, secret := range []string{short, testJWTSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Fatal("the error quotes the secret")
				}
			}
			if _, err := os.Stat(filepath.Join(dir, tt.name+".db")); err == nil {
				t.Error("a refused configuration created the database")
			}
		})
	}
}
