// Package storetest is the conformance suite of auth.Store: every
// implementation's tests call Run, so all of them keep one contract.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// Run runs the conformance suite against stores made by newStore, one store
// per subtest; subtests run in parallel.
//
// newStore must return an empty, ready (migrated) store and arrange for it to
// be closed, typically with t.Cleanup.
//
// Times are compared after Truncate(time.Millisecond): a Store must keep at
// least millisecond precision and may drop the rest by truncation.
func Run(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s auth.Store)
	}{
		{"CreateUserAndLookup", testCreateUserAndLookup},
		{"CreateUserWithSession", testCreateUserWithSession},
		{"UserNotFound", testUserNotFound},
		{"KeysTaken", testKeysTaken},
		{"DuplicateLoginKey", testDuplicateLoginKey},
		{"DuplicateLoginSkeleton", testDuplicateLoginSkeleton},
		{"DuplicateEmailKey", testDuplicateEmailKey},
		{"SetPasswordHash", testSetPasswordHash},
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionNotFound", testSessionNotFound},
		{"RotateSession", testRotateSession},
		{"RotateSessionWrongGeneration", testRotateSessionWrongGeneration},
		{"RotateSessionExpired", testRotateSessionExpired},
		{"RotateSessionRevoked", testRotateSessionRevoked},
		{"RotateSessionDisabledUser", testRotateSessionDisabledUser},
		{"RotateSessionMissing", testRotateSessionMissing},
		{"RevokeSessionKeepsFirstTime", testRevokeSession},
		{"SigningKeys", testSigningKeys},
		{"DuplicateSigningKey", testDuplicateSigningKey},
		{"DuplicateSigningKeySerial", testDuplicateSigningKeySerial},
		{"RemoveSigningKey", testRemoveSigningKey},
		{"UserDisabled", testUserDisabled},
		{"CreateDisabledUser", testCreateDisabledUser},
		{"Users", testUsers},
		{"DeleteUser", testDeleteUser},
		{"UserSessions", testUserSessions},
		{"RevokeUserSessions", testRevokeUserSessions},
		{"DeleteSessions", testDeleteSessions},
		{"LoginFailures", testLoginFailures},
		{"DeleteLoginFailures", testDeleteLoginFailures},
		{"ConcurrentAddLoginFailure", testConcurrentAddLoginFailure},
		{"AddLoginFailureForgets", testAddLoginFailureForgets},
		{"DeleteSessionsMany", testDeleteSessionsMany},
		{"Ping", testPing},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentCreateSameLoginKey", testConcurrentCreateSameLoginKey},
		{"ConcurrentCreateSameEmailKey", testConcurrentCreateSameEmailKey},
		{"ConcurrentRotateSameGeneration", testConcurrentRotateSameGeneration},
		{"ConcurrentRotateChains", testConcurrentRotateChains},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}

// at returns d after a fixed instant with sub-millisecond digits, so that a
// store which rounds instead of truncating fails.
func at(d time.Duration) time.Time {
	return time.Date(2026, 11, 27, 22, 5, 13, 123_987_654, time.UTC).Add(d)
}

func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

func newUser(n int) *auth.User {
	return &auth.User{
		ID:        fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
		FirstName: "Zoë",
		LastName:  fmt.Sprintf("Last%d", n),
		Login:     fmt.Sprintf("User%d", n),
		LoginKey:  fmt.Sprintf("user%d", n),
		// Not the login key, so that a store comparing the wrong
		// column fails.
		LoginSkeleton: fmt.Sprintf("skeleton-user%d", n),
		Email:         fmt.Sprintf("User%d@Example.com", n),
		EmailKey:      fmt.Sprintf("user%d@example.com", n),
		PasswordHash:  "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
		CreatedAt:     at(time.Duration(n) * time.Second),
		UpdatedAt:     at(time.Duration(n)*time.Second + time.Minute),
	}
}

func newSession(n int, userID string) *auth.Session {
	return &auth.Session{
		ID:         fmt.Sprintf("10000000-0000-4000-8000-%012d", n),
		UserID:     userID,
		Generation: 1,
		RotatedAt:  at(time.Hour),
		CreatedAt:  at(time.Hour - time.Second),
		LastUsedAt: at(time.Hour + time.Second),
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64) storetest",
		IP:         "2001:db8::1",
	}
}

