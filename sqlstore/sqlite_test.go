package sqlstore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/sqlstore"
	"github.com/authstore/auth/storetest"
)

func open(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), dsn, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestSQLiteFile(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) auth.Store {
		return open(t, filepath.Join(t.TempDir(), "auth.db"))
	})
}

func TestSQLiteMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) auth.Store {
		return open(t, ":memory:")
	})
}

func testUser() *auth.User {
	now := time.Date(2026, 11, 27, 22, 5, 13, 0, time.UTC)
	return &auth.User{
		ID: "6f1c2a4e-0000-4000-8000-000000000001", FirstName: "Ada", LastName: "Lovelace",
		Login: "Ada", LoginKey: "ada", LoginSkeleton: "ada", Email: "ada@example.com", EmailKey: "ada@example.com",
		PasswordHash: "$argon2id$x", CreatedAt: now, UpdatedAt: now,
	}
}

func TestReopenKeepsDataAndMigrationsAreIdempotent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "auth.db")
	db, err := sqlstore.Open(ctx, path, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := testUser()
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = open(t, path)
	if applied, err := db.Migrate(ctx); err != nil || len(applied) != 0 {
		t.Fatalf("Migrate again = %v, %v, want nothing applied", applied, err)
	}
	got, err := db.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID after reopen: %v", err)
	}
	if got.LoginKey != u.LoginKey || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Errorf("after reopen got %+v, want %+v", got, u)
	}
}

func TestOpenWithoutMigrate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "auth.db"), sqlstore.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if err := db.CreateUser(ctx, testUser()); err == nil {
		t.Fatal("CreateUser before Migrate succeeded")
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := db.CreateUser(ctx, testUser()); err != nil {
		t.Fatalf("CreateUser after Migrate: %v", err)
	}
}

func TestFileSettings(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "auth.db")
	open(t, path)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatalf("journal_mode: %v", err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestMemoryDatabasesAreSeparate(t *testing.T) {
	t.Parallel()
	a, b := open(t, ":memory:"), open(t, ":memory:")
	if err := a.CreateUser(t.Context(), testUser()); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := b.UserByID(t.Context(), testUser().ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByID in another :memory: database error = %v, want ErrNotFound", err)
	}
}

func TestForeignKeys(t *testing.T) {
	t.Parallel()
	db := open(t, filepath.Join(t.TempDir(), "auth.db"))
	err := db.CreateSession(t.Context(), &auth.Session{ID: "s1", UserID: "no such user", Generation: 1})
	if err == nil {
		t.Fatal("CreateSession for an unknown user succeeded")
	}
}

func TestClosedDatabaseReturnsErrors(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{":memory:", filepath.Join(t.TempDir(), "auth.db")} {
		ctx := t.Context()
		db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Migrate: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := db.Ping(ctx); err == nil {
			t.Errorf("%s: Ping after Close succeeded", dsn)
		}
		if _, err := db.UserByID(ctx, "x"); err == nil || errors.Is(err, auth.ErrNotFound) {
			t.Errorf("%s: UserByID after Close error = %v, want a database error", dsn, err)
		}
		if _, _, err := db.RotateSession(ctx, "x", 1, time.Time{}, time.Now()); err == nil || errors.Is(err, auth.ErrNotFound) {
			t.Errorf("%s: RotateSession after Close error = %v, want a database error", dsn, err)
		}
		if err := db.CreateUser(ctx, testUser()); err == nil {
			t.Errorf("%s: CreateUser after Close succeeded", dsn)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dsn, want string
	}{
		{"postgres bad URL", "postgres://u@localhost:port/auth", "postgres dsn"},
		{"postgresql bad parameter", "postgresql://u@localhost/auth?sslmode=sometimes", "postgres dsn"},
		{"empty", "", "empty dsn"},
		{"query string", "auth.db?_pragma=foreign_keys(0)", "not a file: URI or a query string"},
		{"file URI", "file::memory:", "not a file: URI or a query string"},
		{"missing directory", filepath.Join(t.TempDir(), "missing", "auth.db"), "sqlstore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sqlstore.Open(t.Context(), tt.dsn, sqlstore.Options{Migrate: true})
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded", tt.dsn)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) error = %v, want it to contain %q", tt.dsn, err, tt.want)
			}
		})
	}
}

// newRotationBench returns a SQLite file database holding one user, for
// the rotation benchmarks.
func newRotationBench(b *testing.B) (*sqlstore.DB, *auth.User) {
	db, err := sqlstore.Open(b.Context(), filepath.Join(b.TempDir(), "auth.db"), sqlstore.Options{Migrate: true})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	u := testUser()
	if err := db.CreateUser(b.Context(), u); err != nil {
		b.Fatalf("CreateUser: %v", err)
	}
	return db, u
}

func BenchmarkRotateSession(b *testing.B) {
	ctx := b.Context()
	db, u := newRotationBench(b)
	now := u.CreatedAt
	if err := db.CreateSession(ctx, &auth.Session{ID: "s1", UserID: u.ID, Generation: 1, RotatedAt: now, CreatedAt: now, LastUsedAt: now}); err != nil {
		b.Fatalf("CreateSession: %v", err)
	}
	for gen := int64(1); b.Loop(); gen++ {
		if _, _, err := db.RotateSession(ctx, "s1", gen, time.Time{}, now); err != nil {
			b.Fatalf("RotateSession: %v", err)
		}
	}
}

// The writer commits with synchronous=NORMAL (1) by default and FULL (2)
// with SQLiteSyncFull, which --sqlite-sync=full sets.
func TestSQLiteSynchronous(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		full bool
		want string
	}{{false, "1"}, {true, "2"}} {
		db, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "auth.db"), sqlstore.Options{Migrate: true, SQLiteSyncFull: tt.full})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.WriterPragma(t.Context(), "synchronous")
		db.Close()
		if err != nil || got != tt.want {
			t.Errorf("SQLiteSyncFull=%v: synchronous = %q, %v; want %s", tt.full, got, err, tt.want)
		}
	}
}

// BenchmarkRotateSessionConcurrent measures rotations of 32 sessions at
// once, each goroutine keeping its own chain, as the group commit sees them
// under load.
func BenchmarkRotateSessionConcurrent(b *testing.B) {
	ctx := b.Context()
	db, u := newRotationBench(b)
	now := u.CreatedAt
	var next atomic.Int64
	b.SetParallelism(16) // 32 goroutines on 2 CPUs
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprintf("s%d", next.Add(1))
		if err := db.CreateSession(ctx, &auth.Session{ID: id, UserID: u.ID, Generation: 1, RotatedAt: now, CreatedAt: now, LastUsedAt: now}); err != nil {
			b.Errorf("CreateSession: %v", err)
			return
		}
		for gen := int64(1); pb.Next(); gen++ {
			if _, _, err := db.RotateSession(ctx, id, gen, time.Time{}, now); err != nil {
				b.Errorf("RotateSession: %v", err)
				return
			}
		}
	})
}
