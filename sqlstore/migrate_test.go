package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/sqlstore"
)

// latestVersion is the version of the newest migration.
const latestVersion = 9

// migration is one migration a fresh database gets.
type migration struct {
	version int64
	name    string
}

// wantMigrations lists every migration, by version.
func wantMigrations() []migration {
	return []migration{
		{1, "00001_init.sql"}, {2, "00002_accounts.sql"}, {3, "00003_key_removal.sql"}, {4, "00004_login_skeleton.sql"},
		{5, "00005_rekey_users.go"}, {6, "00006_account_mail.sql"},
		{7, "00007_second_factors.sql"}, {8, "00008_passkeys.sql"}, {latestVersion, "00009_users_by_creation.sql"},
	}
}

func TestSQLiteConcurrentMigrate(t *testing.T) {
	t.Parallel()
	testConcurrentMigrate(t, filepath.Join(t.TempDir(), "auth.db"))
}

func TestSQLiteUpgradeFromInit(t *testing.T) {
	t.Parallel()
	testUpgradeFromInit(t, filepath.Join(t.TempDir(), "auth.db"))
}

func TestSQLiteMigrationStatus(t *testing.T) {
	t.Parallel()
	testMigrationStatus(t, filepath.Join(t.TempDir(), "auth.db"), "sqlite")
}

func TestMemoryMigrationStatus(t *testing.T) {
	t.Parallel()
	testMigrationStatus(t, ":memory:", "sqlite")
}

// testConcurrentMigrate opens the fresh database dsn several times at once,
// each Open migrating it, as instances starting together do.
func testConcurrentMigrate(t *testing.T, dsn string) {
	const n = 4
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		dbs   = make([]*sqlstore.DB, n)
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = sqlstore.Open(t.Context(), dsn, sqlstore.Options{Migrate: true})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	if t.Failed() {
		return
	}
	status, err := dbs[0].MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if len(status) != len(wantMigrations()) {
		t.Fatalf("MigrationStatus = %d migrations, want %d", len(status), len(wantMigrations()))
	}
	for _, m := range status {
		if !m.Applied {
			t.Errorf("migration %d (%s) not applied", m.Version, m.Name)
		}
	}
	// Every instance works on the one schema.
	for i, db := range dbs {
		u := testUser()
		u.ID, u.LoginKey, u.EmailKey = u.ID[:len(u.ID)-1]+string(rune('a'+i)), u.LoginKey+string(rune('a'+i)), string(rune('a'+i))+u.EmailKey
		u.LoginSkeleton = u.LoginKey
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Errorf("CreateUser through instance %d: %v", i, err)
		}
	}
}