func mustCreateUser(t *testing.T, s auth.Store, u *auth.User) {
	t.Helper()
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.LoginKey, err)
	}
}

// mustCreateSession creates user n and a session n of it.
func mustCreateSession(t *testing.T, s auth.Store, n int) *auth.Session {
	t.Helper()
	u := newUser(n)
	mustCreateUser(t, s, u)
	sess := newSession(n, u.ID)
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess
}

func mustSession(t *testing.T, s auth.Store, id string) *auth.Session {
	t.Helper()
	got, err := s.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session(%s): %v", id, err)
	}
	return got
}

func checkUser(t *testing.T, got, want *auth.User) {
	t.Helper()
	if got.ID != want.ID || got.FirstName != want.FirstName || got.LastName != want.LastName ||
		got.Login != want.Login || got.LoginKey != want.LoginKey || got.LoginSkeleton != want.LoginSkeleton || got.Email != want.Email ||
		got.EmailKey != want.EmailKey || got.PasswordHash != want.PasswordHash ||
		!sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.UpdatedAt, want.UpdatedAt) ||
		!sameTime(got.DisabledAt, want.DisabledAt) || got.DisabledAt.IsZero() != want.DisabledAt.IsZero() {
		t.Errorf("user = %+v, want %+v", got, want)
	}
}

func checkSession(t *testing.T, got, want *auth.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Generation != want.Generation ||
		!sameTime(got.RotatedAt, want.RotatedAt) || !sameTime(got.CreatedAt, want.CreatedAt) ||
		!sameTime(got.LastUsedAt, want.LastUsedAt) || !sameTime(got.RevokedAt, want.RevokedAt) ||
		got.RevokedAt.IsZero() != want.RevokedAt.IsZero() ||
		got.UserAgent != want.UserAgent || got.IP != want.IP {
		t.Errorf("session = %+v, want %+v", got, want)
	}
}

func testCreateUserAndLookup(t *testing.T, s auth.Store) {
	ctx := t.Context()
	want := newUser(1)
	mustCreateUser(t, s, want)
	mustCreateUser(t, s, newUser(2))

	got, err := s.UserByLoginKey(ctx, want.LoginKey)
	if err != nil {
		t.Fatalf("UserByLoginKey: %v", err)
	}
	checkUser(t, got, want)

	got, err = s.UserByID(ctx, want.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, got, want)
}

func testUserNotFound(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := newUser(1)
	mustCreateUser(t, s, u)
	if _, err := s.UserByLoginKey(ctx, "nobody"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByLoginKey(nobody) error = %v, want ErrNotFound", err)
	}
	// Lookups are exact: the key is never folded by the store.
	if _, err := s.UserByLoginKey(ctx, u.Login); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByLoginKey(%q) error = %v, want ErrNotFound", u.Login, err)
	}
	if _, err := s.UserByLoginKey(ctx, u.EmailKey); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByLoginKey(email key) error = %v, want ErrNotFound", err)
	}
	if _, err := s.UserByID(ctx, newUser(2).ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByID(unknown) error = %v, want ErrNotFound", err)
	}
}

func testKeysTaken(t *testing.T, s auth.Store) {
	u1, u2 := newUser(1), newUser(2)
	mustCreateUser(t, s, u1)
	mustCreateUser(t, s, u2)
	tests := []struct {
		name                         string
		loginKey, skeleton, emailKey string
		wantLogin, wantMail          bool
	}{
		{"neither", "free", "free", "free@example.com", false, false},
		{"login only", u1.LoginKey, "free", "free@example.com", true, false},
		{"skeleton only", "free", u1.LoginSkeleton, "free@example.com", true, false},
		{"email only", "free", "free", u1.EmailKey, false, true},
		{"both same user", u1.LoginKey, u1.LoginSkeleton, u1.EmailKey, true, true},
		{"both different users", u1.LoginKey, "free", u2.EmailKey, true, true},
		{"skeleton and email of different users", "free", u2.LoginSkeleton, u1.EmailKey, true, true},
		{"login key is not an email key", "free", "free", u1.LoginKey, false, false},
		{"email key is not a login key", u1.EmailKey, u1.EmailKey, "free@example.com", false, false},
		{"login key is not a skeleton", "free", u1.LoginKey, "free@example.com", false, false},
		{"skeleton is not a login key", u1.LoginSkeleton, "free", "free@example.com", false, false},
		{"empty", "", "", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			login, email, err := s.KeysTaken(t.Context(), tt.loginKey, tt.skeleton, tt.emailKey)
			if err != nil {
				t.Fatalf("KeysTaken: %v", err)
			}
			if login != tt.wantLogin || email != tt.wantMail {
				t.Errorf("KeysTaken(%q, %q, %q) = %v, %v, want %v, %v",
					tt.loginKey, tt.skeleton, tt.emailKey, login, email, tt.wantLogin, tt.wantMail)
			}
		})
	}
}

