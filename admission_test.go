package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
// max password checks, all of which may hash at once, that wait up to wait,
// whose hasher holds every Verify until gate.release closes. Each signin's
// error arrives on done.
func gatedSignins(t *testing.T, n, max int, wait time.Duration) (f *fixture, gate *gateHasher, in auth.SigninRequest, done chan error) {
	f = newFixture(t, func(c *auth.Config) {
		gate = &gateHasher{PasswordHasher: c.Hasher, entered: make(chan struct{}, 4), release: make(chan struct{})}
		c.Hasher = gate
		c.MaxPasswordChecks = max
		c.PasswordHashes = max
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

// waitUntil polls cond; it does not measure time, it only gives up with a
// message instead of hanging until the test binary's timeout.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// One place hashing, one admitted and waiting for its hash, and a third
// refused: HashingStats counts each, and only the refusal stays counted.
func TestHashingStats(t *testing.T) {
	var gate *gateHasher
	f := newFixture(t, func(c *auth.Config) {
		gate = &gateHasher{PasswordHasher: c.Hasher, entered: make(chan struct{}, 4), release: make(chan struct{})}
		c.Hasher = gate
		c.PasswordHashes = 1
		c.MaxPasswordChecks = 2
		c.PasswordCheckWait = time.Millisecond
	})
	in := auth.SigninRequest{Login: auth.String("nobody"), Password: auth.String("whatever password")}
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := f.svc.Signin(context.Background(), in, auth.Client{})
			done <- err
		}()
	}
	<-gate.entered
	waitUntil(t, "one signin waits for its hash", func() bool { return f.svc.HashingStats().Waiting == 1 })
	if _, err := f.svc.Signin(context.Background(), in, auth.Client{}); !errors.Is(err, auth.ErrBusy) {
		t.Fatalf("third signin: %v, want ErrBusy", err)
	}
	if s := f.svc.HashingStats(); s != (auth.HashingStats{Slots: 1, InFlight: 1, Waiting: 1, Rejected: 1}) {
		t.Fatalf("HashingStats = %+v", s)
	}
	close(gate.release)
	for range 2 {
		if err := <-done; !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("admitted signin: %v, want ErrBadCredentials", err)
		}
	}
	if s := f.svc.HashingStats(); s != (auth.HashingStats{Slots: 1, Rejected: 1}) {
		t.Fatalf("HashingStats after = %+v", s)
	}
}

// countingHasher records the most Hash and Verify calls running at once.
type countingHasher struct {
	auth.PasswordHasher
	mu        sync.Mutex
	now, most int
}

func (c *countingHasher) enter() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now++
	c.most = max(c.most, c.now)
}

func (c *countingHasher) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now--
}

func (c *countingHasher) Hash(ctx context.Context, pw string) (string, error) {
	c.enter()
	defer c.leave()
	time.Sleep(time.Millisecond) // long enough for others to pile up
	return c.PasswordHasher.Hash(ctx, pw)
}

func (c *countingHasher) Verify(ctx context.Context, encoded, pw string) (bool, bool, error) {
	c.enter()
	defer c.leave()
	time.Sleep(time.Millisecond)
	return c.PasswordHasher.Verify(ctx, encoded, pw)
}

// However many signups and signins are admitted, at most PasswordHashes
// hashes run at once: the memory of hashing stays bounded.
func TestPasswordHashesBound(t *testing.T) {
	var hasher *countingHasher
	f := newFixture(t, func(c *auth.Config) {
		hasher = &countingHasher{PasswordHasher: c.Hasher}
		c.Hasher = hasher
		c.PasswordHashes = 2
		c.MaxPasswordChecks = 64
		c.PasswordCheckWait = time.Minute
	})
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = f.svc.Signup(context.Background(), signupReq(fmt.Sprint("user", i), fmt.Sprint("user", i, "@example.com")), auth.Client{})
			} else {
				_, err = f.svc.Signin(context.Background(), auth.SigninRequest{Login: auth.String(fmt.Sprint("nobody", i)), Password: auth.String("whatever password")}, auth.Client{})
				if errors.Is(err, auth.ErrBadCredentials) {
					err = nil
				}
			}
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if hasher.most > 2 || hasher.most == 0 {
		t.Errorf("%d hashes ran at once, want 1..2", hasher.most)
	}
	if s := f.svc.HashingStats(); s != (auth.HashingStats{Slots: 2}) {
		t.Errorf("HashingStats after = %+v", s)
	}
}

// A signup or signin whose context ends while it waits for a place, or
// for its hash, ends with the context's error, not ErrBusy, and is not
// counted as refused.
func TestAdmissionCancelled(t *testing.T) {
	for _, max := range []int{1, 2} { // 1: waits for a place; 2: for its hash
		t.Run(fmt.Sprint("places ", max), func(t *testing.T) {
			var gate *gateHasher
			f := newFixture(t, func(c *auth.Config) {
				gate = &gateHasher{PasswordHasher: c.Hasher, entered: make(chan struct{}, 4), release: make(chan struct{})}
				c.Hasher = gate
				c.PasswordHashes = 1
				c.MaxPasswordChecks = max
				c.PasswordCheckWait = time.Hour
			})
			in := auth.SigninRequest{Login: auth.String("nobody"), Password: auth.String("whatever password")}
			held := make(chan error, 1)
			go func() {
				_, err := f.svc.Signin(context.Background(), in, auth.Client{})
				held <- err
			}()
			<-gate.entered
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := f.svc.Signin(ctx, in, auth.Client{})
				done <- err
			}()
			if max == 2 {
				waitUntil(t, "the second signin waits for its hash", func() bool { return f.svc.HashingStats().Waiting == 1 })
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, auth.ErrBusy) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			close(gate.release)
			if err := <-held; !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("held signin: %v", err)
			}
			if s := f.svc.HashingStats(); s != (auth.HashingStats{Slots: 1}) {
				t.Fatalf("HashingStats = %+v", s)
			}
		})
	}
}
