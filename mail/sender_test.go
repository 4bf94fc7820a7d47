package mail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/authstore/auth"
	"github.com/authstore/auth/mail"
)

// senderFor returns a sender of store through tr, with clock c, retrying
// at once unless cfg says otherwise.
func senderFor(t testing.TB, store auth.OutboxStore, tr mail.Transport, c *clock, cfg mail.Config) *mail.Sender {
	t.Helper()
	cfg.Store, cfg.Transport, cfg.Now = store, tr, c.Now
	if cfg.Opener == nil {
		cfg.Opener = newSealer(t)
	}
	if cfg.Templates == nil {
		cfg.Templates = defaultTemplates(t)
	}
	if cfg.Owner == "" {
		cfg.Owner = "test-1"
	}
	if cfg.Backoff == nil {
		cfg.Backoff = noBackoff
	}
	s, err := mail.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Each template reaches the SMTP server with its subject, from, to, text
// and HTML parts, and the link; the row is then sent, its payload wiped.
func TestSenderDeliversEachTemplate(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{})
	c, store, seal := newClock(), &fakeOutbox{}, newSealer(t)
	ids := map[string]string{} // id -> template
	for i, name := range mail.TemplateNames() {
		d := auth.MailData{Link: fmt.Sprintf("https://app.example.com/x?token=tok%d", i), Login: "alice", FirstName: "Alice", NewEmail: "new@example.com"}
		ids[store.add(t, seal, c.Now(), name, fmt.Sprintf("user%d@example.com", i), d)] = name
	}
	s := senderFor(t, store, smtpTransport(t, "smtp://"+srv.Addr), c, mail.Config{Opener: seal})
	if n, err := s.SendBatch(context.Background()); err != nil || n != 4 {
		t.Fatalf("SendBatch: %d, %v", n, err)
	}
	got := srv.received()
	if len(got) != 4 {
		t.Fatalf("received %d messages, want 4", len(got))
	}
	for i, r := range got {
		p := parse(t, r.Data)
		id := strings.TrimSuffix(strings.TrimPrefix(p.MessageID, "<"), "@example.com>")
		name, ok := ids[id]
		if !ok {
			t.Fatalf("Message-Id %q names no outbox row", p.MessageID)
		}
		want, _ := defaultTemplates(t).Render(name, auth.MailData{})
		link := fmt.Sprintf("https://app.example.com/x?token=tok%d", i)
		switch {
		case r.From != "authstore@example.com" || p.From != `"Authstore" <authstore@example.com>`:
			t.Errorf("%s: from %q / %q", name, r.From, p.From)
		case len(r.To) != 1 || r.To[0] != fmt.Sprintf("user%d@example.com", i) || p.To != "<"+r.To[0]+">":
			t.Errorf("%s: to %q / %q", name, r.To, p.To)
		case p.Subject != want.Subject:
			t.Errorf("%s: subject %q, want %q", name, p.Subject, want.Subject)
		case !strings.Contains(p.Text, link) || !strings.Contains(p.HTML, `href="`+link+`"`):
			t.Errorf("%s: the link is missing:\ntext %q\nhtml %q", name, p.Text, p.HTML)
		}
		if row := store.row(id); row.sentAt.IsZero() || row.msg.Payload != nil {
			t.Errorf("%s: row not sent or payload kept: %+v", name, row)
		}
	}
	if st := s.Stats(); st != (mail.Stats{Sent: 4}) {
		t.Errorf("stats %+v", st)
	}
}

