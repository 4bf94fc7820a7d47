package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// passkeyTests are the subtests of auth.PasskeyStore and auth.CeremonyStore.
func passkeyTests() []subtest[auth.Store] {
	return []subtest[auth.Store]{
		{"CreatePasskeyAndFind", testCreatePasskey},
		{"PasskeyDuplicateCredential", testPasskeyDuplicate},
		{"UserPasskeysOrder", testUserPasskeysOrder},
		{"UsePasskeyCompareAndSwap", testUsePasskey},
		{"DeletePasskeyOnlyTheUsers", testDeletePasskey},
		{"DeleteUserDeletesPasskeysAndCeremonies", testDeleteUserPasskeys},
		{"TakeCeremonyOnce", testTakeCeremony},
		{"ConcurrentTakeCeremonyOneWinner", testConcurrentTakeCeremony},
		{"DeleteCeremonies", testDeleteCeremonies},
	}
}

// newPasskey is passkey n of userID, its credential id 0xff, n and a NUL
// (bytes a text column would mangle).
func newPasskey(n int, userID string) *auth.Passkey {
	return &auth.Passkey{
		ID: fmt.Sprintf("40000000-0000-4000-8000-%012d", n), UserID: userID,
		CredentialID: []byte{0xff, byte(n), 0x00, 0x80}, PublicKey: []byte(fmt.Sprintf("cose %d \x00\xa5", n)),
		SignCount: int64(n) * 1000, AAGUID: bytes.Repeat([]byte{byte(n)}, 16),
		Transports: []string{"internal", "hybrid"}, AttestationFormat: "none",
		BackupEligible: true, BackedUp: n%2 == 0, UserPresent: true, UserVerified: n%2 == 1,
		Name: fmt.Sprintf("Zoë's key %d", n), CreatedAt: at(time.Duration(n) * time.Minute),
	}
}

func checkPasskey(t *testing.T, got, want *auth.Passkey) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || !bytes.Equal(got.CredentialID, want.CredentialID) ||
		!bytes.Equal(got.PublicKey, want.PublicKey) || got.SignCount != want.SignCount || !bytes.Equal(got.AAGUID, want.AAGUID) ||
		!slices.Equal(got.Transports, want.Transports) || got.AttestationFormat != want.AttestationFormat ||
		got.BackupEligible != want.BackupEligible || got.BackedUp != want.BackedUp ||
		got.UserPresent != want.UserPresent || got.UserVerified != want.UserVerified || got.Name != want.Name ||
		!sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.LastUsedAt, want.LastUsedAt) ||
		got.LastUsedAt.IsZero() != want.LastUsedAt.IsZero() {
		t.Errorf("passkey = %+v, want %+v", got, want)
	}
}

// newCeremony is ceremony n of kind for userID ("" for none), expiring at
// expires.
func newCeremony(n int, kind auth.CeremonyKind, userID string, expires time.Time) *auth.Ceremony {
	return &auth.Ceremony{
		ID: fmt.Sprintf("%064x", n), Kind: kind, UserID: userID, State: []byte(fmt.Sprintf(`{"challenge":"c%d"}`, n)),
		CreatedAt: expires.Add(-auth.CeremonyTTL), ExpiresAt: expires,
	}
}

func passkeyUser(t *testing.T, s auth.Store, n int) *auth.User {
	t.Helper()
	u := newUser(n)
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

func testCreatePasskey(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := passkeyUser(t, s, 1)
	p := newPasskey(1, u.ID)
	if err := s.CreatePasskey(ctx, p); err != nil {
		t.Fatalf("CreatePasskey: %v", err)
	}
	got, err := s.PasskeyByCredentialID(ctx, p.CredentialID)
	if err != nil {
		t.Fatalf("PasskeyByCredentialID: %v", err)
	}
	checkPasskey(t, got, p)
	if _, err := s.PasskeyByCredentialID(ctx, []byte{0xff, 1, 0}); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("PasskeyByCredentialID(a prefix) error = %v, want ErrNotFound", err)
	}
	// No transports, a zero AAGUID: stored and read back as such.
	q := newPasskey(2, u.ID)
	q.Transports, q.AAGUID = nil, make([]byte, 16)
	if err := s.CreatePasskey(ctx, q); err != nil {
		t.Fatalf("CreatePasskey: %v", err)
	}
	if got, err := s.PasskeyByCredentialID(ctx, q.CredentialID); err != nil {
		t.Fatalf("PasskeyByCredentialID: %v", err)
	} else {
		checkPasskey(t, got, q)
	}
}

