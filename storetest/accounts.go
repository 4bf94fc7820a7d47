package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/authstore/auth"
)

func testDuplicateSigningKeySerial(t *testing.T, s auth.Store) {
	ctx := t.Context()
	k := &auth.SigningKey{ID: "k1", Serial: 7, Algorithm: "EdDSA", Private: []byte("p"), Public: []byte("{}"), CreatedAt: at(0), ActivatesAt: at(time.Hour)}
	if err := s.CreateSigningKey(ctx, k); err != nil {
		t.Fatalf("CreateSigningKey: %v", err)
	}
	dup := &auth.SigningKey{ID: "k2", Serial: 7, Algorithm: "ES256", Private: []byte("q"), Public: []byte("{}"), CreatedAt: at(time.Minute), ActivatesAt: at(time.Hour)}
	if err := s.CreateSigningKey(ctx, dup); !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("CreateSigningKey(same serial) error = %v, want ErrDuplicate", err)
	}
	next := &auth.SigningKey{ID: "k3", Serial: 8, Algorithm: "ES256", Private: []byte("r"), Public: []byte("{}"), CreatedAt: at(time.Minute), ActivatesAt: at(time.Hour)}
	if err := s.CreateSigningKey(ctx, next); err != nil {
		t.Fatalf("CreateSigningKey(next serial): %v", err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(keys) != 2 || keys[0].ID != "k1" || keys[1].ID != "k3" {
		t.Errorf("SigningKeys = %+v, want k1 and k3", keys)
	}
}

func mustUser(t *testing.T, s auth.Store, id string) *auth.User {
	t.Helper()
	u, err := s.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("UserByID(%s): %v", id, err)
	}
	return u
}

func testUserDisabled(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	got := mustUser(t, s, u.ID)
	checkUser(t, got, u)
	if got.Disabled() {
		t.Error("Disabled() = true for a new user")
	}

	disabledAt, now := at(24*time.Hour), at(25*time.Hour)
	if err := s.SetUserDisabled(ctx, u.ID, disabledAt, now); err != nil {
		t.Fatalf("SetUserDisabled: %v", err)
	}
	want := *u
	want.DisabledAt, want.UpdatedAt = disabledAt, now
	got = mustUser(t, s, u.ID)
	checkUser(t, got, &want)
	if !got.Disabled() {
		t.Error("Disabled() = false after SetUserDisabled")
	}
	byLogin, err := s.UserByLoginKey(ctx, u.LoginKey)
	if err != nil {
		t.Fatalf("UserByLoginKey: %v", err)
	}
	checkUser(t, byLogin, &want)
	checkUser(t, mustUser(t, s, other.ID), other)

	now = at(26 * time.Hour)
	if err := s.SetUserDisabled(ctx, u.ID, time.Time{}, now); err != nil {
		t.Fatalf("SetUserDisabled(enable): %v", err)
	}
	want.DisabledAt, want.UpdatedAt = time.Time{}, now
	got = mustUser(t, s, u.ID)
	checkUser(t, got, &want)
	if got.Disabled() {
		t.Error("Disabled() = true after enabling")
	}

	if err := s.SetUserDisabled(ctx, newUser(3).ID, disabledAt, now); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SetUserDisabled(unknown) error = %v, want ErrNotFound", err)
	}
}

func testCreateDisabledUser(t *testing.T, s auth.Store) {
	u := newUser(1)
	u.DisabledAt = at(time.Hour)
	mustCreateUser(t, s, u)
	checkUser(t, mustUser(t, s, u.ID), u)
}

