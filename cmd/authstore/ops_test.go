package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth/internal/pgtest"
	"github.com/authstore/auth/password"
)

// runCLI runs one authstore command in-process with env and returns its
// stdout, its stderr and its error.
func runCLI(env map[string]string, args ...string) (string, string, error) {
	var out, errOut syncBuffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// A PostgreSQL DSN is described by user, host, port and database only, and
// no error that quotes a DSN keeps its password, in any of its places.
func TestDSNRedaction(t *testing.T) {
	tests := []struct {
		dsn, want string
		secrets   []string
	}{
		{"postgres://u:hunter2-pw@db.example:5432/auth?sslmode=disable", "postgres://u@db.example:5432/auth", []string{"hunter2-pw"}},
		{"postgres://u@h/db?password=qp-secret&sslmode=require", "postgres://u@h/db", []string{"qp-secret"}},
		{"postgresql://u@h:6000/db?sslpassword=ssl-secret&password=p%2Fsecret", "postgres://u@h:6000/db", []string{"ssl-secret", "p/secret", "p%2Fsecret"}},
		{"host=h port=5433 user=u password=kv-secret dbname=db sslmode=disable", "postgres://u@h:5433/db", []string{"kv-secret"}},
		{"host=h user=u password='quoted-secret' dbname=db", "postgres://u@h/db", []string{"quoted-secret"}},
		{"/var/lib/authstore/auth.db", "/var/lib/authstore/auth.db", nil},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := describeDSN(tt.dsn); got != tt.want {
				t.Errorf("describeDSN = %q, want %q", got, tt.want)
			}
			err := redactErr(fmt.Errorf("connect %s: %w", tt.dsn, io.EOF), tt.dsn)
			if !errors.Is(err, io.EOF) {
				t.Errorf("the redacted error lost its chain: %v", err)
			}
			for _, s := range tt.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("redacted error %q holds %q", err, s)
				}
			}
		})
	}

	// End to end: a server that refuses the connection, through --db and
	// through import --from-postgres; a key=value --db is refused outright.
	db := filepath.Join(t.TempDir(), "a.db")
	mustCLI(t, nil, "migrate", "up", "--db", db)
	for _, args := range [][]string{
		{"users", "list", "--db", "postgres://u:pw-canary-1@127.0.0.1:1/db?password=pw-canary-2&sslpassword=pw-canary-3&sslmode=disable"},
		{"import", "--db", db, "--from-postgres", "postgres://u:pw-canary-1@127.0.0.1:1/db?password=pw-canary-2&sslpassword=pw-canary-3&sslmode=disable"},
		{"import", "--db", db, "--from-postgres", "host=127.0.0.1 port=1 user=u password=pw-canary-1 sslmode=disable"},
		{"users", "list", "--db", "host=127.0.0.1 port=1 user=u password=pw-canary-1"},
	} {
		_, stderr, err := runCLI(nil, args...)
		if err == nil {
			t.Fatalf("authstore %v succeeded", args)
		}
		if strings.Contains(err.Error()+stderr, "pw-canary") {
			t.Errorf("authstore %v shows a password:\n%v\n%s", args[:2], err, stderr)
		}
	}
	if _, err := os.Stat("host=127.0.0.1 port=1 user=u password=pw-canary-1"); err == nil {
		t.Error("a key=value --db created a file named after it")
	}
}

// The start log names a PostgreSQL database without the password given as
// a query parameter.
func TestPostgresStartLogRedactsDSN(t *testing.T) {
	dsn := pgtest.DSN(t) + "&password=pw-canary-query"
	s := startServer(t, map[string]string{"AUTHSTORE_SECRET_KEY": newSecret(t)}, "--db", dsn)
	s.shutdown(t)
	if logs := s.stderr.String(); strings.Contains(logs, "pw-canary") || !strings.Contains(logs, "db=postgres://postgres@") {
		t.Errorf("start log:\n%s", logs)
	}
}

