package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"

	"github.com/authstore/auth"
)

// Template names, as in auth.OutboxMessage.Template.
const (
	TemplateVerifyEmail     = "verify-email"
	TemplateResetPassword   = "reset-password"
	TemplateEmailChanged    = "email-changed"
	TemplateConfirmNewEmail = "confirm-new-email"
)

// TemplateNames lists every template name, in a fixed order.
func TemplateNames() []string {
	return []string{TemplateVerifyEmail, TemplateResetPassword, TemplateEmailChanged, TemplateConfirmNewEmail}
}

// The three files of template NAME: NAME.subject.tmpl (text/template, one
// line once rendered: line breaks become spaces), NAME.txt.tmpl
// (text/template) and NAME.html.tmpl (html/template).
const (
	subjectExt = ".subject.tmpl"
	textExt    = ".txt.tmpl"
	htmlExt    = ".html.tmpl"
)

//go:embed templates/*.tmpl
var defaultFS embed.FS

// ErrUnknownTemplate is wrapped by Render's error for a name that is not
// one of TemplateNames.
var ErrUnknownTemplate = errors.New("mail: unknown template")

// Templates renders the mails. It is safe for concurrent use.
type Templates struct {
	byName map[string]templateSet
}

type templateSet struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// LoadTemplates returns the embedded default templates, each file replaced
// by the file of the same name in dir when dir is not "" and holds one.
// It refuses a file of dir that does not parse, or that fails to render
// sample data (a field auth.MailData lacks), and a *.tmpl file whose name
// is not one of the templates' (a typo would otherwise be ignored).
func LoadTemplates(dir string) (*Templates, error) {
	var override fs.FS
	if dir != "" {
		override = os.DirFS(dir)
		if err := checkTemplateDir(dir); err != nil {
			return nil, err
		}
	}
	t := &Templates{byName: make(map[string]templateSet)}
	for _, name := range TemplateNames() {
		var set templateSet
		read := func(ext string) (string, string, error) { return readTemplate(override, dir, name+ext) }
		src, where, err := read(subjectExt)
		if err == nil {
			set.subject, err = texttemplate.New(where).Parse(src)
		}
		if err == nil {
			src, where, err = read(textExt)
		}
		if err == nil {
			set.text, err = texttemplate.New(where).Parse(src)
		}
		if err == nil {
			src, where, err = read(htmlExt)
		}
		if err == nil {
			set.html, err = htmltemplate.New(where).Parse(src)
		}
		if err != nil {
			return nil, fmt.Errorf("mail template: %w", err)
		}
		t.byName[name] = set
		sample := auth.MailData{Link: "https://example.com/x?token=t", Login: "login", FirstName: "First", NewEmail: "new@example.com"}
		if _, err := t.Render(name, sample); err != nil {
			return nil, fmt.Errorf("mail template: %w", err)
		}
	}
	return t, nil
}

// checkTemplateDir refuses a dir that cannot be read or that holds a *.tmpl
// file no template uses.
func checkTemplateDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("mail templates: %w", err)
	}
	var known []string
	for _, name := range TemplateNames() {
		known = append(known, name+subjectExt, name+textExt, name+htmlExt)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmpl") && !slices.Contains(known, e.Name()) {
			return fmt.Errorf("mail templates: %s is not a template file authstore reads (NAME.subject.tmpl, NAME.txt.tmpl or NAME.html.tmpl, NAME one of %s)",
				filepath.Join(dir, e.Name()), strings.Join(TemplateNames(), ", "))
		}
	}
	return nil
}

// readTemplate returns the text of file and where it came from: override's
// (dir's) when it has one, else the embedded default.
func readTemplate(override fs.FS, dir, file string) (src, where string, err error) {
	if override != nil {
		b, err := fs.ReadFile(override, file)
		switch {
		case err == nil:
			return string(b), filepath.Join(dir, file), nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", "", err
		}
	}
	b, err := fs.ReadFile(defaultFS, "templates/"+file)
	if err != nil {
		return "", "", err
	}
	return string(b), "default " + file, nil
}

// Render returns the subject and bodies of template name for d; the
// returned Message has no ID or To. An unknown name is an error wrapping
// ErrUnknownTemplate. The subject is one line, its runs of white space
// (line breaks included) folded into one space; an empty one is an error.
func (t *Templates) Render(name string, d auth.MailData) (Message, error) {
	set, ok := t.byName[name]
	if !ok {
		return Message{}, fmt.Errorf("%w %q", ErrUnknownTemplate, name)
	}
	var subj, text, html bytes.Buffer
	if err := set.subject.Execute(&subj, d); err != nil {
		return Message{}, err
	}
	if err := set.text.Execute(&text, d); err != nil {
		return Message{}, err
	}
	if err := set.html.Execute(&html, d); err != nil {
		return Message{}, err
	}
	subject := strings.Join(strings.Fields(subj.String()), " ")
	if subject == "" {
		return Message{}, fmt.Errorf("mail template %s: the subject is empty", name)
	}
	return Message{Subject: subject, Text: text.String(), HTML: html.String()}, nil
}
