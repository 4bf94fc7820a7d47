package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// The IPs of one IPv4 /24 or IPv6 /48 share the source limit of signups
// and signins, on top of their own per-IP limits; other routes do not count
// against it.
func TestThrottleSubnet(t *testing.T) {
	tests := []struct {
		name          string
		fill          []string // each makes 2 requests, its per-IP quota
		probe         string
		class         auth.RateClass
		refused       bool
		refusedPolicy string
	}{
		{"IPv4 /24 full", []string{"192.0.2.1", "192.0.2.2"}, "192.0.2.200", auth.RateSignin, true, auth.PolicySubnet},
		{"other IPv4 /24", []string{"192.0.2.1", "192.0.2.2"}, "192.0.3.1", auth.RateSignin, false, ""},
		{"IPv4-mapped in the /24", []string{"192.0.2.1", "192.0.2.2"}, "::ffff:192.0.2.9", auth.RateSignin, true, auth.PolicySubnet},
		{"IPv6 /48 full", []string{"2001:db8:1:1::1", "2001:db8:1:2::1"}, "2001:db8:1:ffff::1", auth.RateSignin, true, auth.PolicySubnet},
		{"other IPv6 /48", []string{"2001:db8:1:1::1", "2001:db8:1:2::1"}, "2001:db8:2::1", auth.RateSignin, false, ""},
		{"other routes", []string{"192.0.2.1", "192.0.2.2"}, "192.0.2.200", auth.RateOther, false, ""},
		{"per-IP limit first", []string{"192.0.2.1"}, "192.0.2.1", auth.RateSignin, true, auth.PolicySignin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *auth.Config) { c.IPRateLimit, c.SubnetRateLimit = 2, 4 })
			for _, ip := range tt.fill {
				for i := range 2 {
					if _, err := f.svc.ThrottleIP(netip.MustParseAddr(ip), auth.RateSignin); err != nil {
						t.Fatalf("%s request %d: %v", ip, i+1, err)
					}
				}
			}
			rl, err := f.svc.ThrottleIP(netip.MustParseAddr(tt.probe), tt.class)
			if got := auth.IsKind(err, auth.KindTooManyRequests); got != tt.refused {
				t.Fatalf("probe from %s: %v, want refused %v", tt.probe, err, tt.refused)
			}
			if tt.refused && (rl.Policy != tt.refusedPolicy || retryAfter(t, err) <= 0) {
				t.Errorf("refusal %+v %v, want policy %s with a Retry-After", rl, err, tt.refusedPolicy)
			}
		})
	}
}

// A failed or throttled signin makes its source (IPv4 /24, IPv6 /48)
// suspect for SuspectFor, whether or not the login exists; a success does
// not.
func TestSuspectSources(t *testing.T) {
	tests := []struct {
		name    string
		login   string
		pw      string
		tries   int
		suspect bool
	}{
		{"correct password", "alice", "correct horse battery", 1, false},
		{"wrong password", "alice", "wrong password", 1, true},
		{"unknown login", "nobody", "wrong password", 1, true},
		{"throttled", "alice", "correct horse battery", 7, true}, // after 5 wrong ones, below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *auth.Config) { c.MaxPasswordChecks = 8 })
			f.signup(t, "alice")
			ctx := context.Background()
			const ip = "203.0.113.77"
			c := auth.Client{IP: ip}
			if tt.name == "throttled" {
				for range 5 { // from elsewhere: only the 429 counts here
					f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String("alice"), Password: auth.String("wrong password")}, auth.Client{IP: "198.51.100.1"})
				}
				tt.tries = 1
			}
			for range tt.tries {
				f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String(tt.login), Password: auth.String(tt.pw)}, c)
			}
			for _, probe := range []string{ip, "203.0.113.1", "::ffff:203.0.113.200"} {
				if got := f.svc.Suspect(probe); got != tt.suspect {
					t.Errorf("Suspect(%s) = %v, want %v", probe, got, tt.suspect)
				}
			}
			if f.svc.Suspect("203.0.114.77") {
				t.Error("another /24 is suspect")
			}
			f.clock.Add(auth.SuspectFor)
			if f.svc.Suspect(ip) {
				t.Errorf("still suspect %v later", auth.SuspectFor)
			}
		})
	}
}

// Signins from suspect sources hold at most SuspectChecks places: with those
// taken, one more from a suspect source is refused with ErrBusy, for a known
// and an unknown login alike, while one from a clean source is admitted.
func TestSuspectSourcesLeaveCapacity(t *testing.T) {
	var gate *gateHasher
	f := newFixture(t, func(c *auth.Config) {
		gate = &gateHasher{PasswordHasher: c.Hasher, entered: make(chan struct{}, 8), release: make(chan struct{})}
		c.Hasher = gate
		c.MaxPasswordChecks = 8
		c.SuspectChecks = 2
		c.PasswordCheckWait = 20 * time.Millisecond
	})
	close(gate.release) // open while setting up
	f.signup(t, "alice")
	ctx := context.Background()
	attacker := auth.Client{IP: "203.0.113.9"}
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
		go func() { busy <- in(login, "guess password", auth.Client{IP: "203.0.113.10"}) }()
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