// --pprof-addr serves the profiles but not /debug/pprof/cmdline, which
// would show --db with its password.
func TestPprofServesNoCmdline(t *testing.T) {
	s := startServer(t, nil, "--db", ":memory:", "--pprof-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`msg="pprof listening" addr=(\S+)`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no pprof address in the log:\n%s", s.stderr)
	}
	for path, want := range map[string]int{"/debug/pprof/cmdline": 404, "/debug/pprof/heap": 200, "/debug/pprof/": 200} {
		res, err := http.Get("http://" + m[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}
}

func TestSecretKeyEntropy(t *testing.T) {
	seq := make([]byte, 32)
	for i := range seq {
		seq[i] = byte(i)
	}
	pattern := make([]byte, 32)
	for i := range pattern {
		pattern[i] = []byte{0x3e, 0x91, 0x07, 0xc4, 0x5a, 0xee, 0x12, 0x88}[i%8]
	}
	b64 := base64.StdEncoding.EncodeToString
	for name, key := range map[string]string{
		"32 zero bytes":       b64(make([]byte, 32)),
		"one byte repeated":   strings.Repeat("ab", 32),
		"counting":            b64(seq),
		"8 bytes repeated":    b64(pattern),
		"ASCII hex, repeated": b64([]byte("0123456789abcdef0123456789abcdef")),
	} {
		if _, err := decodeSecret(key); err == nil || !strings.Contains(err.Error(), "not random") {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
	// A random key passes: each of these fails with probability < 5e-16.
	for range 2000 {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			t.Fatal(err)
		}
		if _, err := decodeSecret(b64(k)); err != nil {
			t.Fatalf("random key %x refused: %v", k, err)
		}
	}
	// The environment variable is checked too.
	if _, _, err := runCLI(map[string]string{"AUTHSTORE_SECRET_KEY": b64(make([]byte, 32))}, "serve", "--db", ":memory:"); err == nil || !strings.Contains(err.Error(), "AUTHSTORE_SECRET_KEY: the secret key is not random") {
		t.Errorf("serve with 32 zero bytes: %v", err)
	}
}

// The key file rules: a --secret-key-file must exist; a key file must be
// private, ours (or root's), in a directory only its owner can write.
func TestKeyFileRules(t *testing.T) {
	good := func(t *testing.T, dir string) string {
		path := filepath.Join(dir, "secret.key")
		if err := os.WriteFile(path, []byte(newSecret(t)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the --secret-key-file
		want  string                                // "" for success
	}{
		{"good", good, ""},
		{"missing", func(t *testing.T, dir string) string { return filepath.Join(dir, "typo.key") }, "typo.key does not exist"},
		{"group-writable directory", func(t *testing.T, dir string) string {
			p := good(t, dir)
			if err := os.Chmod(dir, 0o770); err != nil {
				t.Fatal(err)
			}
			return p
		}, "in a directory others can write"},
		{"world-writable sticky directory, as /tmp", func(t *testing.T, dir string) string {
			p := good(t, dir)
			if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
				t.Fatal(err)
			}
			return p
		}, ""},
		{"world-writable directory without the sticky bit", func(t *testing.T, dir string) string {
			p := good(t, dir)
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			return p
		}, "in a directory others can write"},
		{"other owner", func(t *testing.T, dir string) string {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the file away")
			}
			p := good(t, dir)
			if err := os.Chown(p, 54321, 54321); err != nil {
				t.Fatal(err)
			}
			return p
		}, "belongs to another user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			keyFile := tt.setup(t, dir)
			db := filepath.Join(t.TempDir(), "a.db")
			mustCLI(t, nil, "migrate", "up", "--db", db)
			_, _, err := runCLI(nil, "keys", "rotate", "--db", db, "--secret-key-file", keyFile)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("keys rotate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 1 || (tt.name == "missing" && len(entries) > 0) {
				t.Errorf("the refusal left files behind: %v", entries)
			}
		})
	}
}

// An existing SQLite database that others can read is made private, with
// a warning; one owned by another user is refused.
func TestDatabaseFileMode(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	mustCLI(t, nil, "migrate", "up", "--db", db)
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLI(nil, "users", "list", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode after use: %v %v, want 0600", fi.Mode(), err)
	}
	if !strings.Contains(stderr, "level=WARN") || !strings.Contains(stderr, "made private") {
		t.Errorf("no warning:\n%s", stderr)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file away")
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(db, 54321, 54321); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(nil, "users", "list", "--db", db); err == nil || !strings.Contains(err.Error(), "not owned by this user") {
		t.Errorf("another user's readable database: %v", err)
	}
}

// Admin commands and serve --no-migrate refuse a path that holds no
// authstore database, and create nothing; migrate up and serve create one.
func TestNotAnAuthstoreDatabase(t *testing.T) {
	commands := [][]string{
		{"users", "list"}, {"users", "show", "x"}, {"sessions", "list", "x"}, {"keys", "list"},
		{"keys", "rotate"}, {"migrate", "status"}, {"import", "x.jsonl"},
		{"serve", "--addr", "127.0.0.1:0", "--no-migrate"},
	}
	setups := map[string]func(t *testing.T, path string){
		"missing": func(*testing.T, string) {},
		"empty file": func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"text file": func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("hello\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"other SQLite database": func(t *testing.T, path string) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, setup := range setups {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.db")
			setup(t, path)
			before, _ := os.ReadDir(dir)
			for _, args := range commands {
				_, _, err := runCLI(nil, append(args, "--db", path)...)
				want := path + " is not an authstore database (run `authstore migrate up`)"
				if err == nil || err.Error() != want {
					t.Errorf("authstore %v: %v, want %q", args, err, want)
				}
			}
			if after, _ := os.ReadDir(dir); len(after) != len(before) {
				t.Errorf("the refusals created files: %v", after)
			}
		})
	}
	db := filepath.Join(t.TempDir(), "new.db")
	mustCLI(t, nil, "migrate", "up", "--db", db)
	mustCLI(t, nil, "users", "list", "--db", db)
}

