package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// gateHasher blocks every Verify until release is closed.
type gateHasher struct {
	auth.PasswordHasher
	entered chan struct{}
	release chan struct{}
}

func (g *gateHasher) Verify(ctx context.Context, encoded, password string) (bool, bool, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.PasswordHasher.Verify(ctx, encoded, password)
}

// gatedSignins starts n signins of an unknown login on a Service bounded to
// max password checks that wait up to wait, whose hasher holds every Verify
// until gate.release closes. Each signin's error arrives on done.
func gatedSignins(t *testing.T, n, max int, wait time.Duration) (f *fixture, gate *gateHasher, in auth.SigninRequest, done chan error) {
	f = newFixture(t, func(c *auth.Config) {
		gate = &gateHasher{PasswordHasher: c.Hasher, entered: make(chan struct{}, 4), release: make(chan struct{})}
		c.Hasher = gate
		c.MaxPasswordChecks = max
		c.PasswordCheckWait = wait
	})
	in = auth.SigninRequest{Login: auth.String("nobody"), Password: auth.String("whatever password")}
	done = make(chan error, n)
	for range n {
		go func() {
			_, err := f.svc.Signin(context.Background(), in, auth.Client{})
			done <- err
		}()
	}
	return f, gate, in, done
}

// With MaxPasswordChecks signins in progress, one more waits
// PasswordCheckWait and is refused with ErrBusy, before any database call;
// the bound frees up as they end.
func TestMaxPasswordChecks(t *testing.T) {
	f, gate, in, done := gatedSignins(t, 2, 2, time.Millisecond)
	<-gate.entered
	<-gate.entered
	if _, err := f.svc.Signin(context.Background(), in, auth.Client{}); !errors.Is(err, auth.ErrBusy) {
		t.Fatalf("third signin while two are checked: %v, want ErrBusy", err)
	}
	if _, err := f.svc.Signup(context.Background(), signupReq("third", "third@example.com"), auth.Client{}); !errors.Is(err, auth.ErrBusy) {
		t.Fatalf("signup while two signins are checked: %v, want ErrBusy", err)
	}
	close(gate.release)
	for range 2 {
		if err := <-done; !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("admitted signin: %v, want ErrBadCredentials", err)
		}
	}
	// Free again: a signup goes through (it hashes, which Verify does not gate).
	f.signup(t, "fourth")
}

// A signin waiting for a place goes on when one frees up within
// PasswordCheckWait.
func TestMaxPasswordChecksWait(t *testing.T) {
	_, gate, _, done := gatedSignins(t, 2, 1, time.Minute)
	<-gate.entered // one is hashing, the other waits for its place
	select {
	case err := <-done:
		t.Fatalf("a signin ended while the other held the only place: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(gate.release)
	for range 2 {
		if err := <-done; !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("signin: %v, want ErrBadCredentials (admitted after waiting)", err)
		}
	}
}
