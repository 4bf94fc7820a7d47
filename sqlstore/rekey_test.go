package sqlstore_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/internal/pgtest"
	"github.com/authstore/auth/sqlstore"
)

func TestSQLiteRekeyOldKeys(t *testing.T) {
	t.Parallel()
	testRekeyOldKeys(t, filepath.Join(t.TempDir(), "auth.db"))
}

func TestPostgresRekeyOldKeys(t *testing.T) {
	t.Parallel()
	testRekeyOldKeys(t, pgtest.DSN(t))
}

// testRekeyOldKeys stores users as version 2 keyed them (NFC and case
// folding only), migrates, and checks that each is found under the current
// auth.Fold, that look-alikes collide, and that of two users sharing a new
// key the younger one has it retired and is reported.
func testRekeyOldKeys(t *testing.T, dsn string) {
	ctx := t.Context()
	var logs bytes.Buffer
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateTo(ctx, 2); err != nil {
		t.Fatalf("MigrateTo(2): %v", err)
	}
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	type old struct {
		id, login, loginKey, email, emailKey string
		created                              time.Duration
	}
	olds := []old{
		{"u-alice", "Alice", "alice", "alice@example.com", "alice@example.com", 0},
		// Fullwidth: a distinct key before, the same as Alice's now.
		{"u-alice-wide", "ａｌｉｃｅ", "ａｌｉｃｅ", "alice2@example.com", "alice2@example.com", time.Hour},
		// Cyrillic В and о, created before the Latin Bob: Bob keeps his
		// login key (and signs in) but loses the skeleton to it.
		{"u-bob-cyrillic", "Воb", "воb", "bob1@example.com", "bob1@example.com", time.Minute},
		{"u-bob", "Bob", "bob", "bob2@example.com", "bob2@example.com", 2 * time.Hour},
		// Alone under its new key: found by it.
		{"u-carol", "Ｃarol", "ｃarol", "carol@example.com", "carol@example.com", 0},
		// A soft hyphen the old rules allowed: its key drops it.
		{"u-dave", "da\u00adve", "da\u00adve", "ｄave@example.com", "ｄave@example.com", time.Hour},
		{"u-erin", "Erin", "erin", "Dave@Example.COM", "dave@example.com", 0},
	}
	for _, o := range olds {
		_, err := db.Exec(ctx, `INSERT INTO users (id, first_name, last_name, login, login_key, email, email_key, password_hash, created_at, updated_at)
			VALUES (?, 'F', 'L', ?, ?, ?, ?, '$argon2id$x', ?, ?)`,
			o.id, o.login, o.loginKey, o.email, o.emailKey, t0.Add(o.created).UnixMilli(), t0.UnixMilli())
		if err != nil {
			t.Fatalf("insert old user %s: %v", o.id, err)
		}
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	tests := []struct {
		id                                string
		loginKey, loginSkeleton, emailKey string // "" means retired
		findBy                            string // a login that finds the user, "" if none does
	}{
		{"u-alice", "alice", auth.Skeleton("alice"), "alice@example.com", "ALICE"},
		{"u-alice-wide", "", "", "alice2@example.com", ""},
		{"u-bob-cyrillic", auth.Fold("Воb"), auth.Skeleton("bob"), "bob1@example.com", "ВОB"},
		{"u-bob", "bob", "", "bob2@example.com", "bob"},
		{"u-carol", "carol", auth.Skeleton("carol"), "carol@example.com", "CAROL"},
		{"u-dave", "dave", auth.Skeleton("dave"), "", "ＤＡＶＥ"},
		{"u-erin", "erin", auth.Skeleton("erin"), "dave@example.com", "Erin"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			u, err := db.UserByID(ctx, tt.id)
			if err != nil {
				t.Fatalf("UserByID: %v", err)
			}
			check := func(col, got, want string) {
				t.Helper()
				if want == "" {
					want = auth.RetiredKey(tt.id)
				}
				if got != want {
					t.Errorf("%s = %q, want %q", col, got, want)
				}
			}
			check("LoginKey", u.LoginKey, tt.loginKey)
			check("LoginSkeleton", u.LoginSkeleton, tt.loginSkeleton)
			check("EmailKey", u.EmailKey, tt.emailKey)
			if tt.findBy != "" {
				got, err := db.UserByLoginKey(ctx, auth.Fold(tt.findBy))
				if err != nil || got.ID != tt.id {
					t.Errorf("UserByLoginKey(Fold(%q)) = %v, %v; want %s", tt.findBy, got, err, tt.id)
				}
			}
			if strings.Contains(logs.String(), "user="+tt.id+" ") != (tt.loginKey == "" || tt.loginSkeleton == "" || tt.emailKey == "") {
				t.Errorf("log names %s = %v, want it named exactly when a key is retired; log:\n%s",
					tt.id, !strings.Contains(logs.String(), "user="+tt.id+" "), logs.String())
			}
		})
	}
	// New look-alikes of re-keyed users are taken.
	for _, login := range []string{"аlice", "ＡＬＩＣＥ", "b0b", "ca\u200brol"} {
		taken, _, err := db.KeysTaken(ctx, auth.Fold(login), auth.Skeleton(login), "free@example.com")
		if err != nil || !taken {
			t.Errorf("KeysTaken(%q) = %v, %v; want taken", login, taken, err)
		}
	}
}