// import writes one audit line however many rows it imports, none at
// --log-level warn, and a progress bar only on a terminal.
func TestImportLogging(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	mustCLI(t, nil, "migrate", "up", "--db", db)
	file := filepath.Join(dir, "users.jsonl")
	var lines bytes.Buffer
	for i := range 30 {
		// Rows that are rejected (no hash) and rows that are imported log the
		// same: neither adds a line.
		fmt.Fprintf(&lines, `{"uuid":"6f1e2d3c-4b5a-4978-8695-%012d","firstName":"A","lastName":"B","login":"user%d","email":"u%d@example.com","password":"$2a$10$abcdefghijklmnopqrstuuMZ2ByAxQO1cm8p0iCIGNs0tV5yS0fWW"}`+"\n", i, i, i)
	}
	if err := os.WriteFile(file, lines.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		lines int
		check string
	}{
		{"default", nil, nil, 1, `level=INFO msg=audit event=users_imported by=admin source=` + file + ` rows=30`},
		{"json", nil, []string{"--log-format", "json"}, 1, `"event":"users_imported"`},
		{"warn by flag", nil, []string{"--log-level", "warn"}, 0, ""},
		{"warn by environment", map[string]string{"AUTHSTORE_LOG_LEVEL": "warn"}, nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := runCLI(tt.env, append([]string{"import", "--db", db, file}, tt.args...)...)
			if err != nil && exitCode(err) != 3 {
				t.Fatal(err)
			}
			if n := strings.Count(stderr, "\n"); n != tt.lines || !strings.Contains(stderr, tt.check) {
				t.Errorf("stderr has %d lines, want %d holding %q:\n%s", n, tt.lines, tt.check, stderr)
			}
		})
	}
}

