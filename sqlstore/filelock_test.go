//go:build linux

package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/authstore/auth/sqlstore"
)

// TestSQLiteMigrationWaitsForLock holds the migration lock of a file as
// another process would, and checks that Open with Migrate waits for it.
func TestSQLiteMigrationWaitsForLock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "auth.db")
	f, err := os.OpenFile(path+".migrate-lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatalf("create lock file: %v", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("flock: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if db, err := sqlstore.Open(ctx, path, sqlstore.Options{Migrate: true}); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("Open while another process migrates: error = %v, want DeadlineExceeded", err)
	}

	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	db := open(t, path)
	if err := db.CreateUser(t.Context(), testUser()); err != nil {
		t.Errorf("CreateUser after the lock was released: %v", err)
	}
}
