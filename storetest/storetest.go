// Package storetest is the conformance suite of auth.Store: every
// implementation's tests call Run, so all of them keep one contract.
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// Run runs the conformance suite against stores made by newStore, one store
// per subtest; subtests run in parallel. The subtests are grouped by the
// part of auth.Store they check (users.go, sessions.go, failures.go,
// keys.go), each group on a store of that part's type, and store.go checks
// what spans them.
//
// newStore must return an empty, ready (migrated) store and arrange for it to
// be closed, typically with t.Cleanup.
//
// Times are compared after Truncate(time.Millisecond): a Store must keep at
// least millisecond precision and may drop the rest by truncation.
func Run(t *testing.T, newStore func(t *testing.T) auth.Store) {
	t.Helper()
	run(t, func(t *testing.T) auth.UserStore { return newStore(t) }, userTests())
	run(t, func(t *testing.T) sessionStore { return newStore(t) }, sessionTests())
	run(t, func(t *testing.T) auth.LoginFailureStore { return newStore(t) }, loginFailureTests())
	run(t, func(t *testing.T) auth.KeyStore { return newStore(t) }, keyTests())
	run(t, newStore, storeTests())
	run(t, newStore, accountTests())
	run(t, func(t *testing.T) auth.Store { return newStore(t) }, outboxTests())
	run(t, newStore, mfaTests())
	run(t, newStore, passkeyTests())
}

// subtest is one named subtest of the suite, on a store of type S.
type subtest[S any] struct {
	name string
	run  func(t *testing.T, s S)
}

// run runs tests in parallel, each on its own store made by newStore.
func run[S any](t *testing.T, newStore func(t *testing.T) S, tests []subtest[S]) {
	t.Helper()
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
	u := &auth.User{
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
	if n%2 == 0 { // even users have a verified address
		u.EmailVerifiedAt = at(time.Duration(n)*time.Second + 2*time.Minute)
	}
	return u
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
		AMR:        []string{auth.AMRPassword, auth.AMROTP},
	}
}

func checkUser(t *testing.T, got, want *auth.User) {
	t.Helper()
	if got.ID != want.ID || got.FirstName != want.FirstName || got.LastName != want.LastName ||
		got.Login != want.Login || got.LoginKey != want.LoginKey || got.LoginSkeleton != want.LoginSkeleton || got.Email != want.Email ||
		got.EmailKey != want.EmailKey || got.PasswordHash != want.PasswordHash ||
		!sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.UpdatedAt, want.UpdatedAt) ||
		!sameTime(got.DisabledAt, want.DisabledAt) || got.DisabledAt.IsZero() != want.DisabledAt.IsZero() ||
		!sameTime(got.EmailVerifiedAt, want.EmailVerifiedAt) || got.EmailVerifiedAt.IsZero() != want.EmailVerifiedAt.IsZero() {
		t.Errorf("user = %+v, want %+v", got, want)
	}
}

func checkSession(t *testing.T, got, want *auth.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Generation != want.Generation ||
		!sameTime(got.RotatedAt, want.RotatedAt) || !sameTime(got.CreatedAt, want.CreatedAt) ||
		!sameTime(got.LastUsedAt, want.LastUsedAt) || !sameTime(got.RevokedAt, want.RevokedAt) ||
		got.RevokedAt.IsZero() != want.RevokedAt.IsZero() ||
		got.UserAgent != want.UserAgent || got.IP != want.IP || !slices.Equal(got.AMR, want.AMR) {
		t.Errorf("session = %+v, want %+v", got, want)
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
