package main

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/sqlstore"
	"github.com/authstore/auth/token"
)

// cliWith runs one authstore command in-process with ctx (which may carry
// a terminal or standard input) and returns its stdout.
func cliWith(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(ctx, args, func(string) string { return "" }, &out, &errOut)
	if err != nil {
		t.Logf("authstore %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	if strings.Contains(errOut.String(), "a brand new") || strings.Contains(out.String(), "a brand new") {
		t.Errorf("authstore %s printed the password", strings.Join(args, " "))
	}
	return out.String(), err
}

func TestUserAccountCommands(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "a.db")
	s := startServer(t, nil, "--db", db)
	up := s.post(t, "/auth/signup", map[string]any{"firstName": "Ada", "lastName": "L", "login": "ada", "email": "ada@example.com", "password": "correct horse battery"})
	up.want(t, 200, "")

	if out := mustCLI(t, nil, "users", "show", "ada", "--db", db); !strings.Contains(out, "email verified:  -") {
		t.Errorf("a new user shows as verified:\n%s", out)
	}
	if out := mustCLI(t, nil, "users", "verify-email", "ADA", "--db", db); strings.Contains(out, "email verified:  -") {
		t.Errorf("verify-email did not verify:\n%s", out)
	}

	// set-password: from standard input, under signup's rules.
	if _, err := cliWith(t, withInput(ctx, strings.NewReader("short\n")), "users", "set-password", "ada", "--db", db); err == nil ||
		!strings.Contains(err.Error(), "password must be longer than or equal to 8 characters") {
		t.Errorf("set-password with a short password: %v", err)
	}
	if _, err := cliWith(t, ctx, "users", "set-password", "ada", "--db", db); exitCode(err) != 2 {
		t.Errorf("set-password without any input: %v, want a usage error", err)
	}
	// On a terminal it asks twice; two different answers change nothing.
	if _, err := cliWith(t, withTerminal(ctx, strings.NewReader("a brand new passphrase\nanother one\n")), "users", "set-password", "ada", "--db", db); err == nil {
		t.Error("set-password accepted two different passwords")
	}
	out, err := cliWith(t, withInput(ctx, strings.NewReader("a brand new passphrase\r\nignored\n")), "users", "set-password", "ada", "--db", db)
	if err != nil || !strings.Contains(out, "password set") {
		t.Fatalf("set-password: %v\n%s", err, out)
	}
	s.post(t, "/auth/refresh", map[string]any{"refresh_token": up.str("refresh_token")}).want(t, 401, "Invalid token")
	s.post(t, "/auth/signin", map[string]any{"login": "ada", "password": "correct horse battery"}).want(t, 400, "The login or password is incorrect")
	s.post(t, "/auth/signin", map[string]any{"login": "ada", "password": "a brand new passphrase"}).want(t, 200, "")
	s.shutdown(t)

	// send-reset: a reset link, sealed with the server's key, in the outbox.
	out = mustCLI(t, nil, "users", "send-reset", "ada", "--db", db, "--reset-url", "https://shop.example/r?t={token}")
	if !strings.Contains(out, "queued to ada@example.com") {
		t.Errorf("send-reset: %s", out)
	}
	store, err := sqlstore.Open(ctx, db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	msgs, err := store.ClaimOutbox(ctx, "test", time.Now(), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	sec, _, err := loadSecrets(func(string) string { return "" }, db, "")
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := token.NewSealer(sec.outboxSeal)
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, m := range msgs {
		if m.Template != auth.TemplateResetPassword {
			continue // the signup's verification mail
		}
		d, err := auth.OpenMailData(sealer, &m)
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, d.Link)
	}
	if len(links) != 1 || !strings.HasPrefix(links[0], "https://shop.example/r?t=") {
		t.Fatalf("reset links in the outbox: %q", links)
	}
	u, _ := url.Parse(links[0])
	if len(u.Query().Get("t")) != 43 {
		t.Errorf("link token %q", u.Query().Get("t"))
	}
	for _, args := range [][]string{
		{"users", "send-reset", "nobody", "--db", db},
		{"users", "verify-email", "nobody", "--db", db},
	} {
		if _, err := cli(t, nil, args...); err == nil || !strings.Contains(err.Error(), "no user") {
			t.Errorf("authstore %v: %v", args, err)
		}
	}
	if _, err := cli(t, nil, "users", "send-reset", "ada", "--db", db, "--reset-url", "https://shop.example/r"); exitCode(err) != 2 {
		t.Errorf("send-reset with a URL without {token}: %v, want a usage error", err)
	}
}

func TestAccountFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--reset-url", "https://shop.example/reset"},
		{"--verify-url", "/verify?token={token}"},
		{"--reset-ttl", "0s"},
		{"--verify-ttl", "-1h"},
		{"--mail-rate-limit", "-1"},
	} {
		if _, err := cli(t, nil, append([]string{"serve", "--db", ":memory:"}, args...)...); exitCode(err) != 2 {
			t.Errorf("serve %v: %v, want a usage error", args, err)
		}
	}
}