// With the SMTP server down, messages are retried on the backoff schedule
// (5s, 10s, ... on the injected clock), then each is delivered exactly once
// when it is up.
func TestSenderRetriesThroughOutage(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there for now
	c, store, seal := newClock(), &fakeOutbox{}, newSealer(t)
	var ids []string
	for i := range 3 {
		ids = append(ids, store.add(t, seal, c.Now(), mail.TemplateResetPassword, fmt.Sprintf("u%d@example.com", i), auth.MailData{Link: "https://x/r?token=t"}))
	}
	// constReader(0) makes the jitter factor 0.75: waits of 3.75s, 7.5s.
	s := senderFor(t, store, smtpTransport(t, "smtp://"+addr+"?timeout=2s"), c, mail.Config{
		Opener: seal, Backoff: mail.ExponentialBackoff(5*time.Second, time.Hour, constReader(0)),
	})
	ctx := context.Background()
	for attempt, wait := range []time.Duration{3750 * time.Millisecond, 7500 * time.Millisecond} {
		start := c.Now()
		if n, err := s.SendBatch(ctx); n != 3 || err != nil {
			t.Fatalf("attempt %d: claimed %d, %v", attempt+1, n, err)
		}
		for _, id := range ids {
			r := store.row(id)
			if r.msg.Attempts != attempt+1 || !r.msg.NextAttemptAt.Equal(start.Add(wait)) || !strings.Contains(r.lastError, "connecting to "+addr) {
				t.Fatalf("attempt %d: row %+v, want next attempt at +%v", attempt+1, r, wait)
			}
		}
		c.Advance(wait - time.Millisecond)
		if n, _ := s.SendBatch(ctx); n != 0 {
			t.Fatalf("claimed %d before they were due", n)
		}
		c.Advance(time.Millisecond)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	srv := startServer(t, serverOptions{Listener: ln})
	if n, err := s.SendBatch(ctx); n != 3 || err != nil {
		t.Fatalf("after the outage: claimed %d, %v", n, err)
	}
	c.Advance(time.Hour)
	if n, _ := s.SendBatch(ctx); n != 0 {
		t.Fatalf("claimed %d after delivery", n)
	}
	if got := srv.received(); len(got) != 3 {
		t.Fatalf("received %d, want 3", len(got))
	}
	if st := s.Stats(); st != (mail.Stats{Sent: 3, Retried: 6}) {
		t.Errorf("stats %+v", st)
	}
}

// Over one connection: a 5xx reply fails the message for good, a 4xx one
// leaves it for a retry, and the messages after them are still delivered.
func TestSenderSMTPReplies(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{Rcpt: func(to string) error {
		switch {
		case strings.HasPrefix(to, "perm"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case strings.HasPrefix(to, "temp"):
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}})
	c, store, seal := newClock(), &fakeOutbox{}, newSealer(t)
	d := auth.MailData{Link: "https://x/v?token=t"}
	perm := store.add(t, seal, c.Now(), mail.TemplateVerifyEmail, "perm@example.com", d)
	temp := store.add(t, seal, c.Now(), mail.TemplateVerifyEmail, "temp@example.com", d)
	ok := store.add(t, seal, c.Now(), mail.TemplateVerifyEmail, "ok@example.com", d)
	s := senderFor(t, store, smtpTransport(t, "smtp://"+srv.Addr), c, mail.Config{Opener: seal, Backoff: func(int) time.Duration { return time.Minute }})
	if _, err := s.SendBatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := store.row(perm); r.failedAt.IsZero() || !strings.Contains(r.lastError, "550") || r.msg.Payload != nil {
		t.Errorf("5xx: %+v, want failed", r)
	}
	if r := store.row(temp); r.msg.Attempts != 1 || !r.failedAt.IsZero() || !strings.Contains(r.lastError, "451") || !r.msg.NextAttemptAt.Equal(c.Now().Add(time.Minute)) {
		t.Errorf("4xx: %+v, want retried in a minute", r)
	}
	if r := store.row(ok); r.sentAt.IsZero() {
		t.Errorf("ok: %+v, want sent", r)
	}
	if got := srv.received(); len(got) != 1 || got[0].To[0] != "ok@example.com" {
		t.Errorf("received %+v", got)
	}
	if st := s.Stats(); st != (mail.Stats{Sent: 1, Retried: 1, Failed: 1}) {
		t.Errorf("stats %+v", st)
	}
}

// failingTransport fails every message with err, counting its calls.
type failingTransport struct {
	err error
	mu  sync.Mutex
	n   int
}

func (f *failingTransport) Send(_ context.Context, msgs []mail.Message) []error {
	f.mu.Lock()
	f.n += len(msgs)
	f.mu.Unlock()
	errs := make([]error, len(msgs))
	for i := range errs {
		errs[i] = f.err
	}
	return errs
}

// Messages are given up after MaxAttempts transient failures, and at once
// when their payload cannot be opened or decoded or their template is
// unknown (those are never handed to the transport).
func TestSenderGivesUp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		corrupt      func(*outboxRow)
		err          error
		wantAttempts int // attempts when given up
		wantSends    int // messages handed to the transport
		wantErr      string
	}{
		{"transient until MaxAttempts", nil, errors.New("connection refused"), 3, 3, "connection refused"},
		{"payload of another row", func(r *outboxRow) { r.msg.ID = "00000000-0000-4000-8000-999999999999" }, nil, 1, 0, "cannot be opened"},
		{"payload tampered", func(r *outboxRow) { r.msg.Payload[len(r.msg.Payload)-1] ^= 1 }, nil, 1, 0, "cannot be opened"},
		{"unknown template", func(r *outboxRow) { r.msg.Template = "welcome" }, nil, 1, 0, "unknown template"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, store, seal := newClock(), &fakeOutbox{}, newSealer(t)
			store.add(t, seal, c.Now(), mail.TemplateResetPassword, "a@example.com", auth.MailData{Link: "https://x/?token=t"})
			if tc.corrupt != nil {
				tc.corrupt(store.rows[0])
			}
			tr := &failingTransport{err: tc.err}
			s := senderFor(t, store, tr, c, mail.Config{Opener: seal, MaxAttempts: 3})
			for range 5 {
				if _, err := s.SendBatch(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			r := *store.rows[0]
			if r.failedAt.IsZero() || r.msg.Attempts != tc.wantAttempts || !strings.Contains(r.lastError, tc.wantErr) || r.msg.Payload != nil {
				t.Errorf("row %+v, want failed after %d attempts with %q", r, tc.wantAttempts, tc.wantErr)
			}
			if tr.n != tc.wantSends {
				t.Errorf("%d sends, want %d", tr.n, tc.wantSends)
			}
			if st := s.Stats(); st.Failed != 1 || st.Sent != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// Two senders with different owners on one outbox send every message, and
// none twice.
func TestTwoSendersNeverSendTheSameMessage(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{})
	c, store, seal := newClock(), &fakeOutbox{}, newSealer(t)
	const total = 300
	for i := range total {
		store.add(t, seal, c.Now(), mail.TemplateVerifyEmail, fmt.Sprintf("u%d@example.com", i), auth.MailData{Link: "https://x/?token=t"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var senders []*mail.Sender
	for _, owner := range []string{"host-a-1-x", "host-b-2-y"} {
		s := senderFor(t, store, smtpTransport(t, "smtp://"+srv.Addr), c, mail.Config{Opener: seal, Owner: owner, Batch: 8, PollInterval: time.Millisecond})
		senders = append(senders, s)
		wg.Go(func() { s.Run(ctx) })
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if sent, _, _ := store.counts(); sent == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not all sent in 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	seen := map[string]int{}
	for _, r := range srv.received() {
		seen[parse(t, r.Data).MessageID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
	a, b := senders[0].Stats().Sent, senders[1].Stats().Sent
	if len(seen) != total || a+b != total {
		t.Errorf("%d distinct messages received, senders sent %d + %d; want %d", len(seen), a, b, total)
	}
	t.Logf("sender a sent %d, sender b %d", a, b)
}

// Wake makes Run send at once despite a long poll interval, and never
// blocks, Run or not.
func TestSenderWake(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{})
	c, store, seal := newClock(), &fakeOutbox{}, newSealer(t)
	s := senderFor(t, store, smtpTransport(t, "smtp://"+srv.Addr), c, mail.Config{Opener: seal, PollInterval: time.Hour})
	for range 1000 {
		s.Wake()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	// Run's first claim finds nothing; the next waits for a wake-up.
	time.Sleep(50 * time.Millisecond)
	store.add(t, seal, c.Now(), mail.TemplateVerifyEmail, "a@example.com", auth.MailData{Link: "https://x/?token=t"})
	s.Wake()
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.received()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not sent 10s after Wake")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// Neither the SMTP password nor a link's token reaches a log line or a
// stored error, whether the server refuses the password or takes it.
func TestSenderLogsNoSecret(t *testing.T) {
	t.Parallel()
	const (
		pass  = "Hunter2-right"
		wrong = "Hunter2-wrong"
		tok   = "TOKEN-d41d8cd98f00b204"
	)
	srv := startServer(t, serverOptions{StartTLS: true, User: "app", Pass: pass})
	c, store, seal := newClock(), &fakeOutbox{}, newSealer(t)
	id := store.add(t, seal, c.Now(), mail.TemplateResetPassword, "a@example.com", auth.MailData{Link: "https://x/reset?token=" + tok})
	var logs logBuffer
	for _, p := range []string{wrong, pass} {
		tr := smtpTransport(t, "smtp://app:"+p+"@"+srv.Addr+"?insecure_skip_verify=true")
		s := senderFor(t, store, tr, c, mail.Config{Opener: seal, Logger: logs.Logger()})
		if _, err := s.SendBatch(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	r := store.row(id)
	if r.sentAt.IsZero() || r.msg.Attempts != 1 {
		t.Fatalf("row %+v, want sent at the second attempt", r)
	}
	out := logs.String() + r.lastError
	for _, secret := range []string{pass, wrong, tok} {
		if strings.Contains(out, secret) {
			t.Errorf("%q appears in the logs or the stored error:\n%s", secret, out)
		}
	}
	if !strings.Contains(logs.String(), "mail attempt failed") || !strings.Contains(logs.String(), "mail sent") {
		t.Errorf("logs lack the outcomes:\n%s", logs.String())
	}
}

// The log transport writes the link (it is for development) and never
// fails.
func TestLogTransport(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	errs := mail.Log{Logger: logs.Logger()}.Send(context.Background(), []mail.Message{{ID: "1", To: "a@example.com", Subject: "s", Text: "open https://x/?token=abc"}})
	if errs[0] != nil || !strings.Contains(logs.String(), "https://x/?token=abc") {
		t.Errorf("err %v, log %s", errs[0], logs.String())
	}
}

func TestExponentialBackoff(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		r       io.Reader
		attempt int
		want    time.Duration
	}{
		{"first, least jitter", constReader(0), 1, 3750 * time.Millisecond},
		{"second", constReader(0), 2, 7500 * time.Millisecond},
		{"ninth", constReader(0), 9, 1280 * time.Second * 3 / 4},
		{"tenth", constReader(0), 10, 2560 * time.Second * 3 / 4},
		{"capped at an hour", constReader(0), 11, 45 * time.Minute},
		{"far past the cap", constReader(0), 1000, 45 * time.Minute},
		{"no randomness: no jitter", errReader{}, 3, 20 * time.Second},
	}
	for _, c := range cases {
		if got := mail.ExponentialBackoff(5*time.Second, time.Hour, c.r)(c.attempt); got != c.want {
			t.Errorf("%s: attempt %d: %v, want %v", c.name, c.attempt, got, c.want)
		}
	}
	// The most jitter is at most 1.25 times the wait.
	if got := mail.ExponentialBackoff(5*time.Second, time.Hour, constReader(0xff))(1); got < 6*time.Second || got > 6250*time.Millisecond {
		t.Errorf("most jitter: %v, want in [6s, 6.25s]", got)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