func testUsers(t *testing.T, s auth.Store) {
	ctx := t.Context()
	var users []*auth.User
	for n := range 5 {
		users = append(users, newUser(n+1))
	}
	// Inserted out of ID order.
	for _, i := range []int{3, 0, 4, 2, 1} {
		mustCreateUser(t, s, users[i])
	}
	if err := s.SetUserDisabled(ctx, users[1].ID, at(time.Hour), at(time.Hour)); err != nil {
		t.Fatalf("SetUserDisabled: %v", err)
	}
	users[1].DisabledAt, users[1].UpdatedAt = at(time.Hour), at(time.Hour)

	tests := []struct {
		name  string
		after string
		limit int
		want  []*auth.User
	}{
		{"first page", "", 2, users[0:2]},
		{"second page", users[1].ID, 2, users[2:4]},
		{"last page", users[3].ID, 2, users[4:5]},
		{"past the end", users[4].ID, 2, nil},
		{"all", "", 100, users},
		{"after an absent id", users[2].ID + "x", 100, users[3:]},
		{"zero limit", "", 0, nil},
		{"negative limit", "", -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Users(t.Context(), tt.after, tt.limit)
			if err != nil {
				t.Fatalf("Users(%q, %d): %v", tt.after, tt.limit, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Users(%q, %d) = %d users, want %d", tt.after, tt.limit, len(got), len(tt.want))
			}
			for i := range got {
				checkUser(t, &got[i], tt.want[i])
			}
		})
	}
}

// createSessionAt creates session n of userID, created at created and last
// used at lastUsed, revoked at revoked unless that is zero.
func createSessionAt(t *testing.T, s auth.Store, n int, userID string, created, lastUsed, revoked time.Time) *auth.Session {
	t.Helper()
	sess := newSession(n, userID)
	sess.CreatedAt, sess.RotatedAt, sess.LastUsedAt, sess.RevokedAt = created, created, lastUsed, revoked
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession(%d): %v", n, err)
	}
	return sess
}

func checkSessionGone(t *testing.T, s auth.Store, id string) {
	t.Helper()
	if _, err := s.Session(t.Context(), id); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Session(%s) error = %v, want ErrNotFound", id, err)
	}
}

func mustAddFailure(t *testing.T, s auth.Store, key string, when time.Time) auth.LoginFailures {
	t.Helper()
	f, err := s.AddLoginFailure(t.Context(), key, when, time.Time{})
	if err != nil {
		t.Fatalf("AddLoginFailure(%s): %v", key, err)
	}
	return f
}

func checkFailures(t *testing.T, s auth.Store, key string, wantCount int64, wantLast time.Time) {
	t.Helper()
	f, err := s.LoginFailures(t.Context(), key)
	if err != nil {
		t.Fatalf("LoginFailures(%s): %v", key, err)
	}
	if f.Count != wantCount || !sameTime(f.Last, wantLast) || f.Last.IsZero() != wantLast.IsZero() {
		t.Errorf("LoginFailures(%s) = %+v, want {Count:%d Last:%v}", key, f, wantCount, wantLast)
	}
}