func testPasskeyDuplicate(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, v := passkeyUser(t, s, 1), passkeyUser(t, s, 2)
	if err := s.CreatePasskey(ctx, newPasskey(1, u.ID)); err != nil {
		t.Fatalf("CreatePasskey: %v", err)
	}
	// The same credential for another user.
	dup := newPasskey(2, v.ID)
	dup.CredentialID = newPasskey(1, u.ID).CredentialID
	if err := s.CreatePasskey(ctx, dup); !errors.Is(err, auth.ErrDuplicate) {
		t.Errorf("CreatePasskey(same credential id) error = %v, want ErrDuplicate", err)
	}
	if err := s.CreatePasskey(ctx, newPasskey(3, "00000000-0000-4000-8000-999999999999")); err == nil {
		t.Errorf("CreatePasskey(no such user) succeeded")
	}
}

func testUserPasskeysOrder(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, v := passkeyUser(t, s, 1), passkeyUser(t, s, 2)
	for _, n := range []int{3, 1, 2} {
		if err := s.CreatePasskey(ctx, newPasskey(n, u.ID)); err != nil {
			t.Fatalf("CreatePasskey %d: %v", n, err)
		}
	}
	if err := s.CreatePasskey(ctx, newPasskey(4, v.ID)); err != nil {
		t.Fatalf("CreatePasskey: %v", err)
	}
	got, err := s.UserPasskeys(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserPasskeys: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("UserPasskeys = %d passkeys, want 3", len(got))
	}
	for i := range got {
		checkPasskey(t, &got[i], newPasskey(i+1, u.ID))
	}
	if none, err := s.UserPasskeys(ctx, "00000000-0000-4000-8000-999999999999"); err != nil || len(none) != 0 {
		t.Errorf("UserPasskeys(no such user) = %v, %v; want none", none, err)
	}
}

func testUsePasskey(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := passkeyUser(t, s, 1)
	p := newPasskey(1, u.ID)
	if err := s.CreatePasskey(ctx, p); err != nil {
		t.Fatalf("CreatePasskey: %v", err)
	}
	used := at(time.Hour)
	flags := auth.PasskeyFlags{UserPresent: true, UserVerified: false, BackedUp: true}
	if err := s.UsePasskey(ctx, p.ID, p.SignCount, p.SignCount+5, flags, used); err != nil {
		t.Fatalf("UsePasskey: %v", err)
	}
	want := *p
	want.SignCount, want.LastUsedAt = p.SignCount+5, used
	want.UserPresent, want.UserVerified, want.BackedUp = true, false, true
	got, err := s.PasskeyByCredentialID(ctx, p.CredentialID)
	if err != nil {
		t.Fatalf("PasskeyByCredentialID: %v", err)
	}
	checkPasskey(t, got, &want)
	// From the old count: someone else moved it.
	if err := s.UsePasskey(ctx, p.ID, p.SignCount, p.SignCount+6, flags, used); !errors.Is(err, auth.ErrStale) {
		t.Errorf("UsePasskey(stale count) error = %v, want ErrStale", err)
	}
	if err := s.UsePasskey(ctx, "40000000-0000-4000-8000-999999999999", 0, 1, flags, used); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UsePasskey(no such passkey) error = %v, want ErrNotFound", err)
	}
	// Concurrent uses from one count: one wins.
	errs := concurrently(4, func(i int) error {
		return s.UsePasskey(ctx, p.ID, want.SignCount, want.SignCount+int64(i)+1, flags, used)
	})
	checkOneWinner(t, errs, auth.ErrStale)
}

