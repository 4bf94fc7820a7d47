package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/authstore/auth"
	"github.com/authstore/auth/mail"
	"github.com/authstore/auth/token"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// outboxRow is a message of fakeOutbox with its delivery state.
type outboxRow struct {
	msg        auth.OutboxMessage
	owner      string
	leaseUntil time.Time
	sentAt     time.Time
	failedAt   time.Time
	lastError  string
}

// fakeOutbox is an in-memory auth.OutboxStore that keeps the contract's
// leases: a message is claimable when unsent, not failed, due, and not
// leased by another owner past now.
type fakeOutbox struct {
	mu   sync.Mutex
	rows []*outboxRow // in creation order
	lo   int          // rows before lo are all sent or failed
}

var _ auth.OutboxStore = (*fakeOutbox)(nil)

func (f *fakeOutbox) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]auth.OutboxMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.lo < len(f.rows) && (!f.rows[f.lo].sentAt.IsZero() || !f.rows[f.lo].failedAt.IsZero()) {
		f.lo++
	}
	var out []auth.OutboxMessage
	for _, r := range f.rows[f.lo:] {
		if len(out) >= limit {
			break
		}
		if !r.sentAt.IsZero() || !r.failedAt.IsZero() || r.msg.NextAttemptAt.After(now) {
			continue
		}
		if r.owner != "" && r.owner != owner && r.leaseUntil.After(now) {
			continue
		}
		r.owner, r.leaseUntil = owner, now.Add(lease)
		m := r.msg
		m.Payload = bytes.Clone(m.Payload)
		out = append(out, m)
	}
	return out, nil
}

// held returns the row id that owner holds, or ErrNotFound.
func (f *fakeOutbox) held(id, owner string) (*outboxRow, error) {
	for _, r := range f.rows {
		if r.msg.ID == id && r.owner == owner && r.sentAt.IsZero() && r.failedAt.IsZero() {
			return r, nil
		}
	}
	return nil, fmt.Errorf("outbox %s: %w", id, auth.ErrNotFound)
}

func (f *fakeOutbox) MarkSent(_ context.Context, id, owner string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.held(id, owner)
	if err != nil {
		return err
	}
	r.sentAt, r.msg.Payload, r.owner, r.leaseUntil = at, nil, "", time.Time{}
	return nil
}

func (f *fakeOutbox) RetryLater(_ context.Context, id, owner string, next time.Time, lastError string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.held(id, owner)
	if err != nil {
		return err
	}
	r.msg.Attempts++
	r.msg.NextAttemptAt, r.lastError, r.owner, r.leaseUntil = next, lastError, "", time.Time{}
	return nil
}

func (f *fakeOutbox) MarkFailed(_ context.Context, id, owner string, at time.Time, lastError string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.held(id, owner)
	if err != nil {
		return err
	}
	r.msg.Attempts++
	r.failedAt, r.lastError, r.msg.Payload, r.owner, r.leaseUntil = at, lastError, nil, "", time.Time{}
	return nil
}

// add puts a message for template to to in the outbox, its payload d sealed
// with s as the accounts work will, and returns its id.
func (f *fakeOutbox) add(t testing.TB, s *token.Sealer, now time.Time, template, to string, d auth.MailData) string {
	t.Helper()
	plain, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", len(f.rows)+1)
	sealed, err := s.Seal(plain, []byte(id))
	if err != nil {
		t.Fatal(err)
	}
	f.rows = append(f.rows, &outboxRow{msg: auth.OutboxMessage{
		ID: id, Template: template, To: to, Payload: sealed, CreatedAt: now, NextAttemptAt: now,
	}})
	return id
}

// row returns a copy of the row id.
func (f *fakeOutbox) row(id string) outboxRow {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rows {
		if r.msg.ID == id {
			return *r
		}
	}
	return outboxRow{}
}

// counts returns how many rows are sent, failed and neither.
func (f *fakeOutbox) counts() (sent, failed, pending int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rows {
		switch {
		case !r.sentAt.IsZero():
			sent++
		case !r.failedAt.IsZero():
			failed++
		default:
			pending++
		}
	}
	return
}