func testDuplicateLoginKey(t *testing.T, s auth.Store) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	dup := newUser(2)
	dup.LoginKey = u.LoginKey
	checkDuplicate(t, s, u, dup)
}

func testDuplicateLoginSkeleton(t *testing.T, s auth.Store) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	dup := newUser(2)
	dup.LoginSkeleton = u.LoginSkeleton
	checkDuplicate(t, s, u, dup)
}

func testDuplicateEmailKey(t *testing.T, s auth.Store) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	dup := newUser(2)
	dup.EmailKey = u.EmailKey
	checkDuplicate(t, s, u, dup)
}

// checkDuplicate checks that dup is refused and that first is unchanged.
func checkDuplicate(t *testing.T, s auth.Store, first, dup *auth.User) {
	t.Helper()
	ctx := t.Context()
	err := s.CreateUser(ctx, dup)
	if !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("CreateUser(duplicate) error = %v, want ErrDuplicate", err)
	}
	if _, err := s.UserByID(ctx, dup.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByID(refused user) error = %v, want ErrNotFound", err)
	}
	got, err := s.UserByID(ctx, first.ID)
	if err != nil {
		t.Fatalf("UserByID(first): %v", err)
	}
	checkUser(t, got, first)
}

func testSetPasswordHash(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	when := at(24 * time.Hour)
	if err := s.SetPasswordHash(ctx, u.ID, "$argon2id$new", when); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	want := *u
	want.PasswordHash, want.UpdatedAt = "$argon2id$new", when
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkUser(t, got, &want)
	got, err = s.UserByID(ctx, other.ID)
	if err != nil {
		t.Fatalf("UserByID(other): %v", err)
	}
	checkUser(t, got, other)

	if err := s.SetPasswordHash(ctx, newUser(3).ID, "x", when); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SetPasswordHash(unknown) error = %v, want ErrNotFound", err)
	}
}

