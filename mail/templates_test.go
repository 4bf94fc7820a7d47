package mail_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authstore/auth"
	"github.com/authstore/auth/mail"
)

// Every default template renders a subject, a text and an HTML body, with
// the link in both bodies and the HTML escaped.
func TestDefaultTemplatesRender(t *testing.T) {
	t.Parallel()
	tm := defaultTemplates(t)
	d := auth.MailData{
		Link: "https://app.example.com/reset?token=abc&x=1", Login: "alice",
		FirstName: "<Alice>", NewEmail: "new@example.com",
	}
	for _, name := range mail.TemplateNames() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := tm.Render(name, d)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("subject %q", m.Subject)
			}
			if !strings.Contains(m.Text, d.Link) || !strings.Contains(m.Text, "Hello <Alice>,") {
				t.Errorf("text lacks the link or the greeting:\n%s", m.Text)
			}
			if !strings.Contains(m.HTML, "https://app.example.com/reset?token=abc&amp;x=1") || strings.Contains(m.HTML, "<Alice>") {
				t.Errorf("HTML lacks the escaped link, or has the name unescaped:\n%s", m.HTML)
			}
			if name == mail.TemplateEmailChanged && !strings.Contains(m.Text, d.NewEmail) {
				t.Errorf("email-changed does not name the new address:\n%s", m.Text)
			}
		})
	}
	if _, err := tm.Render("welcome", d); !errors.Is(err, mail.ErrUnknownTemplate) {
		t.Errorf("unknown template: %v, want ErrUnknownTemplate", err)
	}
}

// email-changed may go without a link (to the old address): it still reads.
func TestEmailChangedWithoutLink(t *testing.T) {
	t.Parallel()
	m, err := defaultTemplates(t).Render(mail.TemplateEmailChanged, auth.MailData{NewEmail: "new@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "reset your password.") {
		t.Errorf("text:\n%s", m.Text)
	}
}

// --mail-templates: a file of the directory replaces the default of the
// same name, a missing one falls back, a broken or unknown one refuses.
func TestLoadTemplatesFromDir(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		files   map[string]string
		wantErr string // "" for success
	}{
		{"override one", map[string]string{"verify-email.subject.tmpl": "Bienvenue {{.FirstName}}\n"}, ""},
		{"empty dir", nil, ""},
		{"parse error", map[string]string{"reset-password.txt.tmpl": "{{.Link"}, "reset-password.txt.tmpl"},
		{"unknown field", map[string]string{"reset-password.html.tmpl": "{{.Token}}"}, "reset-password.html.tmpl"},
		{"unknown file", map[string]string{"verify_email.txt.tmpl": "x"}, "verify_email.txt.tmpl is not a template file"},
		{"empty subject", map[string]string{"email-changed.subject.tmpl": "  \n"}, "subject is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for f, body := range c.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tm, err := mail.LoadTemplates(dir)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := tm.Render(mail.TemplateVerifyEmail, auth.MailData{FirstName: "Zoé", Link: "https://x/y"})
			if err != nil {
				t.Fatal(err)
			}
			want := "Confirm your email address"
			if c.files != nil {
				want = "Bienvenue Zoé"
			}
			if m.Subject != want || !strings.Contains(m.Text, "https://x/y") {
				t.Errorf("subject %q (want %q), text %q", m.Subject, want, m.Text)
			}
		})
	}
	if _, err := mail.LoadTemplates(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory was accepted")
	}
}
