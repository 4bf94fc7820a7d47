package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// TestBackupAndRestoreSQLite follows docs/deploy.md: a live SQLite
// database is backed up with VACUUM INTO while the server runs, together
// with its key file; the original is then lost, the copy restored, and the
// server started on it signs in the user saved in the backup, refreshes the
// session saved in it, and knows nothing of the user who signed up after.
func TestBackupAndRestoreSQLite(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live", "authstore.db")
	os.MkdirAll(filepath.Dir(live), 0o700)
	s := startServer(t, nil, "--db", live)

	before := map[string]string{"firstName": "Ada", "lastName": "Lovelace", "login": "ada", "email": "ada@example.com", "password": "correct horse battery"}
	res := s.post(t, "/auth/signup", before)
	res.want(t, 200, "")
	rt := res.str("refresh_token")

	// The backup, taken through the Go SQLite driver while the server
	// writes: one consistent snapshot, as `sqlite3 authstore.db "VACUUM INTO
	// 'backup.db'"` takes it.
	backup := filepath.Join(dir, "backup", "authstore.db")
	os.MkdirAll(filepath.Dir(backup), 0o700)
	db, err := sql.Open("sqlite", live)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), "VACUUM INTO ?", backup); err != nil {
		t.Fatalf("VACUUM INTO: %v", err)
	}
	db.Close()
	key, err := os.ReadFile(live + ".key")
	if err != nil {
		t.Fatalf("the key file beside the database: %v", err)
	}
	if err := os.WriteFile(backup+".key", key, 0o600); err != nil {
		t.Fatal(err)
	}

	after := map[string]string{"firstName": "Bob", "lastName": "Later", "login": "bob", "email": "bob@example.com", "password": "correct horse battery"}
	s.post(t, "/auth/signup", after).want(t, 200, "")
	s.shutdown(t)

	// Lose the original, restore the copy, serve it.
	if err := os.RemoveAll(filepath.Dir(live)); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(dir, "restored", "authstore.db")
	os.MkdirAll(filepath.Dir(restored), 0o700)
	for _, suffix := range []string{"", ".key"} {
		b, err := os.ReadFile(backup + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(restored+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := startServer(t, nil, "--db", restored)
	r.post(t, "/auth/signin", map[string]string{"login": "ada", "password": "correct horse battery"}).want(t, 200, "")
	r.post(t, refreshPath(rt), nil).want(t, 200, "")
	r.post(t, "/auth/signin", map[string]string{"login": "bob", "password": "correct horse battery"}).want(t, 400, "The login or password is incorrect")
}
