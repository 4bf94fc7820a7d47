package main

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The mail flags are checked before anything opens; no message quotes the
// SMTP URL's password.
func TestMailFlagErrors(t *testing.T) {
	const pass = "Pa55-word"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"scheme", []string{"--smtp-url", "https://u:" + pass + "@mx"}, nil, `--smtp-url: scheme "https" is not smtp or smtps`},
		{"unparsable", []string{"--smtp-url", "smtp://u:" + pass + "@mx:port"}, nil, "--smtp-url: not a URL"},
		{"option", []string{"--smtp-url", "smtp://u:" + pass + "@mx?starttls=yes", "--mail-from", "a@example.com"}, nil, `starttls="yes"`},
		{"no from", []string{"--smtp-url", "smtp://u:" + pass + "@mx"}, nil, "--mail-from: is required with --smtp-url"},
		{"bad from", []string{"--mail-from", "authstore"}, nil, `--mail-from: "authstore" is not a mail address`},
		{"no from, URL by environment", nil, map[string]string{"AUTHSTORE_SMTP_URL": "smtp://u:" + pass + "@mx"}, "--mail-from: is required"},
		{"URL by environment", nil, map[string]string{"AUTHSTORE_SMTP_URL": "smtps://u:" + pass + "@mx:0"}, "AUTHSTORE_SMTP_URL: port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := runCLI(tt.env, append([]string{"serve", "--db", ":memory:"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err) != 2 {
				t.Fatalf("got %v (exit %d), want %q, exit 2", err, exitCode(err), tt.want)
			}
			if strings.Contains(err.Error()+stderr, pass) {
				t.Errorf("the password is shown: %v\n%s", err, stderr)
			}
		})
	}
}

// serve warns that mail goes to the log without --smtp-url, names only the
// SMTP server's host:port with one, and refuses a broken template.
func TestServeMailSetup(t *testing.T) {
	const pass = "Pa55-word"
	s := startServer(t, nil, "--db", ":memory:")
	if !strings.Contains(s.stderr.String(), "no --smtp-url: mail is written to the log, links included; for development only") {
		t.Errorf("no warning about the log mailer:\n%s", s.stderr)
	}
	s.shutdown(t)

	s = startServer(t, map[string]string{"AUTHSTORE_SMTP_URL": "smtp://app:" + pass + "@127.0.0.1:2525"}, "--db", ":memory:", "--mail-from", "Example <no-reply@example.com>")
	if log := s.stderr.String(); !strings.Contains(log, "server=127.0.0.1:2525") || strings.Contains(log, pass) || strings.Contains(log, "no --smtp-url") {
		t.Errorf("want the server as host:port, no password, no log-mailer warning:\n%s", log)
	}
	s.shutdown(t)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "reset-password.txt.tmpl"), []byte("{{.Link"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI(nil, "serve", "--db", ":memory:", "--addr", "127.0.0.1:0", "--mail-templates", dir)
	if err == nil || !strings.Contains(err.Error(), "--mail-templates") || !strings.Contains(err.Error(), "reset-password.txt.tmpl") {
		t.Errorf("broken template: %v, want a refusal naming the file", err)
	}
}

// The outbox's sealing key is HKDF-SHA256 of the secret key with the label
// "authstore outbox seal v1", which the accounts work seals with; it
// differs from the other derived keys.
func TestOutboxSealDerivation(t *testing.T) {
	sum := sha256.Sum256([]byte("a test secret key"))
	master := sum[:]
	sec, _, err := loadSecrets(func(k string) string {
		if k == "AUTHSTORE_SECRET_KEY" {
			return base64.StdEncoding.EncodeToString(master)
		}
		return ""
	}, ":memory:", "")
	if err != nil {
		t.Fatal(err)
	}
	want, err := hkdf.Key(sha256.New, master, nil, "authstore outbox seal v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sec.outboxSeal, want) || bytes.Equal(sec.outboxSeal, sec.keySeal) || bytes.Equal(sec.outboxSeal, sec.refreshMAC) {
		t.Errorf("outbox seal key %x, want %x, distinct from the others", sec.outboxSeal, want)
	}
	wantMFA, err := hkdf.Key(sha256.New, master, nil, "authstore mfa seal v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sec.mfaSeal, wantMFA) || bytes.Equal(sec.mfaSeal, sec.outboxSeal) || bytes.Equal(sec.mfaSeal, sec.keySeal) || bytes.Equal(sec.mfaSeal, sec.refreshMAC) {
		t.Errorf("mfa seal key %x, want %x, distinct from the others", sec.mfaSeal, wantMFA)
	}
}
