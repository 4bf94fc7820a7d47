package storetest

import (
	"testing"
	"time"

	"github.com/authstore/auth"
)

// loginFailureTests are the subtests of auth.LoginFailureStore.
func loginFailureTests() []subtest[auth.LoginFailureStore] {
	return []subtest[auth.LoginFailureStore]{
		{"LoginFailures", testLoginFailures},
		{"DeleteLoginFailures", testDeleteLoginFailures},
		{"ConcurrentAddLoginFailure", testConcurrentAddLoginFailure},
		{"AddLoginFailureForgets", testAddLoginFailureForgets},
	}
}

func mustAddFailure(t *testing.T, s auth.LoginFailureStore, key string, when time.Time) auth.LoginFailures {
	t.Helper()
	f, err := s.AddLoginFailure(t.Context(), key, when, time.Time{})
	if err != nil {
		t.Fatalf("AddLoginFailure(%s): %v", key, err)
	}
	return f
}

func checkFailures(t *testing.T, s auth.LoginFailureStore, key string, wantCount int64, wantLast time.Time) {
	t.Helper()
	f, err := s.LoginFailures(t.Context(), key)
	if err != nil {
		t.Fatalf("LoginFailures(%s): %v", key, err)
	}
	if f.Count != wantCount || !sameTime(f.Last, wantLast) || f.Last.IsZero() != wantLast.IsZero() {
		t.Errorf("LoginFailures(%s) = %+v, want {Count:%d Last:%v}", key, f, wantCount, wantLast)
	}
}

func testLoginFailures(t *testing.T, s auth.LoginFailureStore) {
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

func testDeleteLoginFailures(t *testing.T, s auth.LoginFailureStore) {
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

func testConcurrentAddLoginFailure(t *testing.T, s auth.LoginFailureStore) {
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
func testAddLoginFailureForgets(t *testing.T, s auth.LoginFailureStore) {
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