func newSealer(t testing.TB) *token.Sealer {
	t.Helper()
	s, err := token.NewSealer(bytes.Repeat([]byte{7}, token.SealerKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func defaultTemplates(t testing.TB) *mail.Templates {
	t.Helper()
	tm, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// received is a message the test server accepted.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
}

// serverOptions configure startServer.
type serverOptions struct {
	StartTLS    bool // offer STARTTLS with a self-signed certificate
	ImplicitTLS bool // TLS from the first byte
	User, Pass  string
	// Rcpt, when set, answers RCPT TO; an error refuses the recipient.
	Rcpt func(to string) error
	// Listener, when set, is served instead of a new one on 127.0.0.1:0.
	Listener net.Listener
}

// testServer is an in-process SMTP server (github.com/emersion/go-smtp)
// on 127.0.0.1 that keeps what it receives.
type testServer struct {
	Addr string
	opts serverOptions
	srv  *smtp.Server

	mu    sync.Mutex
	msgs  []received
	auths []string // usernames that authenticated
}

func startServer(t testing.TB, o serverOptions) *testServer {
	t.Helper()
	ts := &testServer{opts: o}
	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, tlsOn := c.TLSConnectionState()
		return &session{ts: ts, conn: c, tlsOn: tlsOn}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = quietLogger{}
	if o.StartTLS || o.ImplicitTLS {
		cfg := selfSigned(t)
		if o.StartTLS {
			s.TLSConfig = cfg
		}
		if o.ImplicitTLS {
			ln = tls.NewListener(ln, cfg)
		}
	}
	ts.srv = s
	ts.Addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ts
}

func (ts *testServer) Close() { ts.srv.Close() }

func (ts *testServer) received() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.msgs)
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
func (quietLogger) Println(...any)        {}

// session is one SMTP session of testServer.
type session struct {
	ts    *testServer
	conn  *smtp.Conn
	tlsOn bool
	authd bool
	from  string
	to    []string
}

func (s *session) AuthMechanisms() []string {
	if s.ts.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.ts.opts.User || pass != s.ts.opts.Pass {
			return smtp.ErrAuthFailed
		}
		s.authd = true
		s.ts.mu.Lock()
		s.ts.auths = append(s.ts.auths, user)
		s.ts.mu.Unlock()
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.ts.opts.User != "" && !s.authd {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ts.opts.Rcpt != nil {
		if err := s.ts.opts.Rcpt(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, tlsOn := s.conn.TLSConnectionState()
	s.ts.mu.Lock()
	s.ts.msgs = append(s.ts.msgs, received{From: s.from, To: slices.Clone(s.to), Data: b, TLS: tlsOn || s.tlsOn})
	s.ts.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// selfSigned returns a server TLS config with a certificate for 127.0.0.1
// and localhost made on the spot.
func selfSigned(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// parsed is a received message taken apart.
type parsed struct {
	Subject, From, To, MessageID string
	Text, HTML                   string
}

// parse reads a multipart/alternative message as go-mail writes it.
func parse(t testing.TB, data []byte) parsed {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{Subject: subject, From: m.Header.Get("From"), To: m.Header.Get("To"), MessageID: m.Header.Get("Message-Id")}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("content type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(part) // NextPart decodes quoted-printable
		if err != nil {
			t.Fatal(err)
		}
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/plain":
			p.Text = string(b)
		case "text/html":
			p.HTML = string(b)
		}
	}
	return p
}

// logBuffer is a slog logger writing JSON lines to a buffer, safe for
// concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// smtpTransport returns the SMTP transport of rawURL, from
// authstore@example.com.
func smtpTransport(t testing.TB, rawURL string) *mail.SMTP {
	t.Helper()
	o, err := mail.ParseSMTPURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	from, err := mail.ParseFrom("Authstore <authstore@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := mail.NewSMTP(o, from)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// noBackoff retries at once.
func noBackoff(int) time.Duration { return 0 }

// constReader reads as an endless run of its byte.
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}