// A bad flag or variable value is one line naming it as written, what it
// takes, and exit status 2.
func TestFlagErrorMessages(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"serve", "--db-timeout", "5"}, nil, `--db-timeout: "5" is not a duration (e.g. 5s, 10m or 1h30m)`},
		{[]string{"serve", "--db-timeout=5"}, nil, `--db-timeout: "5" is not a duration`},
		{[]string{"serve", "--max-body-bytes", "64k"}, nil, `--max-body-bytes: "64k" is not a size in bytes`},
		{[]string{"serve", "--password-max-length", "many"}, nil, `--password-max-length: "many" is not a whole number`},
		{[]string{"serve", "--metrics=maybe"}, nil, `--metrics: "maybe" is not a boolean (true or false)`},
		{[]string{"users", "list", "--limit", "ten"}, nil, `--limit: "ten" is not a whole number`},
		{[]string{"serve"}, map[string]string{"AUTHSTORE_DB_TIMEOUT": "5"}, `AUTHSTORE_DB_TIMEOUT: "5" is not a duration`},
		{[]string{"serve"}, map[string]string{"AUTHSTORE_METRICS": "yes please"}, `AUTHSTORE_METRICS: "yes please" is not a boolean`},
		{[]string{"serve", "--access-ttl"}, nil, `--access-ttl needs a value`},
		{[]string{"serve", "--cors-origins", "not a url"}, nil, `--cors-origins: "not a url" is not an origin`},
		{[]string{"serve", "--cors-origins", "https://app.example.com/"}, nil, `"https://app.example.com/" is not an origin`},
		{[]string{"serve", "--cors-origins", "https://a.example, app.example.com"}, nil, `"app.example.com" is not an origin`},
		{[]string{"serve", "--cors-origins", "https://a.example:99999"}, nil, `the port must be a number from 1 to 65535`},
		{[]string{"serve"}, map[string]string{"AUTHSTORE_CORS_ORIGINS": "https://a.example/path"}, `AUTHSTORE_CORS_ORIGINS: "https://a.example/path" is not an origin`},
		{[]string{"serve", "--addr", "nonsense"}, nil, `--addr: "nonsense" is not host:port`},
		{[]string{"serve", "--addr", ":99999"}, nil, `--addr: ":99999": the port must be a number from 0 to 65535`},
		{[]string{"serve", "--pprof-addr", "localhost"}, nil, `--pprof-addr: "localhost" is not host:port`},
		{[]string{"serve", "--webauthn-rp-id", "https://example.com"}, nil, `--webauthn-rp-id: "https://example.com" must be a lower-case domain name`},
		{[]string{"serve", "--webauthn-rp-id", "127.0.0.1"}, nil, `--webauthn-rp-id: "127.0.0.1" must be a domain name, not an IP address`},
		{[]string{"serve", "--webauthn-rp-id", "example.com", "--webauthn-origins", "https://evil.example"}, nil, `--webauthn-origins: "https://evil.example": its host must be the relying party id "example.com"`},
		{[]string{"serve", "--webauthn-rp-id", "example.com", "--webauthn-origins", "http://app.example.com"}, nil, `--webauthn-origins: "http://app.example.com": must be https`},
		{[]string{"serve", "--webauthn-origins", "http://localhost:3000/app"}, nil, `--webauthn-origins: "http://localhost:3000/app": want scheme://host[:port]`},
		{[]string{"serve"}, map[string]string{"AUTHSTORE_WEBAUTHN_ORIGINS": "https://localhost.evil"}, `AUTHSTORE_WEBAUTHN_ORIGINS: "https://localhost.evil"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := runCLI(tt.env, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") || exitCode(err) != 2 {
				t.Errorf("got %v (exit %d), want one line containing %q, exit 2", err, exitCode(err), tt.want)
			}
		})
	}
	// Origins a browser sends are accepted.
	for _, ok := range []string{"*", "https://app.example.com", "http://localhost:3000, https://b.example", "*,https://x.example"} {
		if err := checkOrigins(ok); err != nil {
			t.Errorf("--cors-origins %q: %v", ok, err)
		}
	}
}

// The passkeys' relying party defaults from --issuer, and its origins from
// the RP id.
func TestWebAuthnDefaults(t *testing.T) {
	tests := []struct {
		cfg     serveConfig
		rpID    string
		origins []string
	}{
		{serveConfig{Issuer: "authstore"}, "localhost", []string{"http://localhost:3000"}},
		{serveConfig{Issuer: "https://Auth.Example.com/"}, "auth.example.com", []string{"https://auth.example.com"}},
		{serveConfig{Issuer: "http://127.0.0.1:8080"}, "localhost", []string{"http://localhost:3000"}},
		{serveConfig{Issuer: "https://auth.example.com", WebAuthnRPID: "example.com", WebAuthnOrigins: "https://app.example.com, https://example.com"},
			"example.com", []string{"https://app.example.com", "https://example.com"}},
		{serveConfig{WebAuthnRPID: "localhost", WebAuthnOrigins: "http://localhost:5173"}, "localhost", []string{"http://localhost:5173"}},
	}
	for _, tt := range tests {
		rp, err := tt.cfg.webAuthn()
		if err != nil || rp.RPID != tt.rpID || !slices.Equal(rp.Origins, tt.origins) {
			t.Errorf("%+v: webAuthn() = %+v, %v; want RP id %s, origins %v", tt.cfg, rp, err, tt.rpID, tt.origins)
		}
	}
}

// users list pages by creation time, then ID, with a cursor printed after
// each full page.
func TestUsersListPaging(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	mustCLI(t, nil, "migrate", "up", "--db", db)
	hash, err := password.New(password.Options{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}).Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	// Two imports a few milliseconds apart: the second's IDs sort first,
	// but its users were created later. Within an import many users share
	// a millisecond, so the ID breaks ties.
	var want []string
	for batch, prefix := range []string{"f", "0"} {
		var b bytes.Buffer
		for i := range 12 {
			id := fmt.Sprintf("%s0000000-0000-4000-8000-%012d", prefix, 11-i)
			fmt.Fprintf(&b, `{"uuid":%q,"firstName":"A","lastName":"B","login":"u%d%d","email":"u%d%d@example.com","password":%q}`+"\n", id, batch, i, batch, i, hash)
		}
		file := filepath.Join(dir, fmt.Sprintf("b%d.jsonl", batch))
		if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		mustCLI(t, nil, "import", "--db", db, file)
		time.Sleep(5 * time.Millisecond)
	}
	a, err := adminConfig{db: dbConfig{DB: db, Timeout: 5 * time.Second, SQLiteSync: "normal"}, log: logConfig{Format: "text", Level: "info"}}.openAdmin(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	all, err := a.Users(context.Background(), time.Time{}, "", 100)
	a.db.Close()
	if err != nil || len(all) != 24 {
		t.Fatalf("%d users, %v", len(all), err)
	}
	for i, u := range all {
		if i > 0 && (u.CreatedAt.Before(all[i-1].CreatedAt) || u.CreatedAt.Equal(all[i-1].CreatedAt) && u.ID <= all[i-1].ID) {
			t.Fatalf("not in (created, id) order at %d: %v", i, all)
		}
		want = append(want, u.ID)
	}
	if !strings.HasPrefix(want[0], "f") || !strings.HasPrefix(want[23], "0") {
		t.Errorf("not by creation: first %s, last %s", want[0], want[23])
	}

	next := regexp.MustCompile(`(?m)^next page: authstore users list --after (\S+)$`)
	var got []string
	args := []string{"users", "list", "--db", db, "--limit", "10"}
	for page := 0; ; page++ {
		out := mustCLI(t, nil, args...)
		for _, line := range strings.Split(out, "\n")[1:] {
			if f := strings.Fields(line); len(f) > 0 && f[0] != "next" {
				got = append(got, f[0])
			}
		}
		m := next.FindStringSubmatch(out)
		if m == nil {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
		args = []string{"users", "list", "--db", db, "--limit", "10", "--after", m[1]}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("pages gave\n%v\nwant\n%v", got, want)
	}
	if _, err := cli(t, nil, "users", "list", "--db", db, "--after", "garbage"); exitCode(err) != 2 {
		t.Errorf("--after garbage: %v", err)
	}
}

// users delete asks on a terminal, and without one needs --yes.
func TestUsersDeleteConfirmation(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	mustCLI(t, nil, "migrate", "up", "--db", db)
	s := startServer(t, nil, "--db", db)
	s.post(t, "/auth/signup", map[string]string{"firstName": "A", "lastName": "B", "login": "ada", "email": "ada@example.com", "password": "a less common passphrase"}).want(t, 200, "")
	s.shutdown(t)

	tests := []struct {
		name     string
		terminal io.Reader // nil: standard input is not a terminal
		args     []string
		deleted  bool
		err      string
	}{
		{"no terminal, no --yes", nil, nil, false, "pass --yes"},
		{"terminal, answer no", strings.NewReader("n\n"), nil, false, "not deleted"},
		{"terminal, empty answer", strings.NewReader(""), nil, false, "not deleted"},
		{"terminal, answer yes", strings.NewReader("yes\n"), nil, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.terminal != nil {
				ctx = withTerminal(ctx, tt.terminal)
			}
			var stderr bytes.Buffer
			err := run(ctx, append([]string{"users", "delete", "ada", "--db", db}, tt.args...), func(string) string { return "" }, io.Discard, &stderr)
			if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("got %v, want %q", err, tt.err)
			}
			if tt.terminal != nil && !strings.Contains(stderr.String(), "Delete user") {
				t.Errorf("no question asked:\n%s", stderr.String())
			}
			_, showErr := cli(t, nil, "users", "show", "ada", "--db", db)
			if gone := showErr != nil; gone != tt.deleted {
				t.Errorf("deleted: %v, want %v", gone, tt.deleted)
			}
		})
	}
}

func TestVersionLine(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/authstore/auth", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-11-30T12:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{bi, true, "authstore v1.2.3 revision 0123abcd (dirty) committed 2026-11-30T12:00:00Z go1.26.8"},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true, "authstore dev go1.26.8"},
		{nil, false, "authstore dev"},
	}
	for _, tt := range tests {
		if got := versionLine(tt.bi, tt.ok); got != tt.want {
			t.Errorf("versionLine = %q, want %q", got, tt.want)
		}
	}
}