func testSessionRoundTrip(t *testing.T, s auth.Store) {
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

func testSessionNotFound(t *testing.T, s auth.Store) {
	mustCreateSession(t, s, 1)
	if _, err := s.Session(t.Context(), newSession(2, "").ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Session(unknown) error = %v, want ErrNotFound", err)
	}
}

func testRotateSession(t *testing.T, s auth.Store) {
	sess := mustCreateSession(t, s, 1)
	when := at(3 * time.Hour)
	if uid, err := s.RotateSession(t.Context(), sess.ID, 1, time.Time{}, when); err != nil || uid != sess.UserID {
		t.Fatalf("RotateSession = %q, %v; want the session's user %q", uid, err, sess.UserID)
	}
	want := *sess
	want.Generation, want.RotatedAt, want.LastUsedAt = 2, when, when
	checkSession(t, mustSession(t, s, sess.ID), &want)

	when = at(4 * time.Hour)
	if _, err := s.RotateSession(t.Context(), sess.ID, 2, time.Time{}, when); err != nil {
		t.Fatalf("RotateSession(2): %v", err)
	}
	want.Generation, want.RotatedAt, want.LastUsedAt = 3, when, when
	checkSession(t, mustSession(t, s, sess.ID), &want)
}

// A session whose current generation was issued at or before issuedAfter
// is not rotated: its refresh token has expired.
func testRotateSessionExpired(t *testing.T, s auth.Store) {
	sess := mustCreateSession(t, s, 1) // rotated at at(0)
	if _, err := s.RotateSession(t.Context(), sess.ID, 1, sess.RotatedAt, at(3*time.Hour)); !errors.Is(err, auth.ErrStale) {
		t.Errorf("RotateSession(issued at the bound) error = %v, want ErrStale", err)
	}
	checkSession(t, mustSession(t, s, sess.ID), sess)
	if _, err := s.RotateSession(t.Context(), sess.ID, 1, sess.RotatedAt.Add(-time.Millisecond), at(3*time.Hour)); err != nil {
		t.Errorf("RotateSession(issued just after the bound): %v", err)
	}
}

func testRotateSessionWrongGeneration(t *testing.T, s auth.Store) {
	sess := mustCreateSession(t, s, 1)
	for _, from := range []int64{0, 2, -1} {
		_, err := s.RotateSession(t.Context(), sess.ID, from, time.Time{}, at(3*time.Hour))
		if !errors.Is(err, auth.ErrStale) {
			t.Errorf("RotateSession(from %d) error = %v, want ErrStale", from, err)
		}
	}
	checkSession(t, mustSession(t, s, sess.ID), sess)
}

func testRotateSessionRevoked(t *testing.T, s auth.Store) {
	sess := mustCreateSession(t, s, 1)
	revokedAt := at(2 * time.Hour)
	if err := s.RevokeSession(t.Context(), sess.ID, revokedAt); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	_, err := s.RotateSession(t.Context(), sess.ID, 1, time.Time{}, at(3*time.Hour))
	if !errors.Is(err, auth.ErrStale) {
		t.Errorf("RotateSession(revoked) error = %v, want ErrStale", err)
	}
	want := *sess
	want.RevokedAt = revokedAt
	checkSession(t, mustSession(t, s, sess.ID), &want)
}

// The session of a disabled user does not rotate, whatever its token; once
// the user is enabled again it does.
func testRotateSessionDisabledUser(t *testing.T, s auth.Store) {
	sess := mustCreateSession(t, s, 1)
	if err := s.SetUserDisabled(t.Context(), sess.UserID, at(2*time.Hour), at(2*time.Hour)); err != nil {
		t.Fatalf("SetUserDisabled: %v", err)
	}
	_, err := s.RotateSession(t.Context(), sess.ID, 1, time.Time{}, at(3*time.Hour))
	if !errors.Is(err, auth.ErrStale) {
		t.Errorf("RotateSession(disabled user) error = %v, want ErrStale", err)
	}
	checkSession(t, mustSession(t, s, sess.ID), sess)
	if err := s.SetUserDisabled(t.Context(), sess.UserID, time.Time{}, at(4*time.Hour)); err != nil {
		t.Fatalf("SetUserDisabled(enable): %v", err)
	}
	if _, err := s.RotateSession(t.Context(), sess.ID, 1, time.Time{}, at(5*time.Hour)); err != nil {
		t.Errorf("RotateSession(enabled again): %v", err)
	}
}

// A missing session is stale like any other that cannot rotate: the store
// does not read again to tell them apart, the caller does.
func testRotateSessionMissing(t *testing.T, s auth.Store) {
	mustCreateSession(t, s, 1)
	_, err := s.RotateSession(t.Context(), newSession(2, "").ID, 1, time.Time{}, at(3*time.Hour))
	if !errors.Is(err, auth.ErrStale) {
		t.Errorf("RotateSession(unknown) error = %v, want ErrStale", err)
	}
}

func testRevokeSession(t *testing.T, s auth.Store) {
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

func testSigningKeys(t *testing.T, s auth.Store) {
	ctx := t.Context()
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys(empty): %v", err)
	}
	if len(keys) != 0 {
		t.Fatalf("SigningKeys(empty) = %d keys, want 0", len(keys))
	}
	mk := func(id, alg string, serial int64, created time.Time) *auth.SigningKey {
		return &auth.SigningKey{
			ID: id, Algorithm: alg, Serial: serial, CreatedAt: created,
			ActivatesAt: created.Add(time.Duration(serial) * time.Minute),
			Private:     []byte("sealed\x00private " + id),
			Public:      []byte(`{"kty":"OKP","kid":"` + id + `"}`),
		}
	}
	// Inserted out of order, and neither ID nor CreatedAt order is Serial
	// order: the store must sort by Serial.
	first := mk("k-b", "ES256", 1, at(3*time.Hour))
	second := mk("k-c", "EdDSA", 2, at(time.Hour))
	third := mk("k-a", "RS256", 3, at(2*time.Hour))
	for _, k := range []*auth.SigningKey{second, third, first} {
		if err := s.CreateSigningKey(ctx, k); err != nil {
			t.Fatalf("CreateSigningKey(%s): %v", k.ID, err)
		}
	}
	keys, err = s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	want := []*auth.SigningKey{first, second, third}
	if len(keys) != len(want) {
		t.Fatalf("SigningKeys = %d keys, want %d", len(keys), len(want))
	}
	for i, w := range want {
		g := keys[i]
		if g.ID != w.ID || g.Serial != w.Serial || g.Algorithm != w.Algorithm ||
			!bytes.Equal(g.Private, w.Private) || !bytes.Equal(g.Public, w.Public) ||
			!sameTime(g.CreatedAt, w.CreatedAt) || !sameTime(g.ActivatesAt, w.ActivatesAt) {
			t.Errorf("SigningKeys[%d] = {%s #%d %s %v %v}, want {%s #%d %s %v %v}", i,
				g.ID, g.Serial, g.Algorithm, g.CreatedAt, g.ActivatesAt,
				w.ID, w.Serial, w.Algorithm, w.CreatedAt, w.ActivatesAt)
		}
	}
}

func testDuplicateSigningKey(t *testing.T, s auth.Store) {
	ctx := t.Context()
	k := &auth.SigningKey{ID: "k1", Serial: 1, Algorithm: "EdDSA", Private: []byte("p"), Public: []byte("{}"), CreatedAt: at(0), ActivatesAt: at(0)}
	if err := s.CreateSigningKey(ctx, k); err != nil {
		t.Fatalf("CreateSigningKey: %v", err)
	}
	dup := &auth.SigningKey{ID: "k1", Serial: 2, Algorithm: "ES256", Private: []byte("q"), Public: []byte("{}"), CreatedAt: at(time.Hour), ActivatesAt: at(time.Hour)}
	if err := s.CreateSigningKey(ctx, dup); !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("CreateSigningKey(duplicate) error = %v, want ErrDuplicate", err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(keys) != 1 || keys[0].Algorithm != "EdDSA" {
		t.Errorf("SigningKeys = %+v, want only the first k1", keys)
	}
}

func testRemoveSigningKey(t *testing.T, s auth.Store) {
	ctx := t.Context()
	for i, id := range []string{"k1", "k2", "k3"} {
		k := &auth.SigningKey{ID: id, Serial: int64(i + 1), Algorithm: "EdDSA", Private: []byte("p"), Public: []byte("{}"), CreatedAt: at(0), ActivatesAt: at(0)}
		if err := s.CreateSigningKey(ctx, k); err != nil {
			t.Fatalf("CreateSigningKey(%s): %v", id, err)
		}
	}
	// A created key with the removal times set keeps them.
	pre := &auth.SigningKey{ID: "k4", Serial: 4, Algorithm: "EdDSA", Private: []byte("p"), Public: []byte("{}"),
		CreatedAt: at(0), ActivatesAt: at(0), RemovedAt: at(time.Minute), RefusedAt: at(time.Minute)}
	if err := s.CreateSigningKey(ctx, pre); err != nil {
		t.Fatalf("CreateSigningKey(k4): %v", err)
	}
	steps := []struct {
		id     string
		at     time.Time
		refuse bool
	}{
		{"k1", at(time.Hour), false},
		{"k1", at(2 * time.Hour), true},  // keeps the first removal, refuses now
		{"k1", at(3 * time.Hour), true},  // changes nothing
		{"k2", at(4 * time.Hour), true},  // both at once
		{"k4", at(5 * time.Hour), false}, // keeps both
	}
	for _, st := range steps {
		if err := s.RemoveSigningKey(ctx, st.id, st.at, st.refuse); err != nil {
			t.Fatalf("RemoveSigningKey(%s, %v): %v", st.id, st.refuse, err)
		}
	}
	if err := s.RemoveSigningKey(ctx, "nope", at(time.Hour), true); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RemoveSigningKey(unknown) = %v, want ErrNotFound", err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	want := []struct{ removed, refused time.Time }{
		{at(time.Hour), at(2 * time.Hour)},
		{at(4 * time.Hour), at(4 * time.Hour)},
		{},
		{at(time.Minute), at(time.Minute)},
	}
	if len(keys) != len(want) {
		t.Fatalf("SigningKeys = %d keys, want %d", len(keys), len(want))
	}
	for i, w := range want {
		if !sameTime(keys[i].RemovedAt, w.removed) || !sameTime(keys[i].RefusedAt, w.refused) {
			t.Errorf("key %s removed, refused = %v, %v; want %v, %v", keys[i].ID, keys[i].RemovedAt, keys[i].RefusedAt, w.removed, w.refused)
		}
	}
}

func testPing(t *testing.T, s auth.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testCanceledContext(t *testing.T, s auth.Store) {
	sess := mustCreateSession(t, s, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateUser", func() error { return s.CreateUser(ctx, newUser(2)) }},
		{"UserByID", func() error { _, err := s.UserByID(ctx, sess.UserID); return err }},
		{"Session", func() error { _, err := s.Session(ctx, sess.ID); return err }},
		{"RotateSession", func() error { _, err := s.RotateSession(ctx, sess.ID, 1, time.Time{}, at(3*time.Hour)); return err }},
		{"Users", func() error { _, err := s.Users(ctx, "", 10); return err }},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, sess.UserID) }},
		{"RevokeUserSessions", func() error { _, err := s.RevokeUserSessions(ctx, sess.UserID, "", at(3*time.Hour)); return err }},
		{"AddLoginFailure", func() error { _, err := s.AddLoginFailure(ctx, "user1", at(3*time.Hour), time.Time{}); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s(canceled ctx) error = %v, want context.Canceled", c.name, err)
		}
	}
	if _, err := s.UserByID(t.Context(), newUser(2).ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("CreateUser with a canceled ctx stored the user (UserByID error = %v)", err)
	}
	checkSession(t, mustSession(t, s, sess.ID), sess)
	if f, err := s.LoginFailures(t.Context(), "user1"); err != nil || f.Count != 0 {
		t.Errorf("LoginFailures after AddLoginFailure with a canceled ctx = %+v, %v, want none", f, err)
	}
}

