package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// Signins of suspect clients hold at most SuspectChecks places: with those
// taken, one more suspect one is refused with ErrBusy, for a known and an
// unknown login alike, while a clean one is admitted. (Which clients are
// suspect is the transport's to say: httpapi's TestSuspectSources.)
func TestSuspectSourcesLeaveCapacity(t *testing.T) {
	var gate *gateHasher
	f := newFixture(t, func(c *auth.Config) {
		gate = &gateHasher{PasswordHasher: c.Hasher, entered: make(chan struct{}, 8), release: make(chan struct{})}
		c.Hasher = gate
		c.MaxPasswordChecks = 8
		c.PasswordHashes = 8 // every admitted signin reaches the hasher
		c.SuspectChecks = 2
		c.PasswordCheckWait = 20 * time.Millisecond
	})
	close(gate.release) // open while setting up
	f.signup(t, "alice")
	ctx := context.Background()
	attacker := auth.Client{IP: "203.0.113.9", Suspect: true}
	in := func(login, pw string, c auth.Client) error {
		_, err := f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String(login), Password: auth.String(pw)}, c)
		return err
	}
	if err := in("nobody", "guess password", attacker); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("first guess: %v", err)
	}
	<-gate.entered
	gate.release = make(chan struct{})

	done := make(chan error, 3)
	for range 2 { // the suspect places, held in the hasher
		go func() { done <- in("nobody", "guess password", attacker) }()
		<-gate.entered
	}
	for _, login := range []string{"nobody", "alice"} {
		busy := make(chan error, 1)
		go func() { busy <- in(login, "guess password", auth.Client{IP: "203.0.113.10", Suspect: true}) }()
		select {
		case err := <-busy:
			if !errors.Is(err, auth.ErrBusy) {
				t.Errorf("suspect source, %s, suspect places taken: %v, want ErrBusy", login, err)
			}
		case <-gate.entered:
			t.Fatalf("suspect source, %s, admitted with the suspect places taken", login)
		}
	}
	go func() { done <- in("alice", "correct horse battery", auth.Client{IP: "198.51.100.20"}) }()
	select {
	case <-gate.entered: // admitted to the hasher
	case err := <-done:
		t.Fatalf("clean source refused while only suspect places were taken: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("clean source not admitted")
	}
	close(gate.release)
	var ok, bad int
	for range 3 {
		switch err := <-done; {
		case err == nil:
			ok++
		case errors.Is(err, auth.ErrBadCredentials):
			bad++
		default:
			t.Errorf("signin: %v", err)
		}
	}
	if ok != 1 || bad != 2 {
		t.Errorf("%d signed in, %d refused as incorrect; want 1 and 2", ok, bad)
	}
}
