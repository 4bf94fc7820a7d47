package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// server is a running `authstore serve`.
type server struct {
	url    string
	stop   context.CancelFunc
	done   chan error
	stderr *syncBuffer
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startServer calls run("serve", args...) on a free port, without a
// shutdown delay unless args set one, and waits until /healthz answers.
func startServer(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	s := &server{stop: cancel, done: make(chan error, 1), stderr: stderr}
	getenv := func(k string) string { return env[k] }
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--shutdown-delay", "0"}, args...), getenv, stdout, stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for s.url == "" {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			s.url = m[1]
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("server exited: %v\n%s", err, stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", stderr)
		}
	}
	if res, err := http.Get(s.url + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// shutdown sends the equivalent of SIGTERM and checks run returns nil.
func (s *server) shutdown(t *testing.T) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run returned %v after shutdown", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("server did not stop")
	}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (s *server) post(t *testing.T, path string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(http.MethodPost, s.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return decodeResponse(res)
}

func (r response) str(k string) string { s, _ := r.body[k].(string); return s }

func (r response) want(t *testing.T, status int, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if message == "" {
		return
	}
	switch m := r.body["message"].(type) {
	case string:
		if m == message {
			return
		}
	case []any:
		for _, x := range m {
			if x == message {
				return
			}
		}
	}
	t.Fatalf("message %v, want %q", r.body["message"], message)
}

func refreshPath(rt string) string { return "/auth/refresh?rt=" + url.QueryEscape(rt) }

// verifyAccess checks an access token against the server's JWKS and returns
// its claims.
func (s *server) verifyAccess(t *testing.T, tok string) map[string]any {
	t.Helper()
	res, err := http.Get(s.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	err = json.NewDecoder(res.Body).Decode(&set)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS", parsed.Headers[0].KeyID)
	}
	if typ := parsed.Headers[0].ExtraHeaders["typ"]; typ != "at+jwt" {
		t.Errorf("typ %v, want at+jwt", typ)
	}
	var claims map[string]any
	if err := parsed.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("signature: %v", err)
	}
	return claims
}

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "auth.db")
	s := startServer(t, nil, "--db", db, "--issuer", "https://auth.test", "--audience", "store")

	user := map[string]string{"firstName": "Evgeny", "lastName": "Smirnov", "login": "evgeny", "email": "evgeny@example.com", "password": "correct horse battery"}
	up := s.post(t, "/auth/signup", user)
	up.want(t, 200, "")
	if cc := up.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q", cc)
	}
	c := s.verifyAccess(t, up.str("access_token"))
	if c["iss"] != "https://auth.test" || c["aud"] != "store" || c["sid"] == nil {
		t.Errorf("claims %v", c)
	}

	s.post(t, "/auth/signup", user).want(t, 400, "Login and email already used")
	s.post(t, "/auth/signup", map[string]any{}).want(t, 400, "login must be a string")
	s.post(t, "/auth/signin", map[string]string{"login": "EVGENY", "password": "wrong password"}).want(t, 400, "The login or password is incorrect")
	s.post(t, "/auth/signin", map[string]string{"login": "nobody", "password": "whatever"}).want(t, 400, "The login or password is incorrect")
	in := s.post(t, "/auth/signin", map[string]string{"login": "EVGENY", "password": "correct horse battery"})
	in.want(t, 200, "")

	// A chain of rotations, alternating the query and the body field.
	rt := in.str("refresh_token")
	var chain []string
	for i := range 5 {
		var r response
		if i%2 == 0 {
			r = s.post(t, refreshPath(rt), nil)
		} else {
			r = s.post(t, "/auth/refresh", map[string]string{"refresh_token": rt})
		}
		r.want(t, 200, "")
		if r.str("refresh_token") == rt {
			t.Fatal("refresh did not rotate")
		}
		chain = append(chain, rt)
		rt = r.str("refresh_token")
	}
	// The predecessor inside the grace window returns the current token.
	again := s.post(t, refreshPath(chain[len(chain)-1]), nil)
	again.want(t, 200, "")
	if again.str("refresh_token") != rt {
		t.Fatal("grace replay forked the session")
	}
	s.post(t, "/auth/refresh", nil).want(t, 400, "Refresh token must not be empty")
	s.post(t, refreshPath("nonsense"), nil).want(t, 401, "Invalid token")
	s.post(t, refreshPath(in.str("access_token")), nil).want(t, 401, "Invalid token")

	// Tokens issued before a restart still work after it.
	s.shutdown(t)
	s = startServer(t, nil, "--db", db, "--issuer", "https://auth.test", "--audience", "store")
	s.verifyAccess(t, up.str("access_token"))
	after := s.post(t, refreshPath(rt), nil)
	after.want(t, 200, "")

	// Reuse of an old token revokes that session only.
	s.post(t, refreshPath(chain[0]), nil).want(t, 401, "Invalid token")
	s.post(t, refreshPath(after.str("refresh_token")), nil).want(t, 401, "Invalid token")
	s.post(t, refreshPath(up.str("refresh_token")), nil).want(t, 200, "")

	for _, f := range []string{db, db + ".key"} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, want mode 0600", f, err)
		}
	}
	logs := s.stderr.String()
	for _, secret := range []string{"correct horse battery", rt, up.str("refresh_token"), up.str("access_token")} {
		if strings.Contains(logs, secret) {
			t.Fatal("a secret appears in the log")
		}
	}
}

func TestServeSecretKeyFromEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "auth.db")
	env := map[string]string{"AUTHSTORE_SECRET_KEY": newSecret(t)}
	s := startServer(t, env, "--db", db)
	s.post(t, "/auth/signup", map[string]string{"firstName": "A", "lastName": "B", "login": "abc", "email": "abc@example.com", "password": "a less common passphrase"}).want(t, 200, "")
	s.shutdown(t)
	if _, err := os.Stat(db + ".key"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no key file may be written when AUTHSTORE_SECRET_KEY is set: %v", err)
	}
	// Another secret key cannot open the stored signing key.
	env["AUTHSTORE_SECRET_KEY"] = newSecret(t)
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", db}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "secret key") {
		t.Fatalf("start with the wrong secret key: %v", err)
	}
}

func TestServeRefusesAKeyFileOthersCanRead(t *testing.T) {
	db := filepath.Join(t.TempDir(), "auth.db")
	if err := os.WriteFile(db+".key", []byte(strings.Repeat("ab", 32)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", db}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("got %v, want a refusal naming chmod 600", err)
	}
}

func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no command", nil, nil, "no command given"},
		{"unknown command", []string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--nope"}, nil, "unknown flag --nope"},
		{"bad duration", []string{"serve", "--access-ttl", "soon"}, nil, "access-ttl"},
		{"negative grace", []string{"serve", "--refresh-grace", "-1s"}, nil, "--refresh-grace"},
		{"bad alg", []string{"serve", "--signing-alg", "HS512"}, nil, "--signing-alg"},
		{"short max password", []string{"serve", "--password-max-length", "10"}, nil, "--password-max-length"},
		{"empty CORS list", []string{"serve", "--cors-origins", " , "}, nil, "--cors-origins"},
		{"bad log format", []string{"serve", "--log-format", "xml"}, nil, "--log-format"},
		{"bad environment value", []string{"serve"}, map[string]string{"AUTHSTORE_REFRESH_TTL": "forever"}, "AUTHSTORE_REFRESH_TTL"},
		{"bad secret key", []string{"serve", "--db", ":memory:"}, map[string]string{"AUTHSTORE_SECRET_KEY": "short"}, "AUTHSTORE_SECRET_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line containing %q", err, tt.want)
			}
			if tt.args != nil && tt.args[0] == "serve" && stderr.Len() > 0 {
				t.Fatalf("a serve mistake must be one line (main prints the error), but run also wrote:\n%s", stderr.String())
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, os.Getenv, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "authstore ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	var help bytes.Buffer
	err := run(context.Background(), []string{"serve", "--help"}, func(string) string { return "" }, io.Discard, &help)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve --help: %v", err)
	}
	for _, name := range []string{"--addr", "AUTHSTORE_DB", "--refresh-grace", "--signing-alg", "--cors-origins", "--log-level"} {
		if !strings.Contains(help.String(), name) {
			t.Errorf("serve --help does not mention %s", name)
		}
	}
}

// Fifty browser tabs refreshing one token at the same moment all get the
// same next token, and the session lives on.
func TestServeConcurrentRefresh(t *testing.T) {
	s := startServer(t, nil, "--db", filepath.Join(t.TempDir(), "auth.db"))
	up := s.post(t, "/auth/signup", map[string]string{"firstName": "A", "lastName": "B", "login": "tabs", "email": "tabs@example.com", "password": "a less common passphrase"})
	up.want(t, 200, "")
	const n = 50
	got := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, s.url+refreshPath(up.str("refresh_token")), nil)
			got[i] = do(t, req)
		})
	}
	wg.Wait()
	for i := range n {
		got[i].want(t, 200, "")
		if got[i].str("refresh_token") != got[0].str("refresh_token") {
			t.Fatal("concurrent refreshes forked the session")
		}
	}
	s.post(t, refreshPath(got[0].str("refresh_token")), nil).want(t, 200, "")
}
