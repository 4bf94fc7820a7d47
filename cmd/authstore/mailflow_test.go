package main

import (
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth/internal/pgtest"
	"github.com/emersion/go-smtp"
)

// mailbox is an SMTP server on 127.0.0.1 that keeps every message it is
// given, for tests that follow the links authstore mails.
type mailbox struct {
	addr string
	mu   sync.Mutex
	msgs []mailed
}

type mailed struct {
	to   []string
	body string // quoted-printable decoded
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb := &mailbox{addr: ln.Addr().String()}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailboxSession{mb: mb}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return mb
}

type mailboxSession struct {
	mb *mailbox
	to []string
}

func (s *mailboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailboxSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(raw))))
	if err != nil {
		body = raw
	}
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, mailed{to: s.to, body: string(body)})
	s.mb.mu.Unlock()
	return nil
}
func (s *mailboxSession) Reset()        { s.to = nil }
func (s *mailboxSession) Logout() error { return nil }

var linkToken = regexp.MustCompile(`token=([A-Za-z0-9_-]{43})`)

// waitLink waits for the n-th message (counting from 1) to addr and
// returns the token of the link it holds ("" for a message without one).
func (mb *mailbox) waitLink(t *testing.T, addr string, n int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		mb.mu.Lock()
		var mine []mailed
		for _, m := range mb.msgs {
			if len(m.to) == 1 && m.to[0] == addr {
				mine = append(mine, m)
			}
		}
		mb.mu.Unlock()
		if len(mine) >= n {
			if m := linkToken.FindStringSubmatch(mine[n-1].body); m != nil {
				return m[1]
			}
			return ""
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message %d to %s within 15 s (%d so far)", n, addr, len(mine))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count returns how many messages went to addr.
func (mb *mailbox) count(addr string) int {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	n := 0
	for _, m := range mb.msgs {
		if len(m.to) == 1 && m.to[0] == addr {
			n++
		}
	}
	return n
}

// TestMailFlowsEndToEnd runs signup, verification and a password reset
// through a real server, its outbox and sender, and a real SMTP server,
// following the links the mails carry.
func TestMailFlowsEndToEnd(t *testing.T) {
	mb := startMailbox(t)
	env := map[string]string{
		"AUTHSTORE_SMTP_URL":  "smtp://" + mb.addr + "?starttls=off",
		"AUTHSTORE_MAIL_FROM": "auth@example.com",
	}
	s := startServer(t, env, "--db", filepath.Join(t.TempDir(), "a.db"))
	const addr = "mailflow@example.com"
	up := s.post(t, "/auth/signup", map[string]any{"firstName": "Mail", "lastName": "Flow", "login": "mailflow", "email": addr, "password": "correct horse battery"})
	up.want(t, 200, "")

	// Signup → verification mail → its link → verified.
	if me := s.get(t, "/auth/me", up.str("access_token")); me.body["emailVerified"] != false {
		t.Fatalf("before the link: %s", me.raw)
	}
	verify := mb.waitLink(t, addr, 1)
	if verify == "" {
		t.Fatal("the verification mail holds no link")
	}
	s.post(t, "/auth/email/verify", map[string]any{"token": verify}).want(t, 200, "")
	if me := s.get(t, "/auth/me", up.str("access_token")); me.body["emailVerified"] != true {
		t.Fatalf("after the link: %s", me.raw)
	}
	s.post(t, "/auth/email/verify", map[string]any{"token": verify}).want(t, 400, "Invalid or expired link")

	// Forgot → mail → reset: old sessions dead, new tokens work, the old
	// password refused, the link single-use.
	s.post(t, "/auth/password/forgot", map[string]any{"email": addr}).want(t, 202, "")
	reset := mb.waitLink(t, addr, 2)
	if reset == "" {
		t.Fatal("the reset mail holds no link")
	}
	in := s.post(t, "/auth/password/reset", map[string]any{"token": reset, "newPassword": "another fine passphrase"})
	in.want(t, 200, "")
	s.post(t, refreshPath(up.str("refresh_token")), nil).want(t, 401, "Invalid token")
	s.get(t, "/auth/me", in.str("access_token")).want(t, 200, "")
	s.post(t, "/auth/signin", map[string]any{"login": "mailflow", "password": "correct horse battery"}).want(t, 400, "The login or password is incorrect")
	s.post(t, "/auth/signin", map[string]any{"login": "mailflow", "password": "another fine passphrase"}).want(t, 200, "")
	s.post(t, "/auth/password/reset", map[string]any{"token": reset, "newPassword": "yet another passphrase"}).want(t, 400, "Invalid or expired link")

	// A reset for an address without an account answers the same and
	// sends nothing.
	s.post(t, "/auth/password/forgot", map[string]any{"email": "nobody-here@example.com"}).want(t, 202, "")
	time.Sleep(1500 * time.Millisecond) // more than the sender's poll interval
	if n := mb.count("nobody-here@example.com"); n != 0 {
		t.Errorf("%d mails to an address without an account", n)
	}
	if n := mb.count(addr); n != 2 {
		t.Errorf("%d mails to %s, want 2 (verification, reset)", n, addr)
	}
}

// freeAddr returns a 127.0.0.1 address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startMailboxAt is startMailbox on addr.
func startMailboxAt(t *testing.T, addr string) *mailbox {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port was just released
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	mb := &mailbox{addr: addr}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailboxSession{mb: mb}, nil }))
	s.Domain = "localhost"
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return mb
}