func testDeletePasskey(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, v := passkeyUser(t, s, 1), passkeyUser(t, s, 2)
	p := newPasskey(1, u.ID)
	if err := s.CreatePasskey(ctx, p); err != nil {
		t.Fatalf("CreatePasskey: %v", err)
	}
	if err := s.DeletePasskey(ctx, v.ID, p.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeletePasskey(another user's) error = %v, want ErrNotFound", err)
	}
	if err := s.DeletePasskey(ctx, u.ID, p.ID); err != nil {
		t.Fatalf("DeletePasskey: %v", err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, p.CredentialID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("PasskeyByCredentialID after delete error = %v, want ErrNotFound", err)
	}
	if err := s.DeletePasskey(ctx, u.ID, p.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeletePasskey again error = %v, want ErrNotFound", err)
	}
}

func testDeleteUserPasskeys(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, v := passkeyUser(t, s, 1), passkeyUser(t, s, 2)
	for n, owner := range map[int]string{1: u.ID, 2: v.ID} {
		if err := s.CreatePasskey(ctx, newPasskey(n, owner)); err != nil {
			t.Fatalf("CreatePasskey: %v", err)
		}
		if err := s.CreateCeremony(ctx, newCeremony(n, auth.CeremonyRegister, owner, at(time.Hour))); err != nil {
			t.Fatalf("CreateCeremony: %v", err)
		}
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, newPasskey(1, u.ID).CredentialID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("the deleted user's passkey: error = %v, want ErrNotFound", err)
	}
	if _, err := s.TakeCeremony(ctx, newCeremony(1, "", "", time.Time{}).ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("the deleted user's ceremony: error = %v, want ErrNotFound", err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, newPasskey(2, v.ID).CredentialID); err != nil {
		t.Errorf("the other user's passkey: %v", err)
	}
	if _, err := s.TakeCeremony(ctx, newCeremony(2, "", "", time.Time{}).ID); err != nil {
		t.Errorf("the other user's ceremony: %v", err)
	}
}

func testTakeCeremony(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := passkeyUser(t, s, 1)
	for _, c := range []*auth.Ceremony{
		newCeremony(1, auth.CeremonyRegister, u.ID, at(time.Hour)),
		newCeremony(2, auth.CeremonyLogin, "", at(-time.Hour)), // expired: still handed out
		func() *auth.Ceremony {
			c := newCeremony(3, "mfa", u.ID, at(time.Hour))
			c.Binding = "binding of 3"
			return c
		}(),
	} {
		if err := s.CreateCeremony(ctx, c); err != nil {
			t.Fatalf("CreateCeremony: %v", err)
		}
		got, err := s.TakeCeremony(ctx, c.ID)
		if err != nil {
			t.Fatalf("TakeCeremony: %v", err)
		}
		if got.ID != c.ID || got.Kind != c.Kind || got.UserID != c.UserID || got.Binding != c.Binding ||
			!bytes.Equal(got.State, c.State) || !sameTime(got.CreatedAt, c.CreatedAt) || !sameTime(got.ExpiresAt, c.ExpiresAt) {
			t.Errorf("TakeCeremony = %+v, want %+v", got, c)
		}
		if _, err := s.TakeCeremony(ctx, c.ID); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("TakeCeremony again error = %v, want ErrNotFound", err)
		}
	}
	c := newCeremony(4, auth.CeremonyLogin, "", at(time.Hour))
	if err := s.CreateCeremony(ctx, c); err != nil {
		t.Fatalf("CreateCeremony: %v", err)
	}
	if err := s.CreateCeremony(ctx, c); !errors.Is(err, auth.ErrDuplicate) {
		t.Errorf("CreateCeremony(same id) error = %v, want ErrDuplicate", err)
	}
}

func testConcurrentTakeCeremony(t *testing.T, s auth.Store) {
	ctx := t.Context()
	c := newCeremony(1, auth.CeremonyLogin, "", at(time.Hour))
	if err := s.CreateCeremony(ctx, c); err != nil {
		t.Fatalf("CreateCeremony: %v", err)
	}
	errs := concurrently(6, func(int) error {
		_, err := s.TakeCeremony(ctx, c.ID)
		return err
	})
	checkOneWinner(t, errs, auth.ErrNotFound)
}

func testDeleteCeremonies(t *testing.T, s auth.Store) {
	ctx := t.Context()
	for n, exp := range map[int]time.Duration{1: -time.Minute, 2: -time.Second, 3: time.Second} {
		if err := s.CreateCeremony(ctx, newCeremony(n, auth.CeremonyLogin, "", at(exp))); err != nil {
			t.Fatalf("CreateCeremony: %v", err)
		}
	}
	if n, err := s.DeleteCeremonies(ctx, time.Time{}); err != nil || n != 0 {
		t.Errorf("DeleteCeremonies(zero time) = %d, %v; want 0", n, err)
	}
	n, err := s.DeleteCeremonies(ctx, at(0))
	if err != nil || n != 2 {
		t.Errorf("DeleteCeremonies = %d, %v; want 2", n, err)
	}
	if _, err := s.TakeCeremony(ctx, newCeremony(3, "", "", time.Time{}).ID); err != nil {
		t.Errorf("the live ceremony: %v", err)
	}
}