// testUpgradeFromInit migrates a database holding data of the first schema
// to the latest one.
func testUpgradeFromInit(t *testing.T, dsn string) {
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateTo(ctx, 1); err != nil {
		t.Fatalf("MigrateTo(1): %v", err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	old := []struct {
		id      string
		created time.Time
	}{
		{"k-b", created.Add(time.Hour)},
		{"k-c", created},
		{"k-a", created.Add(time.Hour)}, // ties with k-b: id order decides
	}
	for _, k := range old {
		_, err := db.Exec(ctx, `INSERT INTO signing_keys (id, algorithm, private, public, created_at) VALUES (?, ?, ?, ?, ?)`,
			k.id, "EdDSA", []byte("sealed "+k.id), []byte("{}"), k.created.UnixMilli())
		if err != nil {
			t.Fatalf("insert old key %s: %v", k.id, err)
		}
	}
	u := testUser()
	_, err = db.Exec(ctx, `INSERT INTO users (id, first_name, last_name, login, login_key, email, email_key, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.FirstName, u.LastName, u.Login, u.LoginKey, u.Email, u.EmailKey, u.PasswordHash,
		u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli())
	if err != nil {
		t.Fatalf("insert old user: %v", err)
	}

	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	wantApplied := wantMigrations()[1:]
	if len(applied) != len(wantApplied) {
		t.Errorf("Migrate applied %+v, want versions 2 to %d", applied, latestVersion)
	}
	for i, m := range applied {
		if i >= len(wantApplied) || m.Version != wantApplied[i].version || !m.Applied || m.AppliedAt.IsZero() {
			t.Errorf("Migrate applied %+v, want the next version with its time", m)
		}
	}

	keys, err := db.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	want := []struct {
		id      string
		created time.Time
	}{{"k-c", created}, {"k-a", created.Add(time.Hour)}, {"k-b", created.Add(time.Hour)}}
	if len(keys) != len(want) {
		t.Fatalf("SigningKeys = %d keys, want %d", len(keys), len(want))
	}
	for i, w := range want {
		k := keys[i]
		if k.ID != w.id || k.Serial != int64(i+1) || !k.CreatedAt.Equal(w.created) || !k.ActivatesAt.Equal(w.created) ||
			string(k.Private) != "sealed "+w.id {
			t.Errorf("key %d = {%s #%d created %v activates %v}, want {%s #%d created and activates %v}",
				i, k.ID, k.Serial, k.CreatedAt, k.ActivatesAt, w.id, i+1, w.created)
		}
	}
	got, err := db.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if got.Disabled() || got.LoginKey != u.LoginKey {
		t.Errorf("user after upgrade = %+v, want enabled %s", got, u.LoginKey)
	}
	// Nothing checked addresses before migration 6: existing users count
	// as verified from their creation.
	if !got.EmailVerifiedAt.Equal(u.CreatedAt.Truncate(time.Millisecond)) {
		t.Errorf("EmailVerifiedAt after upgrade = %v, want the creation time %v", got.EmailVerifiedAt, u.CreatedAt)
	}
	// The new serial is unique from the start.
	dup := &auth.SigningKey{ID: "k-d", Serial: 3, Algorithm: "EdDSA", Private: []byte("p"), Public: []byte("{}"), CreatedAt: created, ActivatesAt: created}
	if err := db.CreateSigningKey(ctx, dup); !errors.Is(err, auth.ErrDuplicate) {
		t.Errorf("CreateSigningKey(serial 3 after upgrade) error = %v, want ErrDuplicate", err)
	}
}

// testMigrationStatus checks the status of dsn's fresh database before and
// after Migrate.
func testMigrationStatus(t *testing.T, dsn, dialect string) {
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if got := db.Dialect(); got != dialect {
		t.Errorf("Dialect() = %q, want %q", got, dialect)
	}
	want := wantMigrations()
	check := func(status []sqlstore.Migration, applied bool) {
		t.Helper()
		if len(status) != len(want) {
			t.Fatalf("MigrationStatus = %+v, want %d migrations", status, len(want))
		}
		for i, m := range status {
			if m.Version != want[i].version || m.Name != want[i].name || m.Applied != applied || m.AppliedAt.IsZero() == applied {
				t.Errorf("migration %d = %+v, want version %d %s applied=%v", i, m, want[i].version, want[i].name, applied)
			}
		}
	}
	status, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("MigrationStatus before Migrate: %v", err)
	}
	check(status, false)

	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	check(applied, true)
	status, err = db.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("MigrationStatus after Migrate: %v", err)
	}
	check(status, true)
	for i := range status {
		if !status[i].AppliedAt.Equal(applied[i].AppliedAt) {
			t.Errorf("migration %d applied at %v by status, %v by Migrate", status[i].Version, status[i].AppliedAt, applied[i].AppliedAt)
		}
	}
}

func TestSQLiteCallTimeout(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "auth.db")
	holder := open(t, path)
	db, err := sqlstore.Open(t.Context(), path, sqlstore.Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	// Another connection holds the write lock: this store's writer waits
	// for it and runs out of its call timeout.
	release := holdWriteLock(t, holder)
	defer release()
	err = db.CreateUser(t.Context(), testUser())
	if !auth.IsKind(err, auth.KindUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CreateUser past the timeout error = %v, want KindUnavailable wrapping DeadlineExceeded", err)
	}
	// A caller's own deadline is not an outage.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	slow, err := sqlstore.Open(t.Context(), path, sqlstore.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer slow.Close()
	err = slow.CreateUser(ctx, testUser())
	if auth.IsKind(err, auth.KindUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CreateUser past the caller's deadline error = %v, want a plain DeadlineExceeded", err)
	}
}

// holdWriteLock takes the write lock of db's SQLite file until release.
func holdWriteLock(t *testing.T, db *sqlstore.DB) (release func()) {
	t.Helper()
	tx, err := db.BeginWrite(t.Context())
	if err != nil {
		t.Fatalf("BeginWrite: %v", err)
	}
	return func() { tx.Rollback() }
}
