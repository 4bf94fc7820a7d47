package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// sessionStore is what the session subtests need: sessions belong to users.
type sessionStore interface {
	auth.UserStore
	auth.SessionStore
}

// sessionTests are the subtests of auth.SessionStore, and of
// auth.UserStore's DeleteUser, which deletes the user's sessions too.
func sessionTests() []subtest[sessionStore] {
	return []subtest[sessionStore]{
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionNotFound", testSessionNotFound},
		{"RotateSession", testRotateSession},
		{"RotateSessionWrongGeneration", testRotateSessionWrongGeneration},
		{"RotateSessionExpired", testRotateSessionExpired},
		{"RotateSessionRevoked", testRotateSessionRevoked},
		{"RotateSessionDisabledUser", testRotateSessionDisabledUser},
		{"RotateSessionMissing", testRotateSessionMissing},
		{"RevokeSessionKeepsFirstTime", testRevokeSession},
		{"DeleteUser", testDeleteUser},
		{"UserSessions", testUserSessions},
		{"RevokeUserSessions", testRevokeUserSessions},
		{"DeleteSessions", testDeleteSessions},
		{"DeleteSessionsMany", testDeleteSessionsMany},
		{"ConcurrentRotateSameGeneration", testConcurrentRotateSameGeneration},
		{"ConcurrentRotateChains", testConcurrentRotateChains},
	}
}

// mustCreateSession creates user n and a session n of it.
func mustCreateSession(t *testing.T, s sessionStore, n int) *auth.Session {
	t.Helper()
	u := newUser(n)
	mustCreateUser(t, s, u)
	sess := newSession(n, u.ID)
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess
}

func mustSession(t *testing.T, s auth.SessionStore, id string) *auth.Session {
	t.Helper()
	got, err := s.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session(%s): %v", id, err)
	}
	return got
}

// createSessionAt creates session n of userID, created at created and last
// used at lastUsed, revoked at revoked unless that is zero.
func createSessionAt(t *testing.T, s auth.SessionStore, n int, userID string, created, lastUsed, revoked time.Time) *auth.Session {
	t.Helper()
	sess := newSession(n, userID)
	sess.CreatedAt, sess.RotatedAt, sess.LastUsedAt, sess.RevokedAt = created, created, lastUsed, revoked
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession(%d): %v", n, err)
	}
	return sess
}

func checkSessionGone(t *testing.T, s auth.SessionStore, id string) {
	t.Helper()
	if _, err := s.Session(t.Context(), id); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Session(%s) error = %v, want ErrNotFound", id, err)
	}
}

func testSessionRoundTrip(t *testing.T, s sessionStore) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	live := newSession(1, u.ID)
	revoked := newSession(2, u.ID)
	revoked.Generation = 7
	revoked.RevokedAt = at(2 * time.Hour)
	empty := newSession(3, u.ID)
	empty.UserAgent, empty.IP = "", ""
	for _, want := range []*auth.Session{live, revoked, empty} {
		if err := s.CreateSession(t.Context(), want); err != nil {
			t.Fatalf("CreateSession(%s): %v", want.ID, err)
		}
	}
	for _, want := range []*auth.Session{live, revoked, empty} {
		got := mustSession(t, s, want.ID)
		checkSession(t, got, want)
		if got.Revoked() != want.Revoked() {
			t.Errorf("session %s Revoked() = %v, want %v", want.ID, got.Revoked(), want.Revoked())
		}
	}
}

func testSessionNotFound(t *testing.T, s sessionStore) {
	mustCreateSession(t, s, 1)
	if _, err := s.Session(t.Context(), newSession(2, "").ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Session(unknown) error = %v, want ErrNotFound", err)
	}
}

func testRotateSession(t *testing.T, s sessionStore) {
	sess := mustCreateSession(t, s, 1)
	when := at(3 * time.Hour)
	if uid, amr, err := s.RotateSession(t.Context(), sess.ID, 1, time.Time{}, when); err != nil || uid != sess.UserID || !slices.Equal(amr, sess.AMR) {
		t.Fatalf("RotateSession = %q, %q, %v; want the session's user %q and AMR %q", uid, amr, err, sess.UserID, sess.AMR)
	}
	want := *sess
	want.Generation, want.RotatedAt, want.LastUsedAt = 2, when, when
	checkSession(t, mustSession(t, s, sess.ID), &want)

	when = at(4 * time.Hour)
	if _, _, err := s.RotateSession(t.Context(), sess.ID, 2, time.Time{}, when); err != nil {
		t.Fatalf("RotateSession(2): %v", err)
	}
	want.Generation, want.RotatedAt, want.LastUsedAt = 3, when, when
	checkSession(t, mustSession(t, s, sess.ID), &want)
}

