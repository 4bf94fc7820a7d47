package auth_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// brokenWrites is a Store whose writes fail as on a full disk while broken
// is set; reads and pings keep working.
type brokenWrites struct {
	auth.Store
	broken atomic.Bool
}

func (s *brokenWrites) fail() error {
	if s.broken.Load() {
		return &auth.Error{Kind: auth.KindUnavailable, Message: "Database unavailable", Op: "sqlstore: write", Err: errors.New("database or disk is full")}
	}
	return nil
}

func (s *brokenWrites) AddLoginFailure(ctx context.Context, key string, at, forget time.Time) (auth.LoginFailures, error) {
	if err := s.fail(); err != nil {
		return auth.LoginFailures{}, err
	}
	return s.Store.AddLoginFailure(ctx, key, at, forget)
}

func (s *brokenWrites) CreateUserWithSession(ctx context.Context, u *auth.User, sess *auth.Session, mail *auth.AccountMail) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.CreateUserWithSession(ctx, u, sess, mail)
}

// Ready follows whether writes succeed, not only whether the database
// answers: once writes fail it refuses, and it recovers by a probe write
// without any traffic.
func TestReadyFollowsWrites(t *testing.T) {
	var store *brokenWrites
	f := newFixture(t, func(c *auth.Config) {
		store = &brokenWrites{Store: c.Store}
		c.Store = store
	})
	ctx := context.Background()
	steps := []struct {
		name   string
		do     func()
		broken bool
		ready  bool
	}{
		{"fresh: the probe succeeds", nil, false, true},
		{"a signup succeeds", func() { f.signup(t, "alice") }, false, true},
		{"writes break, a signup fails", func() {
			if _, err := f.svc.Signup(ctx, signupReq("bob", "bob@example.com"), auth.Client{}); !auth.IsKind(err, auth.KindUnavailable) {
				t.Fatalf("signup with writes failing: %v", err)
			}
		}, true, false},
		{"still broken a minute later, no traffic", func() { f.clock.Add(time.Minute) }, true, false},
		{"writes work again, within a second of the last probe", func() { f.clock.Add(500 * time.Millisecond) }, false, false},
		{"a second after the last probe", func() { f.clock.Add(500 * time.Millisecond) }, false, true},
		{"no writes for a minute: the probe succeeds", func() { f.clock.Add(time.Minute) }, false, true},
		{"no writes for a minute, writes broken: the probe fails", func() { f.clock.Add(time.Minute) }, true, false},
	}
	for _, st := range steps {
		store.broken.Store(st.broken)
		if st.do != nil {
			st.do()
		}
		err := f.svc.Ready(ctx)
		if (err == nil) != st.ready {
			t.Fatalf("%s: Ready() = %v, want ready %v", st.name, err, st.ready)
		}
		if err != nil && !auth.IsKind(err, auth.KindUnavailable) {
			t.Fatalf("%s: Ready() = %v, want KindUnavailable", st.name, err)
		}
	}
}

// After Drain, Ready refuses while the database is fine, and Draining says
// so.
func TestDrainMakesUnready(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.svc.Ready(context.Background()); err != nil || f.svc.Draining() {
		t.Fatalf("before Drain: Ready() = %v, Draining() = %v", err, f.svc.Draining())
	}
	f.svc.Drain()
	if err := f.svc.Ready(context.Background()); !auth.IsKind(err, auth.KindUnavailable) || !f.svc.Draining() {
		t.Fatalf("after Drain: Ready() = %v, Draining() = %v", err, f.svc.Draining())
	}
}