// TestOutboxSurvivesKillAndOutage: a mail committed while the SMTP server
// is down stays in the outbox through a SIGKILL of the server, and goes out
// once, after the restart, when the SMTP server is back.
func TestOutboxSurvivesKillAndOutage(t *testing.T) {
	smtpAddr := freeAddr(t)
	db := filepath.Join(t.TempDir(), "a.db")
	env := []string{"AUTHSTORE_SECRET_KEY=" + newSecret(t), "AUTHSTORE_SMTP_URL=smtp://" + smtpAddr + "?starttls=off", "AUTHSTORE_MAIL_FROM=auth@example.com"}
	victim := spawnToKill(t, env, "--db", db)
	s := victim.wait(t)
	s.post(t, "/auth/signup", map[string]any{"firstName": "Kill", "lastName": "Nine", "login": "killnine", "email": "kill9@example.com", "password": "correct horse battery"}).want(t, 200, "")
	time.Sleep(1500 * time.Millisecond) // the sender tries and fails at least once
	victim.kill(t)

	mb := startMailboxAt(t, smtpAddr)
	again := spawn(t, env, "--db", db)
	again.wait(t)
	if tok := mb.waitLink(t, "kill9@example.com", 1); tok == "" {
		t.Fatal("the verification mail holds no link")
	}
	time.Sleep(2 * time.Second) // a second delivery would come within a poll or two
	if n := mb.count("kill9@example.com"); n != 1 {
		t.Errorf("%d deliveries, want exactly 1", n)
	}
}

// TestPostgresTwoInstancesShareOneOutbox: signups spread over two
// instances on one PostgreSQL database each get their mail exactly once.
func TestPostgresTwoInstancesShareOneOutbox(t *testing.T) {
	dsn := pgtest.DSN(t)
	mb := startMailbox(t)
	env := []string{"AUTHSTORE_SECRET_KEY=" + newSecret(t), "AUTHSTORE_SMTP_URL=smtp://" + mb.addr + "?starttls=off", "AUTHSTORE_MAIL_FROM=auth@example.com"}
	pa, pb := spawn(t, env, "--db", dsn, "--log-level", "warn"), spawn(t, env, "--db", dsn, "--log-level", "warn")
	a, b := pa.wait(t), pb.wait(t)
	const n = 30
	for i := range n {
		srv := []*server{a, b}[i%2]
		login := fmt.Sprintf("shared%02d", i)
		srv.post(t, "/auth/signup", map[string]any{"firstName": "S", "lastName": "O", "login": login, "email": login + "@example.com", "password": "correct horse battery"}).want(t, 200, "")
	}
	for i := range n {
		mb.waitLink(t, fmt.Sprintf("shared%02d@example.com", i), 1)
	}
	time.Sleep(2 * time.Second) // room for a duplicate to arrive
	for i := range n {
		if c := mb.count(fmt.Sprintf("shared%02d@example.com", i)); c != 1 {
			t.Errorf("shared%02d: %d deliveries, want 1", i, c)
		}
	}
}