// A session whose current generation was issued at or before issuedAfter
// is not rotated: its refresh token has expired.
func testRotateSessionExpired(t *testing.T, s sessionStore) {
	sess := mustCreateSession(t, s, 1) // rotated at at(0)
	if _, _, err := s.RotateSession(t.Context(), sess.ID, 1, sess.RotatedAt, at(3*time.Hour)); !errors.Is(err, auth.ErrStale) {
		t.Errorf("RotateSession(issued at the bound) error = %v, want ErrStale", err)
	}
	checkSession(t, mustSession(t, s, sess.ID), sess)
	if _, _, err := s.RotateSession(t.Context(), sess.ID, 1, sess.RotatedAt.Add(-time.Millisecond), at(3*time.Hour)); err != nil {
		t.Errorf("RotateSession(issued just after the bound): %v", err)
	}
}

func testRotateSessionWrongGeneration(t *testing.T, s sessionStore) {
	sess := mustCreateSession(t, s, 1)
	for _, from := range []int64{0, 2, -1} {
		_, _, err := s.RotateSession(t.Context(), sess.ID, from, time.Time{}, at(3*time.Hour))
		if !errors.Is(err, auth.ErrStale) {
			t.Errorf("RotateSession(from %d) error = %v, want ErrStale", from, err)
		}
	}
	checkSession(t, mustSession(t, s, sess.ID), sess)
}

func testRotateSessionRevoked(t *testing.T, s sessionStore) {
	sess := mustCreateSession(t, s, 1)
	revokedAt := at(2 * time.Hour)
	if err := s.RevokeSession(t.Context(), sess.ID, revokedAt); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	_, _, err := s.RotateSession(t.Context(), sess.ID, 1, time.Time{}, at(3*time.Hour))
	if !errors.Is(err, auth.ErrStale) {
		t.Errorf("RotateSession(revoked) error = %v, want ErrStale", err)
	}
	want := *sess
	want.RevokedAt = revokedAt
	checkSession(t, mustSession(t, s, sess.ID), &want)
}

// The session of a disabled user does not rotate, whatever its token; once
// the user is enabled again it does.
func testRotateSessionDisabledUser(t *testing.T, s sessionStore) {
	sess := mustCreateSession(t, s, 1)
	if err := s.SetUserDisabled(t.Context(), sess.UserID, at(2*time.Hour), at(2*time.Hour)); err != nil {
		t.Fatalf("SetUserDisabled: %v", err)
	}
	_, _, err := s.RotateSession(t.Context(), sess.ID, 1, time.Time{}, at(3*time.Hour))
	if !errors.Is(err, auth.ErrStale) {
		t.Errorf("RotateSession(disabled user) error = %v, want ErrStale", err)
	}
	checkSession(t, mustSession(t, s, sess.ID), sess)
	if err := s.SetUserDisabled(t.Context(), sess.UserID, time.Time{}, at(4*time.Hour)); err != nil {
		t.Fatalf("SetUserDisabled(enable): %v", err)
	}
	if _, _, err := s.RotateSession(t.Context(), sess.ID, 1, time.Time{}, at(5*time.Hour)); err != nil {
		t.Errorf("RotateSession(enabled again): %v", err)
	}
}

// A missing session is stale like any other that cannot rotate: the store
// does not read again to tell them apart, the caller does.
func testRotateSessionMissing(t *testing.T, s sessionStore) {
	mustCreateSession(t, s, 1)
	_, _, err := s.RotateSession(t.Context(), newSession(2, "").ID, 1, time.Time{}, at(3*time.Hour))
	if !errors.Is(err, auth.ErrStale) {
		t.Errorf("RotateSession(unknown) error = %v, want ErrStale", err)
	}
}

func testRevokeSession(t *testing.T, s sessionStore) {
	ctx := t.Context()
	sess := mustCreateSession(t, s, 1)
	other := newSession(2, sess.UserID)
	if err := s.CreateSession(ctx, other); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	first := at(2 * time.Hour)
	if err := s.RevokeSession(ctx, sess.ID, first); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	if err := s.RevokeSession(ctx, sess.ID, at(3*time.Hour)); err != nil {
		t.Fatalf("RevokeSession(again): %v", err)
	}
	want := *sess
	want.RevokedAt = first
	got := mustSession(t, s, sess.ID)
	checkSession(t, got, &want)
	if !got.Revoked() {
		t.Error("Revoked() = false after RevokeSession")
	}
	checkSession(t, mustSession(t, s, other.ID), other)

	if err := s.RevokeSession(ctx, newSession(3, "").ID, first); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RevokeSession(unknown) error = %v, want ErrNotFound", err)
	}
}

