package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/bench"
	"github.com/authstore/auth/internal/pgtest"
	"github.com/authstore/auth/sqlstore"
)

// Seeding writes the tables' rows with SQL of its own; these tests read
// them back through the real store and sign in as seeded users through the
// real server, so that the copy cannot drift from the schema silently.

func TestSeedMirrorsStore(t *testing.T) {
	testSeedMirrorsStore(t, filepath.Join(t.TempDir(), "seed.db"))
}

func TestSeedMirrorsStorePostgres(t *testing.T) {
	testSeedMirrorsStore(t, pgtest.DSN(t))
}

func testSeedMirrorsStore(t *testing.T, dsn string) {
	bin := serverBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := make([]byte, 32)
	rand.Read(key)
	env := append(os.Environ(), "AUTHSTORE_SECRET_KEY="+base64.StdEncoding.EncodeToString(key))
	migrate := func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, bin, "migrate", "up", "--db", dsn)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("migrate: %s", out)
		}
		return err
	}

	size, err := seedDatabase(ctx, dsn, seedSize{Users: 40, Sessions: 100}, migrate, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if size.Users != 40 || size.Sessions != 100 || size.Bytes <= 0 {
		t.Fatalf("after seeding 40 users and 100 sessions: %+v", size)
	}
	// Seeding again tops up: 10 more users, 20 more sessions.
	if size, err = seedDatabase(ctx, dsn, seedSize{Users: 50, Sessions: 120}, migrate, io.Discard); err != nil {
		t.Fatal(err)
	}
	if size.Users != 50 || size.Sessions != 120 {
		t.Fatalf("after topping up to 50 users and 120 sessions: %+v", size)
	}

	// The store reads a seeded user as signup would have made it, and
	// rotates its live sessions.
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.UserByLoginKey(ctx, bench.SeedLogin(49)); err != nil {
		t.Errorf("the last seeded user: %v", err)
	}
	login := bench.SeedLogin(7)
	u, err := db.UserByLoginKey(ctx, auth.Fold(login))
	if err != nil {
		t.Fatalf("seeded user %s: %v", login, err)
	}
	if u.Login != login || u.LoginSkeleton != auth.Skeleton(login) || u.Email != bench.SeedEmail(7) ||
		u.EmailKey != auth.Fold(bench.SeedEmail(7)) || !u.EmailVerified() || u.Disabled() {
		t.Errorf("seeded user %s: %+v", login, u)
	}
	loginTaken, emailTaken, err := db.KeysTaken(ctx, u.LoginKey, u.LoginSkeleton, u.EmailKey)
	if err != nil || !loginTaken || !emailTaken {
		t.Errorf("KeysTaken of a seeded user = %v, %v, %v; want true, true, nil", loginTaken, emailTaken, err)
	}
	sessions, err := db.UserSessions(ctx, u.ID)
	if err != nil || len(sessions) == 0 {
		t.Fatalf("sessions of a seeded user: %d, %v", len(sessions), err)
	}
	rotated := 0
	for _, s := range sessions {
		if s.UserID != u.ID || len(s.AMR) != 1 || s.AMR[0] != auth.AMRPassword || s.UserAgent == "" || s.IP == "" {
			t.Errorf("seeded session %+v", s)
		}
		if !s.RevokedAt.IsZero() {
			continue
		}
		userID, _, err := db.RotateSession(ctx, s.ID, s.Generation, time.Now().Add(-720*time.Hour), time.Now())
		if err != nil || userID != u.ID {
			t.Errorf("rotating seeded session %s: %q, %v", s.ID, userID, err)
		}
		rotated++
	}
	if rotated == 0 {
		t.Error("no live seeded session to rotate")
	}
	db.Close()

	// The real server signs the seeded users in, picked at random.
	local, err := bench.StartLocal(ctx, bench.LocalOptions{Command: bin, DB: dsn, Env: env, ServerArgs: []string{"--log-level=warn"}})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	res, err := bench.Run(ctx, bench.Config{URL: local.URL(), Scenario: bench.Signin, Concurrency: 2, Duration: time.Second, SeededUsers: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.Successes == 0 || res.Requests != res.Successes {
		t.Errorf("signing in as seeded users: %d of %d succeeded, errors %v", res.Successes, res.Requests, res.Errors)
	}
}
