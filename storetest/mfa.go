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

// mfaTests are the subtests of auth.MFAStore.
func mfaTests() []subtest[auth.Store] {
	return []subtest[auth.Store]{
		{"TOTPPendingAndActivate", testTOTPPendingAndActivate},
		{"UseTOTPStep", testUseTOTPStep},
		{"ConcurrentUseTOTPStepOneWinner", testConcurrentUseTOTPStep},
		{"RecoveryCodes", testRecoveryCodes},
		{"ConcurrentUseRecoveryCodeOneWinner", testConcurrentUseRecoveryCode},
		{"DeleteTOTP", testDeleteTOTP},
		{"MFATokens", testMFATokens},
		{"DeleteUserDeletesSecondFactors", testDeleteUserSecondFactors},
	}
}

// codeHashes are n recovery code hashes, distinct per tag.
func codeHashes(tag string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%061x", tag[:2], i)
	}
	return out
}

// mustActiveTOTP gives user n an active authenticator with LastStep 100
// and recovery codes codeHashes("aa", 10), and returns the user's id.
func mustActiveTOTP(t *testing.T, s auth.Store, n int) string {
	t.Helper()
	u := newUser(n)
	mustCreateUser(t, s, u)
	secret := []byte("sealed secret")
	if err := s.PutPendingTOTP(t.Context(), &auth.TOTP{UserID: u.ID, Secret: secret, CreatedAt: at(0)}); err != nil {
		t.Fatalf("PutPendingTOTP: %v", err)
	}
	if err := s.ActivateTOTP(t.Context(), u.ID, secret, 100, codeHashes("aa", 10), at(time.Minute)); err != nil {
		t.Fatalf("ActivateTOTP: %v", err)
	}
	return u.ID
}