func testDeleteUser(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	s1 := createSessionAt(t, s, 1, u.ID, at(time.Hour), at(time.Hour), time.Time{})
	s2 := createSessionAt(t, s, 2, u.ID, at(2*time.Hour), at(2*time.Hour), at(3*time.Hour))
	s3 := createSessionAt(t, s, 3, other.ID, at(time.Hour), at(time.Hour), time.Time{})
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByID(deleted) error = %v, want ErrNotFound", err)
	}
	login, email, err := s.KeysTaken(ctx, u.LoginKey, u.LoginSkeleton, u.EmailKey)
	if err != nil || login || email {
		t.Errorf("KeysTaken(deleted user's keys) = %v, %v, %v, want false, false, nil", login, email, err)
	}
	checkSessionGone(t, s, s1.ID)
	checkSessionGone(t, s, s2.ID)

	checkUser(t, mustUser(t, s, other.ID), other)
	checkSession(t, mustSession(t, s, s3.ID), s3)

	if err := s.DeleteUser(ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeleteUser(again) error = %v, want ErrNotFound", err)
	}
	// The keys are free again.
	mustCreateUser(t, s, u)
}

func testUserSessions(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	// Sessions 3 and 4 tie on CreatedAt; 2 is revoked.
	oldest := createSessionAt(t, s, 1, u.ID, at(time.Hour), at(5*time.Hour), time.Time{})
	revoked := createSessionAt(t, s, 2, u.ID, at(2*time.Hour), at(2*time.Hour), at(4*time.Hour))
	tieA := createSessionAt(t, s, 4, u.ID, at(3*time.Hour), at(3*time.Hour), time.Time{})
	tieB := createSessionAt(t, s, 3, u.ID, at(3*time.Hour), at(3*time.Hour), time.Time{})
	createSessionAt(t, s, 5, other.ID, at(4*time.Hour), at(4*time.Hour), time.Time{})

	got, err := s.UserSessions(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	// IDs end in the session number, so tieB (3) sorts before tieA (4).
	want := []*auth.Session{tieB, tieA, revoked, oldest}
	if len(got) != len(want) {
		t.Fatalf("UserSessions = %d sessions, want %d", len(got), len(want))
	}
	for i := range want {
		checkSession(t, &got[i], want[i])
	}

	none, err := s.UserSessions(ctx, newUser(3).ID)
	if err != nil || len(none) != 0 {
		t.Errorf("UserSessions(unknown user) = %d sessions, %v, want none", len(none), err)
	}
}

func testRevokeUserSessions(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	current := createSessionAt(t, s, 1, u.ID, at(time.Hour), at(time.Hour), time.Time{})
	live := createSessionAt(t, s, 2, u.ID, at(time.Hour), at(time.Hour), time.Time{})
	gone := createSessionAt(t, s, 3, u.ID, at(time.Hour), at(time.Hour), at(2*time.Hour))
	foreign := createSessionAt(t, s, 4, other.ID, at(time.Hour), at(time.Hour), time.Time{})

	n, err := s.RevokeUserSessions(ctx, u.ID, current.ID, at(3*time.Hour))
	if err != nil {
		t.Fatalf("RevokeUserSessions(except current): %v", err)
	}
	if n != 1 {
		t.Errorf("RevokeUserSessions(except current) = %d, want 1", n)
	}
	checkSession(t, mustSession(t, s, current.ID), current)
	wantLive := *live
	wantLive.RevokedAt = at(3 * time.Hour)
	checkSession(t, mustSession(t, s, live.ID), &wantLive)
	checkSession(t, mustSession(t, s, gone.ID), gone)
	checkSession(t, mustSession(t, s, foreign.ID), foreign)

	n, err = s.RevokeUserSessions(ctx, u.ID, "", at(4*time.Hour))
	if err != nil {
		t.Fatalf("RevokeUserSessions(all): %v", err)
	}
	if n != 1 {
		t.Errorf("RevokeUserSessions(all) = %d, want 1", n)
	}
	wantCurrent := *current
	wantCurrent.RevokedAt = at(4 * time.Hour)
	checkSession(t, mustSession(t, s, current.ID), &wantCurrent)
	checkSession(t, mustSession(t, s, live.ID), &wantLive)
	checkSession(t, mustSession(t, s, gone.ID), gone)
	checkSession(t, mustSession(t, s, foreign.ID), foreign)

	n, err = s.RevokeUserSessions(ctx, u.ID, "", at(5*time.Hour))
	if err != nil || n != 0 {
		t.Errorf("RevokeUserSessions(none live) = %d, %v, want 0, nil", n, err)
	}
	n, err = s.RevokeUserSessions(ctx, newUser(3).ID, "", at(5*time.Hour))
	if err != nil || n != 0 {
		t.Errorf("RevokeUserSessions(unknown user) = %d, %v, want 0, nil", n, err)
	}
}

func testDeleteSessions(t *testing.T, s sessionStore) {
	ctx := t.Context()
	u := newUser(1)
	mustCreateUser(t, s, u)
	revokedBefore, unusedBefore := at(10*time.Hour), at(5*time.Hour)
	recent := at(20 * time.Hour)
	var (
		keep []*auth.Session
		drop []*auth.Session
	)
	for i, c := range []struct {
		lastUsed, revoked time.Time
		deleted           bool
	}{
		{recent, revokedBefore.Add(-time.Millisecond), true},     // revoked long ago
		{recent, revokedBefore, false},                           // revoked at the cutoff
		{recent, revokedBefore.Add(time.Millisecond), false},     // revoked recently
		{unusedBefore.Add(-time.Millisecond), time.Time{}, true}, // live, unused long
		{unusedBefore, time.Time{}, false},                       // live, used at the cutoff
		{recent, time.Time{}, false},                             // live, used recently
	} {
		sess := createSessionAt(t, s, i+1, u.ID, at(0), c.lastUsed, c.revoked)
		if c.deleted {
			drop = append(drop, sess)
		} else {
			keep = append(keep, sess)
		}
	}

	n, err := s.DeleteSessions(ctx, time.Time{}, time.Time{})
	if err != nil || n != 0 {
		t.Errorf("DeleteSessions(zero cutoffs) = %d, %v, want 0, nil", n, err)
	}
	n, err = s.DeleteSessions(ctx, revokedBefore, unusedBefore)
	if err != nil {
		t.Fatalf("DeleteSessions: %v", err)
	}
	if n != int64(len(drop)) {
		t.Errorf("DeleteSessions = %d, want %d", n, len(drop))
	}
	for _, sess := range drop {
		checkSessionGone(t, s, sess.ID)
	}
	for _, sess := range keep {
		checkSession(t, mustSession(t, s, sess.ID), sess)
	}
	checkUser(t, mustUser(t, s, u.ID), u)
}

// A purge larger than any one statement of it still deletes every match,
// and only matches.
func testDeleteSessionsMany(t *testing.T, s sessionStore) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	const old = 1201 // past two chunks of 500 in sqlstore
	for n := 1; n <= old; n++ {
		createSessionAt(t, s, n, u.ID, at(time.Hour), at(time.Hour), time.Time{})
	}
	keep := createSessionAt(t, s, old+1, u.ID, at(3*time.Hour), at(3*time.Hour), time.Time{})
	n, err := s.DeleteSessions(t.Context(), time.Time{}, at(2*time.Hour))
	if err != nil || n != old {
		t.Fatalf("DeleteSessions = %d, %v; want %d", n, err, old)
	}
	list, err := s.UserSessions(t.Context(), u.ID)
	if err != nil || len(list) != 1 || list[0].ID != keep.ID {
		t.Fatalf("left %d sessions (%v), want only the recent one", len(list), err)
	}
}

