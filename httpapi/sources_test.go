package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
)

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
			hs, clk, suspect := newThrottledHarness(t, httpapi.Config{}, nil)
			if ex := hs.do(t, "POST", "/auth/signup", signupBody("alice"), viaProxy("198.51.100.1")); ex.status != 200 {
				t.Fatalf("signup: %d %s", ex.status, ex.body)
			}
			const ip = "203.0.113.77"
			if tt.name == "throttled" {
				for range 5 { // from elsewhere: only the 429 counts here
					hs.do(t, "POST", "/auth/signin", jsonFields("login", "alice", "password", "wrong password"), viaProxy("198.51.100.1"))
				}
				tt.tries = 1
			}
			for range tt.tries {
				hs.do(t, "POST", "/auth/signin", jsonFields("login", tt.login, "password", tt.pw), viaProxy(ip))
			}
			for _, probe := range []string{ip, "203.0.113.1", "::ffff:203.0.113.200"} {
				if got := suspect(probe); got != tt.suspect {
					t.Errorf("suspect(%s) = %v, want %v", probe, got, tt.suspect)
				}
			}
			if suspect("203.0.114.77") {
				t.Error("another /24 is suspect")
			}
			clk.Add(httpapi.SuspectFor)
			if suspect(ip) {
				t.Errorf("still suspect %v later", httpapi.SuspectFor)
			}
		})
	}
}

// verifyGate blocks every Verify until release is closed, and tells entered
// of each.
type verifyGate struct {
	auth.PasswordHasher
	entered chan struct{}
	release chan struct{}
}

func (g *verifyGate) Verify(ctx context.Context, encoded, password string) (bool, bool, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.PasswordHasher.Verify(ctx, encoded, password)
}

// Over HTTP: after a failed signin, the signins of its source reach the
// service as suspect and, with the SuspectChecks places taken, get 503
// Service busy, while a clean source's signin is admitted.
func TestSuspectSourcesShed(t *testing.T) {
	var gate *verifyGate
	hs, _, _ := newThrottledHarness(t, httpapi.Config{}, func(c *auth.Config) {
		gate = &verifyGate{PasswordHasher: c.Hasher, entered: make(chan struct{}, 8), release: make(chan struct{})}
		c.Hasher = gate
		c.MaxPasswordChecks = 8
		c.PasswordHashes = 8 // every admitted signin reaches the hasher
		c.SuspectChecks = 1
		c.PasswordCheckWait = 20 * time.Millisecond
	})
	close(gate.release) // open while setting up
	if ex := hs.do(t, "POST", "/auth/signup", signupBody("alice"), viaProxy("198.51.100.1")); ex.status != 200 {
		t.Fatalf("signup: %d %s", ex.status, ex.body)
	}
	if ex := hs.do(t, "POST", "/auth/signin", jsonFields("login", "nobody", "password", "guess password"), viaProxy("203.0.113.9")); ex.status != 400 {
		t.Fatalf("first guess: %d %s", ex.status, ex.body)
	}
	<-gate.entered
	gate.release = make(chan struct{})

	signin := func(login, pw, ip string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/auth/signin", strings.NewReader(`{"login":"`+login+`","password":"`+pw+`"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Forwarded-For", ip)
		w := httptest.NewRecorder()
		hs.h.ServeHTTP(w, r)
		return w
	}
	done := make(chan *httptest.ResponseRecorder, 2)
	go func() { done <- signin("nobody", "guess password", "203.0.113.9") }() // the suspect place
	<-gate.entered
	for _, login := range []string{"nobody", "alice"} {
		busy := make(chan *httptest.ResponseRecorder, 1)
		go func() { busy <- signin(login, "guess password", "203.0.113.10") }()
		select {
		case w := <-busy:
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "Service busy, please retry") {
				t.Errorf("suspect source, %s, suspect place taken: %d %s, want 503 Service busy with Retry-After", login, w.Code, w.Body)
			}
		case <-gate.entered:
			t.Fatalf("suspect source, %s, admitted with the suspect place taken", login)
		}
	}
	go func() { done <- signin("alice", "correct horse battery", "198.51.100.20") }()
	select {
	case <-gate.entered: // admitted to the hasher
	case w := <-done:
		t.Fatalf("clean source refused while only the suspect place was taken: %d %s", w.Code, w.Body)
	case <-time.After(10 * time.Second):
		t.Fatal("clean source not admitted")
	}
	close(gate.release)
	codes := map[int]int{}
	for range 2 {
		codes[(<-done).Code]++
	}
	if codes[200] != 1 || codes[400] != 1 {
		t.Errorf("answers %v, want one 200 and one 400", codes)
	}
}
