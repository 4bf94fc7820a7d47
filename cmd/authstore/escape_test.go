package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/sqlstore"
)

func TestTermSafe(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "ada@example.com", "ada@example.com"},
		{"letters of other scripts", "Zoë Żółć Ἀθηνᾶ 日本 🦊", "Zoë Żółć Ἀθηνᾶ 日本 🦊"},
		{"escape sequence", "\x1b[31mred", `\x1b[31mred`},
		{"title-setting OSC", "\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"C1 controls", "a\u0085b\u009b2J", `a\u0085b\u009b2J`},
		{"bidi override", "evil\u202Eecila", `evil\u202eecila`},
		{"zero-width space", "ali\u200Bce", `ali\u200bce`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"tab and newline", "a\tb\nc", `a\tb\nc`},
		{"no-break space", "a\u00A0b", `a\u00a0b`},
		{"tag character", "\U000E0067", `\U000e0067`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"backslash cannot forge an escape", `\x1b`, `\\x1b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := termSafe(tt.in); got != tt.want {
				t.Errorf("termSafe(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestCommandsEscapeUserData stores a user and a session whose text fields
// hold escape sequences, C1 controls and a bidi override, as a database
// written before today's validation may, and checks that no command prints
// them raw.
func TestCommandsEscapeUserData(t *testing.T) {
	db := filepath.Join(t.TempDir(), "a.db")
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, db, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	u := &auth.User{
		ID: "00000000-0000-4000-8000-000000000001", FirstName: "\x1b[31mZoë", LastName: "C1\u0085\u009b2J",
		Login: "evil\u202Eecila", LoginKey: "evil-key", LoginSkeleton: "evil-skeleton",
		Email: "e\u200Bvil@example.com", EmailKey: "evil@example.com",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", CreatedAt: now, UpdatedAt: now,
	}
	if err := store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := &auth.Session{
		ID: "00000000-0000-4000-8000-0000000000aa", UserID: u.ID, Generation: 1,
		RotatedAt: now, CreatedAt: now, LastUsedAt: now,
		UserAgent: "Mozilla\x1b]0;pwned\x07 \u202E\u009b31m", IP: "203.0.113.9\u2028",
	}
	if err := store.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	key := &auth.SigningKey{ID: "k\x1b[2J", Algorithm: "EdDSA\u202E", Private: []byte("p"), Public: []byte("{}"),
		Serial: 1, CreatedAt: now, ActivatesAt: now}
	if err := store.CreateSigningKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	store.Close()
	jsonl := filepath.Join(t.TempDir(), "users.jsonl")
	if err := os.WriteFile(jsonl, []byte("not json \x1b[2J\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{
		{"users", "list", "--db", db},
		{"users", "show", u.ID, "--db", db},
		{"sessions", "list", u.ID, "--db", db},
		{"keys", "list", "--db", db},
		{"import", jsonl, "--db", db},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			out, err := cli(t, nil, args...)
			if err != nil && !(args[0] == "import" && exitCode(err) == 3) { // 3: rows rejected
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
			if i := strings.IndexFunc(out, func(r rune) bool {
				return r != '\n' && (r < 0x20 || (0x7f <= r && r < 0xa0) || r == '\u202E' || r == '\u200B' || r == '\u2028')
			}); i >= 0 {
				t.Errorf("output holds %U raw:\n%q", []rune(out[i:])[0], out)
			}
			var want []string
			switch args[0] {
			case "users":
				want = []string{`evil\u202eecila`, `e\u200bvil@example.com`}
				if args[1] == "show" {
					want = append(want, `\x1b[31mZoë`, `C1\u0085\u009b2J`)
				}
			case "sessions":
				want = []string{`Mozilla\x1b]0;pwned\a \u202e\u009b31m`, `203.0.113.9\u2028`, `evil\u202eecila`}
			case "keys":
				want = []string{`k\x1b[2J`, `EdDSA\u202e`}
			case "import":
				want = []string{"rejected 1"}
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
		})
	}
}