func testConcurrentRotateSameGeneration(t *testing.T, s sessionStore) {
	sess := mustCreateSession(t, s, 1)
	errs := concurrently(50, func(i int) error {
		_, _, err := s.RotateSession(t.Context(), sess.ID, 1, time.Time{}, at(time.Duration(i)*time.Second))
		return err
	})
	checkOneWinner(t, errs, auth.ErrStale)
	if got := mustSession(t, s, sess.ID).Generation; got != 2 {
		t.Errorf("Generation = %d, want 2", got)
	}
}

func testConcurrentRotateChains(t *testing.T, s sessionStore) {
	const (
		workers = 20
		rounds  = 10
	)
	sess := mustCreateSession(t, s, 1)
	wins := make([]int64, workers)
	errs := concurrently(workers, func(w int) error {
		for r := range rounds {
			cur, err := s.Session(t.Context(), sess.ID)
			if err != nil {
				return err
			}
			_, _, err = s.RotateSession(t.Context(), sess.ID, cur.Generation, time.Time{}, at(time.Duration(w*rounds+r)*time.Millisecond))
			switch {
			case err == nil:
				wins[w]++
			case !errors.Is(err, auth.ErrStale):
				return err
			}
		}
		return nil
	})
	var total int64
	for w, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", w, err)
		}
		total += wins[w]
	}
	if total == 0 {
		t.Error("no rotation succeeded")
	}
	if got := mustSession(t, s, sess.ID).Generation; got != 1+total {
		t.Errorf("Generation = %d, want 1 + %d successful rotations", got, total)
	}
}
