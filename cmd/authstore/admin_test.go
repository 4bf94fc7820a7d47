package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/authstore/auth/internal/pgtest"
	"github.com/authstore/auth/password"
)

// cli runs one authstore command in-process and returns its stdout.
func cli(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	if err != nil {
		t.Logf("authstore %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), err
}

func mustCLI(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, err := cli(t, env, args...)
	if err != nil {
		t.Fatalf("authstore %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func TestMigrateAndKeysCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	mustCLI(t, nil, "migrate", "up", "--db", db)
	out := mustCLI(t, nil, "migrate", "--db", db) // up is the default, and idempotent
	if strings.Contains(out, "pending") || !strings.Contains(out, "00001_init.sql") {
		t.Errorf("status after up:\n%s", out)
	}

	// serve creates the first key; rotate adds a pending one.
	s := startServer(t, nil, "--db", db)
	s.shutdown(t)
	out = mustCLI(t, nil, "keys", "rotate", "--db", db, "--signing-alg", "ES256", "--activate-in", "1h")
	if !strings.Contains(out, "created key") || !strings.Contains(out, "ES256, serial 2") {
		t.Errorf("rotate: %s", out)
	}
	out = mustCLI(t, nil, "keys", "list", "--db", db)
	if !regexp.MustCompile(`(?m)^1 .*EdDSA.*active`).MatchString(out) || !regexp.MustCompile(`(?m)^2 .*ES256.*pending`).MatchString(out) {
		t.Errorf("keys list:\n%s", out)
	}

	// Another secret key cannot rotate: its key would not open anywhere.
	if _, err := cli(t, map[string]string{"AUTHSTORE_SECRET_KEY": newSecret(t)}, "keys", "rotate", "--db", db); err == nil ||
		!strings.Contains(err.Error(), "secret key does not match") {
		t.Errorf("rotate with a wrong secret: %v", err)
	}
	for _, args := range [][]string{{"migrate", "sideways"}, {"keys"}, {"keys", "rotate", "--db", db, "--activate-in", "-1s"}, {"keys", "list", "--db", db, "extra"}} {
		if _, err := cli(t, nil, args...); exitCode(err) != 2 {
			t.Errorf("authstore %v: %v, want a usage error", args, err)
		}
	}
}

func TestUserAndSessionCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	s := startServer(t, nil, "--db", db)
	up := s.post(t, "/auth/signup", map[string]any{"firstName": "Ada", "lastName": "L", "login": "ada", "email": "ada@example.com", "password": "correct horse battery"})
	up.want(t, 200, "")
	in := s.post(t, "/auth/signin", map[string]any{"login": "ada", "password": "correct horse battery"})
	in.want(t, 200, "")

	out := mustCLI(t, nil, "users", "list", "--db", db)
	if !strings.Contains(out, "ada@example.com") {
		t.Errorf("users list:\n%s", out)
	}
	out = mustCLI(t, nil, "users", "show", "ADA", "--db", db)
	id := regexp.MustCompile(`id:\s+(\S+)`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("users show:\n%s", out)
	}
	out = mustCLI(t, nil, "sessions", "list", "--db", db, id[1])
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("sessions list shows %d lines, want a header and 2 sessions:\n%s", n, out)
	}
	sid := strings.Fields(strings.Split(out, "\n")[1])[0]
	mustCLI(t, nil, "sessions", "revoke", "--db", db, sid)

	mustCLI(t, nil, "users", "disable", "ada", "--db", db)
	s.post(t, "/auth/signin", map[string]any{"login": "ada", "password": "correct horse battery"}).want(t, 400, "The login or password is incorrect")
	s.post(t, refreshPath(in.str("refresh_token")), nil).want(t, 401, "Invalid token")
	mustCLI(t, nil, "users", "enable", "ada", "--db", db)
	s.post(t, "/auth/signin", map[string]any{"login": "ada", "password": "correct horse battery"}).want(t, 200, "")

	mustCLI(t, nil, "users", "delete", "--yes", "ada", "--db", db)
	if _, err := cli(t, nil, "users", "show", "ada", "--db", db); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Errorf("show after delete: %v", err)
	}
}

func TestImportJSONLines(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	hash, err := password.New(password.Options{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}).Hash(context.Background(), "old store password")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "users.jsonl")
	lines := []string{
		`{"uuid":"6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9","firstName":"Old","lastName":"User","login":"olduser","email":"old@example.com","password":"` + hash + `"}`,
		``,
		`{"uuid":"not-a-uuid","firstName":"X","lastName":"Y","login":"xy","email":"xy@example.com","password":"` + hash + `"}`,
		`{"uuid":"7f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9","firstName":"No","lastName":"Hash","login":"nohash","email":"nohash@example.com","password":"plain"}`,
		`this is not json`,
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, nil, "migrate", "--db", db)
	out, err := cli(t, nil, "import", "--db", db, file)
	if exitCode(err) != 3 {
		t.Errorf("an import that rejected rows: %v (exit %d), want exit status 3", err, exitCode(err))
	}
	for _, want := range []string{"rows: 4, imported: 1, skipped (already there): 0, rejected: 3", "uuid is not a UUID (first at row 2)", "not an argon2id or bcrypt hash", "unreadable row"} {
		if !strings.Contains(out, want) {
			t.Errorf("import report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, hash) {
		t.Error("the report prints a password hash")
	}
	out, _ = cli(t, nil, "import", file, "--db", db)
	if !strings.Contains(out, "imported: 0, skipped (already there): 1, rejected: 3") {
		t.Errorf("second import is not idempotent:\n%s", out)
	}
	s := startServer(t, nil, "--db", db)
	r := s.post(t, "/auth/signin", map[string]any{"login": "olduser", "password": "old store password"})
	r.want(t, 200, "")
	if sub := s.verifyAccess(t, r.str("access_token"))["sub"]; sub != "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9" {
		t.Errorf("imported user signs in as %v, want its old UUID", sub)
	}
}

// TestPostgresImportFromFakeStore imports from a database shaped like the
// original Fake Store API's: a "user" table with argon2id hashes.
func TestPostgresImportFromFakeStore(t *testing.T) {
	src := pgtest.DSN(t)
	conn, err := sql.Open("pgx", src)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hash, err := password.New(password.Options{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}).Hash(context.Background(), "fake store pw")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE "user" (uuid uuid PRIMARY KEY, first_name varchar, last_name varchar, login varchar UNIQUE, email varchar UNIQUE, password varchar)`,
		`INSERT INTO "user" VALUES ('0a0b0c0d-1e1f-4a4b-8c8d-9e9f0a0b0c0d', 'Fake', 'Store', 'fakeuser', 'fake@example.com', '` + hash + `')`,
		`INSERT INTO "user" VALUES ('1a0b0c0d-1e1f-4a4b-8c8d-9e9f0a0b0c0d', NULL, 'Store', 'nofirst', 'nofirst@example.com', '` + hash + `')`,
	} {
		if _, err := conn.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(t.TempDir(), "a.db")
	mustCLI(t, nil, "migrate", "--db", db)
	out, err := cli(t, nil, "import", "--db", db, "--from-postgres", src)
	if exitCode(err) != 3 {
		t.Errorf("an import that rejected a row: %v, want exit status 3", err)
	}
	if !strings.Contains(out, "rows: 2, imported: 1, skipped (already there): 0, rejected: 1") || !strings.Contains(out, "firstName") {
		t.Errorf("import report:\n%s", out)
	}
	s := startServer(t, nil, "--db", db)
	s.post(t, "/auth/signin", map[string]any{"login": "FakeUser", "password": "fake store pw"}).want(t, 200, "")
}

func TestPasswordPolicyFlags(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "leaked.txt")
	if err := os.WriteFile(list, []byte("Our Company Password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, nil, "--db", filepath.Join(dir, "a.db"), "--password-blocklist", list, "--password-min-length", "12")
	signup := func(login, pw string) response {
		return s.post(t, "/auth/signup", map[string]any{"firstName": "A", "lastName": "B", "login": login, "email": login + "@example.com", "password": pw})
	}
	signup("built", "passwordpassword").want(t, 400, "password is too common")     // the built-in list
	signup("extra", "our company password").want(t, 400, "password is too common") // the file, ignoring case
	signup("short", "elevenchars").want(t, 400, "password must be longer than or equal to 12 characters")
	signup("fine", "correct horse battery").want(t, 200, "")
	if _, err := cli(t, nil, "serve", "--db", filepath.Join(dir, "b.db"), "--password-min-length", "7"); exitCode(err) != 2 {
		t.Errorf("--password-min-length 7: %v, want a usage error", err)
	}
	if _, err := cli(t, nil, "serve", "--db", filepath.Join(dir, "b.db"), "--allow-common-passwords", "--password-blocklist", list); exitCode(err) != 2 {
		t.Errorf("--allow-common-passwords with --password-blocklist: %v, want a usage error", err)
	}

	// A practice deployment turns the check off; signin still validates.
	p := startServer(t, map[string]string{"AUTHSTORE_ALLOW_COMMON_PASSWORDS": "true"}, "--db", filepath.Join(dir, "c.db"))
	p.post(t, "/auth/signup", map[string]any{"firstName": "A", "lastName": "B", "login": "fixture", "email": "fixture@example.com", "password": "12345678"}).want(t, 200, "")
	p.post(t, "/auth/signin", map[string]any{"login": "fixture", "password": "12345678"}).want(t, 200, "")
}

// TestPostgresMigrateCommand runs `authstore migrate` on PostgreSQL.
func TestPostgresMigrateCommand(t *testing.T) {
	dsn := pgtest.DSN(t)
	// Without the shared secret, serve refuses before it migrates anything.
	if _, err := cli(t, nil, "serve", "--addr", "127.0.0.1:0", "--db", dsn); err == nil || !strings.Contains(err.Error(), "AUTHSTORE_SECRET_KEY") {
		t.Fatalf("serve on PostgreSQL without a secret key: %v", err)
	}
	// An unmigrated database is refused by all but migrate up and serve.
	env := map[string]string{"AUTHSTORE_SECRET_KEY": newSecret(t)}
	for _, args := range [][]string{{"migrate", "status"}, {"users", "list"}, {"serve", "--addr", "127.0.0.1:0", "--no-migrate"}} {
		_, err := cli(t, env, append(args, "--db", dsn)...)
		if err == nil || !strings.Contains(err.Error(), "is not an authstore database (run `authstore migrate up`)") {
			t.Errorf("authstore %v on an empty PostgreSQL database: %v", args, err)
		}
	}
	mustCLI(t, nil, "migrate", "up", "--db", dsn)
	out := mustCLI(t, nil, "migrate", "status", "--db", dsn)
	if strings.Contains(out, "pending") || !strings.Contains(out, "00002_accounts.sql") {
		t.Errorf("status after up:\n%s", out)
	}
	// serve starts on it without migrating, and keys need the shared secret.
	startServer(t, env, "--db", dsn, "--no-migrate").shutdown(t)
	if _, err := cli(t, nil, "keys", "rotate", "--db", dsn); err == nil || !strings.Contains(err.Error(), "AUTHSTORE_SECRET_KEY") {
		t.Errorf("keys rotate on PostgreSQL without a secret key: %v", err)
	}
	if out := mustCLI(t, env, "keys", "rotate", "--db", dsn); !strings.Contains(out, "serial 2") {
		t.Errorf("keys rotate: %s", out)
	}
}
