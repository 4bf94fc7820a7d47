package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// userTests are the subtests of auth.UserStore.
func userTests() []subtest[auth.UserStore] {
	return []subtest[auth.UserStore]{
		{"CreateUserAndLookup", testCreateUserAndLookup},
		{"UserNotFound", testUserNotFound},
		{"KeysTaken", testKeysTaken},
		{"DuplicateLoginKey", testDuplicateLoginKey},
		{"DuplicateLoginSkeleton", testDuplicateLoginSkeleton},
		{"DuplicateEmailKey", testDuplicateEmailKey},
		{"SetPasswordHash", testSetPasswordHash},
		{"UserDisabled", testUserDisabled},
		{"CreateDisabledUser", testCreateDisabledUser},
		{"Users", testUsers},
		{"ConcurrentCreateSameLoginKey", testConcurrentCreateSameLoginKey},
		{"ConcurrentCreateSameEmailKey", testConcurrentCreateSameEmailKey},
	}
}

func mustCreateUser(t *testing.T, s auth.UserStore, u *auth.User) {
	t.Helper()
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.LoginKey, err)
	}
}

func mustUser(t *testing.T, s auth.UserStore, id string) *auth.User {
	t.Helper()
	u, err := s.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("UserByID(%s): %v", id, err)
	}
	return u
}

// checkDuplicate checks that dup is refused and that first is unchanged.
func checkDuplicate(t *testing.T, s auth.UserStore, first, dup *auth.User) {
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

func testCreateUserAndLookup(t *testing.T, s auth.UserStore) {
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

func testUserNotFound(t *testing.T, s auth.UserStore) {
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

func testKeysTaken(t *testing.T, s auth.UserStore) {
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

func testDuplicateLoginKey(t *testing.T, s auth.UserStore) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	dup := newUser(2)
	dup.LoginKey = u.LoginKey
	checkDuplicate(t, s, u, dup)
}

func testDuplicateLoginSkeleton(t *testing.T, s auth.UserStore) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	dup := newUser(2)
	dup.LoginSkeleton = u.LoginSkeleton
	checkDuplicate(t, s, u, dup)
}

func testDuplicateEmailKey(t *testing.T, s auth.UserStore) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	dup := newUser(2)
	dup.EmailKey = u.EmailKey
	checkDuplicate(t, s, u, dup)
}

func testSetPasswordHash(t *testing.T, s auth.UserStore) {
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

func testUserDisabled(t *testing.T, s auth.UserStore) {
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

func testCreateDisabledUser(t *testing.T, s auth.UserStore) {
	u := newUser(1)
	u.DisabledAt = at(time.Hour)
	mustCreateUser(t, s, u)
	checkUser(t, mustUser(t, s, u.ID), u)
}

func testUsers(t *testing.T, s auth.UserStore) {
	ctx := t.Context()
	var users []*auth.User
	// Created in the order of their numbers, the last two at one instant,
	// which their IDs then order; inserted in another order.
	for n := range 5 {
		u := newUser(n + 1)
		u.CreatedAt = at(time.Duration(min(n, 3)) * time.Minute)
		users = append(users, u)
	}
	for _, i := range []int{3, 0, 4, 2, 1} {
		mustCreateUser(t, s, users[i])
	}
	if err := s.SetUserDisabled(ctx, users[1].ID, at(time.Hour), at(time.Hour)); err != nil {
		t.Fatalf("SetUserDisabled: %v", err)
	}
	users[1].DisabledAt, users[1].UpdatedAt = at(time.Hour), at(time.Hour)

	tests := []struct {
		name  string
		after *auth.User // nil: from the start
		limit int
		want  []*auth.User
	}{
		{"first page", nil, 2, users[0:2]},
		{"second page", users[1], 2, users[2:4]},
		{"last page", users[3], 2, users[4:5]},
		{"past the end", users[4], 2, nil},
		{"all", nil, 100, users},
		{"zero limit", nil, 0, nil},
		{"negative limit", nil, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var createdAt time.Time
			var id string
			if tt.after != nil {
				createdAt, id = tt.after.CreatedAt, tt.after.ID
			}
			got, err := s.Users(t.Context(), createdAt, id, tt.limit)
			if err != nil {
				t.Fatalf("Users(%q, %d): %v", id, tt.limit, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Users(%q, %d) = %d users, want %d", id, tt.limit, len(got), len(tt.want))
			}
			for i := range got {
				checkUser(t, &got[i], tt.want[i])
			}
		})
	}
}

func testConcurrentCreateSameLoginKey(t *testing.T, s auth.UserStore) {
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

func testConcurrentCreateSameEmailKey(t *testing.T, s auth.UserStore) {
	errs := concurrently(50, func(i int) error {
		u := newUser(i)
		u.EmailKey = "same@example.com"
		return s.CreateUser(t.Context(), u)
	})
	checkOneWinner(t, errs, auth.ErrDuplicate)
}
