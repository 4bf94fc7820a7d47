package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/authstore/auth/internal/pgtest"
)

// Sizes of the crash test's load. Signups hash (tens of milliseconds each on
// a small machine), so most writes are refreshes.
const (
	crashChains   = 6   // refresh chains, one goroutine each
	crashSignups  = 2   // goroutines signing up new users
	crashAckedMin = 300 // acknowledged writes before the kill
)

// TestCrashSafety SIGKILLs a SQLite server while signups and refreshes are
// in flight, restarts it on the same database and key file, and checks that
// no acknowledged write was lost, at both durability settings: NORMAL
// (commits survive a process crash) and FULL (also a power loss).
func TestCrashSafety(t *testing.T) {
	for _, mode := range []string{"normal", "full"} {
		t.Run("sqlite-sync="+mode, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "auth.db")
			crashAndCheck(t, nil, "--db", db, "--sqlite-sync", mode)
		})
	}
}

// TestPostgresCrashSafety is TestCrashSafety on PostgreSQL, whose commits
// are durable once acknowledged by the server.
func TestPostgresCrashSafety(t *testing.T) {
	dsn := pgtest.DSN(t)
	crashAndCheck(t, []string{"AUTHSTORE_SECRET_KEY=" + newSecret(t)}, "--db", dsn)
}

// crashAndCheck runs the load against `authstore serve args...`, SIGKILLs
// it once crashAckedMin writes were acknowledged, restarts it with the same
// arguments, and checks every acknowledged write: each user whose signup
// was answered 200 signs in, and the newest refresh token answered 200 in
// each chain refreshes with 200.
//
// A refresh the server committed but whose answer the kill cut off leaves
// the newest acknowledged token one generation behind; the grace window,
// set long enough to cover the restart, makes it return the current token.
// Each token is therefore presented once, and only the newest of its chain.
func crashAndCheck(t *testing.T, env []string, args ...string) {
	args = append(args,
		"--ip-rate-limit", "0", "--ip-refresh-rate-limit", "0", "--subnet-rate-limit", "0",
		"--refresh-grace", "2m", "--log-level", "error")
	victim := spawnToKill(t, env, args...)
	srv := victim.wait(t)

	var (
		acked   atomic.Int64
		mu      sync.Mutex
		users   []crashUser         // signups answered 200
		newest  [crashChains]string // newest refresh token answered 200
		refresh atomic.Int64        // refreshes answered 200
		cut     atomic.Int64        // requests the kill cut off: sent, not refused
	)
	for i := range crashChains {
		u := newCrashUser(i)
		rt, err := u.signup(srv.url)
		if err != nil {
			t.Fatalf("signup before the load: %v", err)
		}
		users, newest[i] = append(users, u), rt
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range crashSignups {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				u := newCrashUser(crashChains + g*100000 + n)
				if _, err := u.signup(srv.url); err != nil {
					if !isUnanswered(err) {
						t.Errorf("signup during the load: %v", err)
					} else if !errors.Is(err, syscall.ECONNREFUSED) {
						cut.Add(1)
					}
					return
				}
				mu.Lock()
				users = append(users, u)
				mu.Unlock()
				acked.Add(1)
			}
		})
	}
	for i := range crashChains {
		wg.Go(func() {
			rt := newest[i]
			for {
				select {
				case <-stop:
					return
				default:
				}
				next, err := crashRefresh(srv.url, rt)
				if err != nil {
					if !isUnanswered(err) {
						t.Errorf("refresh during the load: %v", err)
					} else if !errors.Is(err, syscall.ECONNREFUSED) {
						cut.Add(1)
					}
					return
				}
				rt = next
				mu.Lock()
				newest[i] = rt
				mu.Unlock()
				refresh.Add(1)
				acked.Add(1)
			}
		})
	}

	deadline := time.Now().Add(30 * time.Second)
	for acked.Load() < crashAckedMin && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(5 * time.Millisecond)
	}
	// The goroutines are mid-request: the kill lands on writes in flight.
	victim.kill(t)
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	if acked.Load() < crashAckedMin {
		t.Fatalf("only %d writes acknowledged in 30 s", acked.Load())
	}
	t.Logf("killed after %d acknowledged writes: %d signups (%d before the load), %d refreshes; %d requests cut off",
		acked.Load()+crashChains, len(users), crashChains, refresh.Load(), cut.Load())

	srv = spawn(t, env, args...).wait(t)
	for _, u := range users {
		if err := u.signin(srv.url); err != nil {
			t.Errorf("acknowledged signup of %s lost: %v", u.Login, err)
		}
	}
	for i, rt := range newest {
		if _, err := crashRefresh(srv.url, rt); err != nil {
			t.Errorf("chain %d: newest acknowledged refresh token lost: %v", i, err)
		}
	}
}

// unansweredError is a request that got no full HTTP answer: the server
// was killed.
type unansweredError struct{ err error }

func (e unansweredError) Error() string { return "no answer: " + e.err.Error() }
func (e unansweredError) Unwrap() error { return e.err }

func isUnanswered(err error) bool {
	var u unansweredError
	return errors.As(err, &u)
}

// crashUser is one signup of the crash test.
type crashUser struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Login     string `json:"login"`
	Email     string `json:"email"`
	Password  string `json:"password"`
}

func newCrashUser(n int) crashUser {
	return crashUser{
		FirstName: "Crash", LastName: "Test",
		Login:    fmt.Sprintf("crash%d", n),
		Email:    fmt.Sprintf("crash%d@example.com", n),
		Password: fmt.Sprintf("unlikely passphrase %d kept", n),
	}
}

// signup signs u up and returns its refresh token.
func (u crashUser) signup(base string) (string, error) {
	b, _ := json.Marshal(u)
	return crashPost(base+"/auth/signup", b)
}

func (u crashUser) signin(base string) error {
	b, _ := json.Marshal(map[string]string{"login": u.Login, "password": u.Password})
	_, err := crashPost(base+"/auth/signin", b)
	return err
}

// crashRefresh presents rt and returns the next refresh token.
func crashRefresh(base, rt string) (string, error) {
	return crashPost(base+refreshPath(rt), nil)
}

// crashPost posts body (JSON, or nothing if nil) to target and returns the
// refresh token of a 200 answer. A request that got no answer fails with
// unansweredError; any status but 200 fails too. Errors never hold a token.
func crashPost(target string, body []byte) (string, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		// A *url.Error quotes the URL, which may hold the token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", unansweredError{err}
	}
	r := decodeResponse(res)
	res.Body.Close()
	if r.status != http.StatusOK {
		return "", fmt.Errorf("status %d: %v", r.status, r.body["message"])
	}
	rt := r.str("refresh_token")
	if rt == "" {
		// A cut-off body: the answer never fully arrived.
		return "", unansweredError{errors.New("200 without a refresh token")}
	}
	return rt, nil
}

// killable is an `authstore serve` process the test SIGKILLs.
type killable struct {
	*proc
	killed bool
}

// spawnToKill starts `authstore serve --addr 127.0.0.1:0 args...` as spawn
// does; it is SIGKILLed by kill, or when the test ends.
func spawnToKill(t *testing.T, env []string, args ...string) *killable {
	t.Helper()
	k := &killable{proc: startProc(t, env, args...)}
	t.Cleanup(func() {
		if !k.killed {
			k.kill(t)
		}
	})
	return k
}

// kill sends SIGKILL and waits for the process to die of it.
func (k *killable) kill(t *testing.T) {
	t.Helper()
	k.killed = true
	if err := k.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	err := k.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the server did not die of SIGKILL: %v\n%s", err, k.stderr)
	}
}