func testDeleteUser(t *testing.T, s auth.Store) {
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

func testUserSessions(t *testing.T, s auth.Store) {
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

func testRevokeUserSessions(t *testing.T, s auth.Store) {
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

func testDeleteSessions(t *testing.T, s auth.Store) {
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

func testLoginFailures(t *testing.T, s auth.Store) {
	ctx := t.Context()
	checkFailures(t, s, "ada", 0, time.Time{})
	steps := []struct {
		at        time.Time
		wantCount int64
		wantLast  time.Time
	}{
		{at(time.Hour), 1, at(time.Hour)},
		{at(2 * time.Hour), 2, at(2 * time.Hour)},
		{at(90 * time.Minute), 3, at(2 * time.Hour)}, // Last stays the latest
	}
	for _, st := range steps {
		f := mustAddFailure(t, s, "ada", st.at)
		if f.Count != st.wantCount || !sameTime(f.Last, st.wantLast) {
			t.Errorf("AddLoginFailure(at %v) = %+v, want {Count:%d Last:%v}", st.at, f, st.wantCount, st.wantLast)
		}
	}
	checkFailures(t, s, "ada", 3, at(2*time.Hour))
	// Keys are exact and independent, whether or not a user holds them.
	checkFailures(t, s, "Ada", 0, time.Time{})
	mustAddFailure(t, s, "bob", at(time.Hour))

	if err := s.ClearLoginFailures(ctx, "ada"); err != nil {
		t.Fatalf("ClearLoginFailures: %v", err)
	}
	checkFailures(t, s, "ada", 0, time.Time{})
	checkFailures(t, s, "bob", 1, at(time.Hour))
	if err := s.ClearLoginFailures(ctx, "ada"); err != nil {
		t.Errorf("ClearLoginFailures(none): %v", err)
	}
	if f := mustAddFailure(t, s, "ada", at(3*time.Hour)); f.Count != 1 || !sameTime(f.Last, at(3*time.Hour)) {
		t.Errorf("AddLoginFailure after clear = %+v, want {Count:1 Last:%v}", f, at(3*time.Hour))
	}
}

func testDeleteLoginFailures(t *testing.T, s auth.Store) {
	ctx := t.Context()
	mustAddFailure(t, s, "old", at(time.Hour))
	mustAddFailure(t, s, "old", at(2*time.Hour))
	mustAddFailure(t, s, "edge", at(3*time.Hour))
	mustAddFailure(t, s, "new", at(4*time.Hour))

	n, err := s.DeleteLoginFailures(ctx, time.Time{})
	if err != nil || n != 0 {
		t.Errorf("DeleteLoginFailures(zero) = %d, %v, want 0, nil", n, err)
	}
	n, err = s.DeleteLoginFailures(ctx, at(3*time.Hour))
	if err != nil {
		t.Fatalf("DeleteLoginFailures: %v", err)
	}
	if n != 1 {
		t.Errorf("DeleteLoginFailures = %d, want 1", n)
	}
	checkFailures(t, s, "old", 0, time.Time{})
	checkFailures(t, s, "edge", 1, at(3*time.Hour))
	checkFailures(t, s, "new", 1, at(4*time.Hour))
}

func testConcurrentAddLoginFailure(t *testing.T, s auth.Store) {
	const n = 50
	counts := make([]int64, n)
	errs := concurrently(n, func(i int) error {
		f, err := s.AddLoginFailure(t.Context(), "ada", at(time.Duration(i)*time.Second), time.Time{})
		counts[i] = f.Count
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("AddLoginFailure %d: %v", i, err)
		}
	}
	// Each call saw its own count: 1 to n, each once.
	seen := make(map[int64]bool, n)
	for _, c := range counts {
		if c < 1 || c > n || seen[c] {
			t.Errorf("AddLoginFailure counts = %v, want 1 to %d each once", counts, n)
			break
		}
		seen[c] = true
	}
	checkFailures(t, s, "ada", n, at((n-1)*time.Second))
}

// A record whose last failure is before forgetBefore starts over, in the
// same statement, so a concurrent failure is never lost to a separate delete.
func testAddLoginFailureForgets(t *testing.T, s auth.Store) {
	mustAddFailure(t, s, "ada", at(time.Hour))
	mustAddFailure(t, s, "ada", at(2*time.Hour))
	f, err := s.AddLoginFailure(t.Context(), "ada", at(3*time.Hour), at(2*time.Hour))
	if err != nil || f.Count != 3 {
		t.Fatalf("AddLoginFailure(last failure at the bound) = %+v, %v; want count 3", f, err)
	}
	f, err = s.AddLoginFailure(t.Context(), "ada", at(30*time.Hour), at(3*time.Hour+time.Millisecond))
	if err != nil || f.Count != 1 || !sameTime(f.Last, at(30*time.Hour)) {
		t.Fatalf("AddLoginFailure(last failure before the bound) = %+v, %v; want count 1 at %v", f, err, at(30*time.Hour))
	}
	checkFailures(t, s, "ada", 1, at(30*time.Hour))
}

// A purge larger than any one statement of it still deletes every match,
// and only matches.
func testDeleteSessionsMany(t *testing.T, s auth.Store) {
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
