package auth_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// logBuffer is a JSON log sink safe for concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// events returns the audit lines logged so far, by event name.
func (l *logBuffer) events(t *testing.T) map[string][]map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(l.b.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if m["msg"] == "audit" {
			ev, _ := m["event"].(string)
			out[ev] = append(out[ev], m)
		}
	}
	return out
}

// Every audit event of a signin, a signup and a refresh reuse names the
// client IP, so that failed and throttled attempts can be traced to their
// source.
func TestAuditEventsCarryClientIP(t *testing.T) {
	logs := &logBuffer{}
	f := newFixture(t, func(c *auth.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	ctx := context.Background()
	const ip = "198.51.100.7"
	c := auth.Client{IP: ip, UserAgent: "test"}
	tok, err := f.svc.Signup(ctx, signupReq("alice", "alice@example.com"), c)
	if err != nil {
		t.Fatal(err)
	}
	in := func(login, pw string) error {
		_, err := f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String(login), Password: auth.String(pw)}, c)
		return err
	}
	if err := in("alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for range 6 { // five free failures, then one held back
		in("nobody", "wrong password")
	}
	next, err := f.svc.Refresh(ctx, tok.RefreshToken, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Refresh(ctx, next.RefreshToken, c); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(20 * time.Second) // past the grace window: the first token is now reused
	if _, err := f.svc.Refresh(ctx, tok.RefreshToken, c); err == nil {
		t.Fatal("reused token accepted")
	}
	events := logs.events(t)
	for _, ev := range []string{"signup", "signin", "signin_failed", "signin_throttled", "refresh_reuse"} {
		lines := events[ev]
		if len(lines) == 0 {
			t.Errorf("no %s event", ev)
		}
		for _, l := range lines {
			if l["ip"] != ip {
				t.Errorf("%s event with ip %v, want %s: %v", ev, l["ip"], ip, l)
			}
		}
	}
}