// concurrently runs f(0) to f(n-1) at once and returns their errors.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// checkOneWinner checks that exactly one of errs is nil and every other one
// wraps loser.
func checkOneWinner(t *testing.T, errs []error, loser error) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, loser):
			t.Errorf("call %d: error = %v, want nil or %v", i, err, loser)
		}
	}
	if wins != 1 {
		t.Errorf("%d calls succeeded, want exactly 1", wins)
	}
}

func testConcurrentCreateSameLoginKey(t *testing.T, s auth.Store) {
	errs := concurrently(50, func(i int) error {
		u := newUser(i)
		u.LoginKey = "same"
		return s.CreateUser(t.Context(), u)
	})
	checkOneWinner(t, errs, auth.ErrDuplicate)
	if _, err := s.UserByLoginKey(t.Context(), "same"); err != nil {
		t.Errorf("UserByLoginKey(same): %v", err)
	}
}

func testConcurrentCreateSameEmailKey(t *testing.T, s auth.Store) {
	errs := concurrently(50, func(i int) error {
		u := newUser(i)
		u.EmailKey = "same@example.com"
		return s.CreateUser(t.Context(), u)
	})
	checkOneWinner(t, errs, auth.ErrDuplicate)
}

func testConcurrentRotateSameGeneration(t *testing.T, s auth.Store) {
	sess := mustCreateSession(t, s, 1)
	errs := concurrently(50, func(i int) error {
		_, err := s.RotateSession(t.Context(), sess.ID, 1, time.Time{}, at(time.Duration(i)*time.Second))
		return err
	})
	checkOneWinner(t, errs, auth.ErrStale)
	if got := mustSession(t, s, sess.ID).Generation; got != 2 {
		t.Errorf("Generation = %d, want 2", got)
	}
}

func testConcurrentRotateChains(t *testing.T, s auth.Store) {
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
			_, err = s.RotateSession(t.Context(), sess.ID, cur.Generation, time.Time{}, at(time.Duration(w*rounds+r)*time.Millisecond))
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
