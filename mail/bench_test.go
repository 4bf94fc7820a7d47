package mail_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/authstore/auth"
	"github.com/authstore/auth/mail"
)

// BenchmarkSenderSMTP measures mails delivered per second by one sender to
// the in-process SMTP server on 127.0.0.1: open, render, send, MarkSent,
// with one connection per batch (batch=1 is one connection per message),
// in clear and with STARTTLS.
//
//	go test ./mail -run '^$' -bench SenderSMTP -benchtime 3000x
func BenchmarkSenderSMTP(b *testing.B) {
	for _, c := range []struct {
		tls   bool
		batch int
	}{{false, 1}, {false, 32}, {true, 1}, {true, 32}} {
		name, query := fmt.Sprintf("plain/batch=%d", c.batch), ""
		if c.tls {
			name, query = fmt.Sprintf("starttls/batch=%d", c.batch), "?starttls=required&insecure_skip_verify=true"
		}
		b.Run(name, func(b *testing.B) {
			srv := startServer(b, serverOptions{StartTLS: c.tls})
			clk, store, seal := newClock(), &fakeOutbox{}, newSealer(b)
			for i := range b.N {
				store.add(b, seal, clk.Now(), mail.TemplateVerifyEmail, fmt.Sprintf("u%d@example.com", i), auth.MailData{Link: "https://app.example.com/verify?token=abcdefghijklmnopqrstuvwxyz012345", FirstName: "Alice"})
			}
			s := senderFor(b, store, smtpTransport(b, "smtp://"+srv.Addr+query), clk, mail.Config{Opener: seal, Batch: c.batch})
			b.ResetTimer()
			for {
				n, err := s.SendBatch(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			b.StopTimer()
			if st := s.Stats(); st.Sent != uint64(b.N) {
				b.Fatalf("sent %d of %d", st.Sent, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
		})
	}
}