func testTOTPPendingAndActivate(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := newUser(1)
	mustCreateUser(t, s, u)
	if _, err := s.TOTP(ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("TOTP(none) error = %v, want ErrNotFound", err)
	}
	first := &auth.TOTP{UserID: u.ID, Secret: []byte{1, 2, 3}, CreatedAt: at(0)}
	if err := s.PutPendingTOTP(ctx, first); err != nil {
		t.Fatalf("PutPendingTOTP: %v", err)
	}
	second := &auth.TOTP{UserID: u.ID, Secret: []byte{4, 5, 6}, CreatedAt: at(time.Second)}
	if err := s.PutPendingTOTP(ctx, second); err != nil {
		t.Fatalf("PutPendingTOTP(replacing a pending one): %v", err)
	}
	got, err := s.TOTP(ctx, u.ID)
	if err != nil || !bytes.Equal(got.Secret, second.Secret) || !sameTime(got.CreatedAt, second.CreatedAt) || got.Active() || got.LastStep != 0 {
		t.Fatalf("TOTP = %+v, %v; want the second pending one", got, err)
	}
	// The replaced secret can no longer be confirmed.
	if err := s.ActivateTOTP(ctx, u.ID, first.Secret, 7, codeHashes("aa", 10), at(time.Minute)); !errors.Is(err, auth.ErrStale) {
		t.Errorf("ActivateTOTP(replaced secret) error = %v, want ErrStale", err)
	}
	if err := s.ActivateTOTP(ctx, u.ID, second.Secret, 7, codeHashes("aa", 10), at(time.Minute)); err != nil {
		t.Fatalf("ActivateTOTP: %v", err)
	}
	got, err = s.TOTP(ctx, u.ID)
	if err != nil || !got.Active() || !sameTime(got.ConfirmedAt, at(time.Minute)) || got.LastStep != 7 {
		t.Fatalf("TOTP = %+v, %v; want active at step 7", got, err)
	}
	if err := s.ActivateTOTP(ctx, u.ID, second.Secret, 8, codeHashes("bb", 10), at(time.Minute)); !errors.Is(err, auth.ErrStale) {
		t.Errorf("ActivateTOTP(active) error = %v, want ErrStale", err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 10 {
		t.Errorf("RecoveryCodesLeft = %d, %v; want 10", n, err)
	}
	// An active authenticator is not replaced by enrolling again.
	err = s.PutPendingTOTP(ctx, &auth.TOTP{UserID: u.ID, Secret: []byte{9}, CreatedAt: at(time.Hour)})
	if !errors.Is(err, auth.ErrDuplicate) {
		t.Errorf("PutPendingTOTP(active) error = %v, want ErrDuplicate", err)
	}
	if got, err := s.TOTP(ctx, u.ID); err != nil || !bytes.Equal(got.Secret, second.Secret) || !got.Active() {
		t.Errorf("TOTP after refused PutPendingTOTP = %+v, %v; want unchanged", got, err)
	}
}

func testUseTOTPStep(t *testing.T, s auth.Store) {
	ctx := t.Context()
	id := mustActiveTOTP(t, s, 1)
	for _, step := range []int64{99, 100} {
		if err := s.UseTOTPStep(ctx, id, step); !errors.Is(err, auth.ErrStale) {
			t.Errorf("UseTOTPStep(%d, last 100) error = %v, want ErrStale", step, err)
		}
	}
	if err := s.UseTOTPStep(ctx, id, 101); err != nil {
		t.Fatalf("UseTOTPStep(101): %v", err)
	}
	if err := s.UseTOTPStep(ctx, id, 101); !errors.Is(err, auth.ErrStale) {
		t.Errorf("UseTOTPStep(101 again) error = %v, want ErrStale", err)
	}
	if got, err := s.TOTP(ctx, id); err != nil || got.LastStep != 101 {
		t.Errorf("TOTP = %+v, %v; want LastStep 101", got, err)
	}
	// A pending authenticator, or none, uses no step.
	u := newUser(2)
	mustCreateUser(t, s, u)
	if err := s.UseTOTPStep(ctx, u.ID, 5); !errors.Is(err, auth.ErrStale) {
		t.Errorf("UseTOTPStep(no authenticator) error = %v, want ErrStale", err)
	}
	if err := s.PutPendingTOTP(ctx, &auth.TOTP{UserID: u.ID, Secret: []byte{1}, CreatedAt: at(0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.UseTOTPStep(ctx, u.ID, 5); !errors.Is(err, auth.ErrStale) {
		t.Errorf("UseTOTPStep(pending) error = %v, want ErrStale", err)
	}
}

func testConcurrentUseTOTPStep(t *testing.T, s auth.Store) {
	id := mustActiveTOTP(t, s, 1)
	errs := concurrently(8, func(int) error { return s.UseTOTPStep(t.Context(), id, 200) })
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, auth.ErrStale):
			t.Errorf("UseTOTPStep error = %v, want nil or ErrStale", err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent UseTOTPStep of one step succeeded, want 1", won)
	}
}

func testRecoveryCodes(t *testing.T, s auth.Store) {
	ctx := t.Context()
	id := mustActiveTOTP(t, s, 1)
	other := mustActiveTOTP(t, s, 2)
	codes := codeHashes("aa", 10)
	if err := s.UseRecoveryCode(ctx, id, codes[3], at(time.Hour)); err != nil {
		t.Fatalf("UseRecoveryCode: %v", err)
	}
	if err := s.UseRecoveryCode(ctx, id, codes[3], at(time.Hour)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UseRecoveryCode(used) error = %v, want ErrNotFound", err)
	}
	if err := s.UseRecoveryCode(ctx, id, "unknown", at(time.Hour)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UseRecoveryCode(unknown) error = %v, want ErrNotFound", err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, id); err != nil || n != 9 {
		t.Errorf("RecoveryCodesLeft = %d, %v; want 9", n, err)
	}
	// The other user's codes (the same hashes here) are its own.
	if n, err := s.RecoveryCodesLeft(ctx, other); err != nil || n != 10 {
		t.Errorf("RecoveryCodesLeft(other) = %d, %v; want 10", n, err)
	}
	fresh := codeHashes("bb", 10)
	if err := s.ReplaceRecoveryCodes(ctx, id, fresh, at(2*time.Hour)); err != nil {
		t.Fatalf("ReplaceRecoveryCodes: %v", err)
	}
	if err := s.UseRecoveryCode(ctx, id, codes[4], at(3*time.Hour)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UseRecoveryCode(replaced) error = %v, want ErrNotFound", err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, id); err != nil || n != 10 {
		t.Errorf("RecoveryCodesLeft after replace = %d, %v; want 10", n, err)
	}
	if err := s.UseRecoveryCode(ctx, id, fresh[0], at(3*time.Hour)); err != nil {
		t.Errorf("UseRecoveryCode(new code): %v", err)
	}
	// Without an active authenticator there is nothing to replace.
	u := newUser(3)
	mustCreateUser(t, s, u)
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, fresh, at(time.Hour)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ReplaceRecoveryCodes(no authenticator) error = %v, want ErrNotFound", err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 0 {
		t.Errorf("RecoveryCodesLeft(no authenticator) = %d, %v; want 0", n, err)
	}
}

func testConcurrentUseRecoveryCode(t *testing.T, s auth.Store) {
	id := mustActiveTOTP(t, s, 1)
	code := codeHashes("aa", 10)[0]
	errs := concurrently(8, func(int) error { return s.UseRecoveryCode(t.Context(), id, code, at(time.Hour)) })
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, auth.ErrNotFound):
			t.Errorf("UseRecoveryCode error = %v, want nil or ErrNotFound", err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent uses of one recovery code succeeded, want 1", won)
	}
}

func testDeleteTOTP(t *testing.T, s auth.Store) {
	ctx := t.Context()
	id := mustActiveTOTP(t, s, 1)
	other := mustActiveTOTP(t, s, 2)
	tok := &auth.MFAToken{Hash: fmt.Sprintf("%064x", 1), UserID: id, AMR: []string{auth.AMRPassword}, CreatedAt: at(0), ExpiresAt: at(5 * time.Minute)}
	if err := s.CreateMFAToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTOTP(ctx, id); err != nil {
		t.Fatalf("DeleteTOTP: %v", err)
	}
	if _, err := s.TOTP(ctx, id); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("TOTP after delete error = %v, want ErrNotFound", err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, id); err != nil || n != 0 {
		t.Errorf("RecoveryCodesLeft after delete = %d, %v; want 0", n, err)
	}
	if _, err := s.MFAToken(ctx, tok.Hash); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MFAToken after DeleteTOTP error = %v, want ErrNotFound", err)
	}
	if err := s.DeleteTOTP(ctx, id); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeleteTOTP(again) error = %v, want ErrNotFound", err)
	}
	if got, err := s.TOTP(ctx, other); err != nil || !got.Active() {
		t.Errorf("other user's TOTP = %+v, %v; want it kept", got, err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, other); err != nil || n != 10 {
		t.Errorf("other user's RecoveryCodesLeft = %d, %v; want 10", n, err)
	}
}

func testMFATokens(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := newUser(1)
	mustCreateUser(t, s, u)
	tok := func(n int, created time.Time) *auth.MFAToken {
		return &auth.MFAToken{Hash: fmt.Sprintf("%064x", n), UserID: u.ID, AMR: []string{auth.AMRPassword},
			CreatedAt: created, ExpiresAt: created.Add(5 * time.Minute)}
	}
	a, b := tok(1, at(0)), tok(2, at(time.Hour))
	for _, x := range []*auth.MFAToken{a, b} {
		if err := s.CreateMFAToken(ctx, x); err != nil {
			t.Fatalf("CreateMFAToken: %v", err)
		}
	}
	if err := s.CreateMFAToken(ctx, tok(1, at(time.Second))); !errors.Is(err, auth.ErrDuplicate) {
		t.Errorf("CreateMFAToken(taken hash) error = %v, want ErrDuplicate", err)
	}
	got, err := s.MFAToken(ctx, a.Hash)
	if err != nil || got.Hash != a.Hash || got.UserID != u.ID || !slices.Equal(got.AMR, a.AMR) ||
		!sameTime(got.CreatedAt, a.CreatedAt) || !sameTime(got.ExpiresAt, a.ExpiresAt) {
		t.Fatalf("MFAToken = %+v, %v; want %+v", got, err, a)
	}
	if _, err := s.MFAToken(ctx, fmt.Sprintf("%064x", 9)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MFAToken(unknown) error = %v, want ErrNotFound", err)
	}
	// At its expiry it is no longer consumed; just before, once.
	if err := s.ConsumeMFAToken(ctx, a.Hash, a.ExpiresAt); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ConsumeMFAToken(at expiry) error = %v, want ErrNotFound", err)
	}
	if err := s.ConsumeMFAToken(ctx, a.Hash, a.ExpiresAt.Add(-time.Millisecond)); err != nil {
		t.Errorf("ConsumeMFAToken: %v", err)
	}
	if err := s.ConsumeMFAToken(ctx, a.Hash, a.CreatedAt); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ConsumeMFAToken(consumed) error = %v, want ErrNotFound", err)
	}
	if err := s.CreateMFAToken(ctx, tok(3, at(0))); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteMFATokens(ctx, at(time.Hour)); err != nil || n != 1 {
		t.Errorf("DeleteMFATokens = %d, %v; want 1 (the expired one)", n, err)
	}
	if _, err := s.MFAToken(ctx, b.Hash); err != nil {
		t.Errorf("MFAToken(live) after purge: %v", err)
	}
	if n, err := s.DeleteMFATokens(ctx, time.Time{}); err != nil || n != 0 {
		t.Errorf("DeleteMFATokens(zero time) = %d, %v; want 0", n, err)
	}
}

func testDeleteUserSecondFactors(t *testing.T, s auth.Store) {
	ctx := t.Context()
	id := mustActiveTOTP(t, s, 1)
	if err := s.CreateMFAToken(ctx, &auth.MFAToken{Hash: fmt.Sprintf("%064x", 1), UserID: id, AMR: []string{auth.AMRPassword}, CreatedAt: at(0), ExpiresAt: at(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, id); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.TOTP(ctx, id); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("TOTP of a deleted user error = %v, want ErrNotFound", err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, id); err != nil || n != 0 {
		t.Errorf("RecoveryCodesLeft of a deleted user = %d, %v; want 0", n, err)
	}
	if _, err := s.MFAToken(ctx, fmt.Sprintf("%064x", 1)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MFAToken of a deleted user error = %v, want ErrNotFound", err)
	}
}
