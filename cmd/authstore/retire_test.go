package main

import (
	"flag"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestKeysRetireCommand retires a signing key through the command on a
// SQLite file: refused while it is the only key, then out of the JWKS with
// its tokens still accepted, then (--now, while a server runs) refused by
// that server at its next reload; keys list shows it removed throughout.
func TestKeysRetireCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	user := map[string]string{"firstName": "A", "lastName": "B", "login": "leak", "email": "leak@example.com", "password": "a less common passphrase"}
	s := startServer(t, nil, "--db", db)
	up := s.post(t, "/auth/signup", user)
	up.want(t, 200, "")
	tok1 := up.str("access_token")
	k1 := kidOf(t, tok1)
	s.shutdown(t)

	_, err := cli(t, nil, "keys", "retire", k1, "--db", db)
	if err == nil || !strings.Contains(err.Error(), "keys rotate --activate-in 0") {
		t.Fatalf("retire of the only key: %v, want a refusal naming keys rotate", err)
	}
	mustCLI(t, nil, "keys", "rotate", "--db", db, "--activate-in", "1h")
	out := mustCLI(t, nil, "keys", "retire", k1, "--db", db)
	if !strings.Contains(out, "removed key "+k1) || !strings.Contains(out, "--now") {
		t.Errorf("retire: %s", out)
	}
	out = mustCLI(t, nil, "keys", "list", "--db", db)
	if !regexp.MustCompile(`(?m)^1 +`+regexp.QuoteMeta(k1)+` .*removed`).MatchString(out) || !regexp.MustCompile(`(?m)^2 .*active`).MatchString(out) {
		t.Errorf("keys list after retire:\n%s", out)
	}

	s = startServer(t, nil, "--db", db, "--key-reload", "50ms")
	res := s.get(t, "/.well-known/jwks.json", "")
	if strings.Contains(res.raw, k1) {
		t.Errorf("the removed key is still in the JWKS: %s", res.raw)
	}
	s.get(t, "/auth/me", tok1).want(t, 200, "")
	in := s.post(t, "/auth/signin", map[string]string{"login": "leak", "password": user["password"]})
	in.want(t, 200, "")
	if kid := kidOf(t, in.str("access_token")); kid == k1 {
		t.Error("the server still signs with the removed key")
	}

	mustCLI(t, nil, "keys", "retire", k1, "--now", "--db", db)
	deadline := time.Now().Add(10 * time.Second)
	for s.get(t, "/auth/me", tok1).status != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the running server still accepts the refused key's token 10 s after retire --now")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.get(t, "/auth/me", in.str("access_token")).want(t, 200, "")
	out = mustCLI(t, nil, "keys", "list", "--db", db)
	if m := regexp.MustCompile(`(?m)^1 .*removed(\s+\S+){3}\s*$`).FindString(out); m == "" {
		t.Errorf("keys list after retire --now shows no refusal time:\n%s", out)
	}

	for _, args := range [][]string{{"keys", "retire", "--db", db}, {"keys", "retire", "no-such-kid", "--db", db}} {
		if _, err := cli(t, nil, args...); exitCode(err) != 2 {
			t.Errorf("authstore %v: %v, want a usage error", args, err)
		}
	}
}

// A key id is base64url, so one in 64 starts with "-": it is still the
// argument of keys retire, not an unknown flag.
func TestKeysRetireTakesADashedKID(t *testing.T) {
	fs := flag.NewFlagSet("authstore keys retire", flag.ContinueOnError)
	fs.Bool("now", false, "")
	fs.String("db", "", "")
	tests := []struct {
		arg  string
		want bool
	}{
		{"W0-6SRRDBx6pmR-gO4WSKcZUEQurds1TZVS-Hug7ZMs", true},
		{"-6SRRDBx6pmR-gO4WSKcZUEQurds1TZVS-Hug7ZMsW0", true},
		{"--now", false},
		{"-now", false},
		{"--db=x.db", false},
		{"-h", false},
		{"--help", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isLeadingArg(fs, tt.arg); got != tt.want {
			t.Errorf("isLeadingArg(%q) = %v, want %v", tt.arg, got, tt.want)
		}
	}
	db := filepath.Join(t.TempDir(), "a.db")
	mustCLI(t, nil, "migrate", "up", "--db", db)
	_, err := cli(t, nil, "keys", "retire", "-no-such-key", "--db", db)
	if err == nil || !strings.Contains(err.Error(), `no signing key "-no-such-key"`) {
		t.Errorf("retire of a dashed unknown kid: %v, want it looked up", err)
	}
}
