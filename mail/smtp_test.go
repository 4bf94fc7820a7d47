package mail_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth/mail"
)

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	const secret = "s3cr%3At" // the password "s3cr:t", URL-encoded
	cases := []struct {
		url     string
		want    mail.SMTPOptions
		wantErr string
	}{
		{url: "smtp://localhost:25", want: mail.SMTPOptions{Host: "localhost", Port: 25, StartTLS: "opportunistic"}},
		{url: "smtp://relay", want: mail.SMTPOptions{Host: "relay", Port: 25, StartTLS: "opportunistic"}},
		{url: "smtp://u:" + secret + "@mx.example.com:587", want: mail.SMTPOptions{Host: "mx.example.com", Port: 587, Username: "u", Password: "s3cr:t", StartTLS: "required"}},
		{url: "smtp://u:" + secret + "@mx:587?starttls=opportunistic&auth=LOGIN&timeout=5s", want: mail.SMTPOptions{Host: "mx", Port: 587, Username: "u", Password: "s3cr:t", StartTLS: "opportunistic", Auth: "LOGIN", Timeout: 5 * time.Second}},
		{url: "smtp://[::1]:2525?starttls=off", want: mail.SMTPOptions{Host: "::1", Port: 2525, StartTLS: "off"}},
		{url: "smtps://u:" + secret + "@mx", want: mail.SMTPOptions{Host: "mx", Port: 465, Username: "u", Password: "s3cr:t", ImplicitTLS: true, StartTLS: "required"}},
		{url: "smtps://127.0.0.1:4650?insecure_skip_verify=true", want: mail.SMTPOptions{Host: "127.0.0.1", Port: 4650, ImplicitTLS: true, StartTLS: "opportunistic", InsecureSkipVerify: true}},
		{url: "http://u:" + secret + "@mx", wantErr: `scheme "http"`},
		{url: "smtp://u:" + secret + "@mx:99999", wantErr: "port"},
		{url: "smtp://u:" + secret + "@mx:bad port", wantErr: "not a URL"},
		{url: "smtp://u:" + secret + "@/x", wantErr: "no path"},
		{url: "smtp://u:" + secret + "@:25", wantErr: "no host"},
		{url: "smtp://:" + secret + "@mx", wantErr: "without a user"},
		{url: "smtp://u:" + secret + "@mx?starttls=maybe", wantErr: "starttls"},
		{url: "smtps://u:" + secret + "@mx?starttls=required", wantErr: "smtps"},
		{url: "smtp://u:" + secret + "@mx?auth=HOPE", wantErr: "auth"},
		{url: "smtp://u:" + secret + "@mx?timeout=-1s", wantErr: "timeout"},
		{url: "smtp://u:" + secret + "@mx?tls=yes", wantErr: `unknown option "tls"`},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			t.Parallel()
			got, err := mail.ParseSMTPURL(c.url)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), "s3cr") {
					t.Errorf("the error holds the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestParseFrom(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"no-reply@example.com", true},
		{"Example <no-reply@example.com>", true},
		{"no-reply", false},
		{"", false},
		{"a@b.com, c@d.com", false},
	} {
		if _, err := mail.ParseFrom(c.in); (err == nil) != c.ok {
			t.Errorf("ParseFrom(%q): %v, want ok=%v", c.in, err, c.ok)
		}
	}
}

// Each TLS mode against the server it fits, and the refusals: STARTTLS
// offered is used, required STARTTLS refuses a server without it, smtps://
// is TLS from the start, and a plain relay without TLS or auth works.
func TestSMTPTransportTLS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		server  serverOptions
		url     string // %s: the server's address
		wantTLS bool
		wantErr string
	}{
		{"plain relay", serverOptions{}, "smtp://%s", false, ""},
		{"STARTTLS offered is used", serverOptions{StartTLS: true}, "smtp://%s?insecure_skip_verify=true", true, ""},
		{"STARTTLS required and offered", serverOptions{StartTLS: true}, "smtp://%s?starttls=required&insecure_skip_verify=true", true, ""},
		{"STARTTLS required, not offered", serverOptions{}, "smtp://%s?starttls=required", false, "STARTTLS"},
		{"STARTTLS off", serverOptions{StartTLS: true}, "smtp://%s?starttls=off", false, ""},
		{"implicit TLS", serverOptions{ImplicitTLS: true}, "smtps://%s?insecure_skip_verify=true", true, ""},
		{"self-signed refused", serverOptions{StartTLS: true}, "smtp://%s?starttls=required", false, "certificate"},
		{"auth over STARTTLS", serverOptions{StartTLS: true, User: "app", Pass: "pa55"}, "smtp://app:pa55@%s?insecure_skip_verify=true", true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, c.server)
			tr := smtpTransport(t, fmt.Sprintf(c.url, srv.Addr))
			errs := tr.Send(context.Background(), []mail.Message{{ID: "m1", To: "bob@example.com", Subject: "Hi", Text: "text", HTML: "<p>html</p>"}})
			if c.wantErr != "" {
				if errs[0] == nil || !strings.Contains(errs[0].Error(), c.wantErr) || mail.IsPermanent(errs[0]) {
					t.Fatalf("err %v, want a transient one containing %q", errs[0], c.wantErr)
				}
				return
			}
			if errs[0] != nil {
				t.Fatal(errs[0])
			}
			got := srv.received()
			if len(got) != 1 || got[0].TLS != c.wantTLS {
				t.Fatalf("received %d messages, TLS %v; want 1, TLS %v", len(got), len(got) > 0 && got[0].TLS, c.wantTLS)
			}
		})
	}
}

// The SMTP password appears in no error, whatever fails: a wrong password,
// a server that refuses, a URL that does not parse.
func TestSMTPPasswordNeverInErrors(t *testing.T) {
	t.Parallel()
	const pass = "Hunter2-secret"
	srv := startServer(t, serverOptions{StartTLS: true, User: "app", Pass: "other"})
	for _, raw := range []string{
		"smtp://app:" + pass + "@" + srv.Addr + "?insecure_skip_verify=true",                       // refused by the server
		"smtp://app:" + pass + "@" + srv.Addr + "?insecure_skip_verify=true&auth=PLAIN",            // refused by the server
		"smtp://app:" + pass + "@" + srv.Addr,                                                      // certificate refused
		"smtp://app:" + url.QueryEscape(pass) + "@127.0.0.1:1?timeout=2s",                          // nothing listens
		"smtp://app:" + pass + "@" + srv.Addr + "?starttls=off&auth=PLAIN&insecure_skip_verify=no", // bad option value
	} {
		o, err := mail.ParseSMTPURL(raw)
		if err != nil {
			if strings.Contains(err.Error(), pass) {
				t.Errorf("ParseSMTPURL error holds the password: %v", err)
			}
			continue
		}
		from, _ := mail.ParseFrom("a@example.com")
		tr, err := mail.NewSMTP(o, from)
		if err != nil {
			t.Fatal(err)
		}
		errs := tr.Send(context.Background(), []mail.Message{{To: "bob@example.com", Subject: "s", Text: "t"}})
		if errs[0] == nil {
			t.Fatalf("%s: no error", tr.Server())
		}
		if strings.Contains(errs[0].Error(), pass) || strings.Contains(fmt.Sprintf("%+v", errs[0]), pass) {
			t.Errorf("error holds the password: %v", errs[0])
		}
	}
}
