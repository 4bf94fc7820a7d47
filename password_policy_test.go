package auth_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/authstore/auth"
	"github.com/authstore/auth/password"
)

func signupWithPassword(f *fixture, login, pw string) error {
	r := signupReq(login, login+"@example.com")
	r.Password = auth.String(pw)
	_, err := f.svc.Signup(context.Background(), r, auth.Client{})
	return err
}

// wantMessages checks that err is a KindInvalid error with exactly msgs.
func wantMessages(t *testing.T, err error, msgs ...string) {
	t.Helper()
	if !auth.IsKind(err, auth.KindInvalid) {
		t.Fatalf("got %v, want a validation error", err)
	}
	if got := auth.ErrorMessages(err); !slices.Equal(got, msgs) {
		t.Fatalf("messages %q, want %q", got, msgs)
	}
}

func TestSignupRefusesCommonPasswords(t *testing.T) {
	list, err := password.NewBlocklist(strings.NewReader("Acme-Corp-2026\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *auth.Config) { c.CommonPasswords = list })
	tests := []struct {
		name, password string
		want           []string // nil: accepted
	}{
		{"most common", "password", []string{"password is too common"}},
		{"built-in, other case", "PassWord123", []string{"password is too common"}},
		{"built-in, padded", "  qwertyuiop  ", []string{"password is too common"}},
		{"extra list", "ACME-CORP-2026", []string{"password is too common"}},
		{"too short: the length rule alone", "123456", []string{"password must be longer than or equal to 8 characters"}},
		{"uncommon", "correct horse battery", nil},
		{"common word inside a longer one", "password-velvet-otter", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signupWithPassword(f, "user"+string(rune('a'+i)), tt.password)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("signup with an uncommon password: %v", err)
				}
				return
			}
			wantMessages(t, err, tt.want...)
		})
	}
}

// The blocklist message joins the other fields' messages, last.
func TestSignupCommonPasswordWithOtherErrors(t *testing.T) {
	list, err := password.NewBlocklist()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *auth.Config) { c.CommonPasswords = list })
	r := signupReq("ab", "not-an-email")
	r.Password = auth.String("iloveyou")
	_, err = f.svc.Signup(context.Background(), r, auth.Client{})
	wantMessages(t, err,
		"login must be longer than or equal to 3 characters",
		"email must be an email",
		"password is too common")
}

// A user whose password went on the list after signup still signs in.
func TestSigninIgnoresCommonPasswords(t *testing.T) {
	f := newFixture(t, nil)
	if err := signupWithPassword(f, "early", "letmein123"); err != nil {
		t.Fatal(err)
	}
	list, err := password.NewBlocklist(strings.NewReader("letmein123\n"))
	if err != nil {
		t.Fatal(err)
	}
	later, err := auth.NewService(auth.Config{
		Store: f.db, Signer: mustRing(t, f.db), Hasher: password.New(password.Options{Params: fastParams}),
		RefreshKey: []byte("0123456789abcdef0123456789abcdef"), CommonPasswords: list,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := later.Signin(context.Background(), auth.SigninRequest{Login: auth.String("early"), Password: auth.String("letmein123")}, auth.Client{}); err != nil {
		t.Fatalf("signin with a password now on the list: %v", err)
	}
	if err := signupWithPassword(&fixture{svc: later}, "late", "letmein123"); err == nil {
		t.Fatal("signup accepted a password on the list")
	}
}

func TestSignupPasswordMinLength(t *testing.T) {
	tests := []struct {
		name     string
		min      int
		password string
		want     []string
	}{
		{"default 8: 7 refused", 0, "abcdefg", []string{"password must be longer than or equal to 8 characters"}},
		{"default 8: 8 accepted", 0, "abcdefgh", nil},
		{"15: 14 refused", 15, "abcdefghijklmn", []string{"password must be longer than or equal to 15 characters"}},
		{"15: 15 accepted", 15, "abcdefghijklmno", nil},
		{"15: code points, not bytes", 15, strings.Repeat("é", 14), []string{"password must be longer than or equal to 15 characters"}},
		{"15: trimmed before counting", 15, "  abcdefghijklmn  ", []string{"password must be longer than or equal to 15 characters"}},
		{"64: 64 accepted", 64, strings.Repeat("z", 64), nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *auth.Config) { c.PasswordMinLength = tt.min })
			err := signupWithPassword(f, "minlen"+string(rune('a'+i)), tt.password)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("signup: %v", err)
				}
				return
			}
			wantMessages(t, err, tt.want...)
		})
	}
}

func TestNewServiceChecksPasswordLengths(t *testing.T) {
	tests := []struct {
		name     string
		min, max int
		ok       bool
	}{
		{"defaults", 0, 0, true},
		{"NIST single-factor", 15, 0, true},
		{"below 8", 7, 0, false},
		{"above the default max", 129, 0, false},
		{"equal to max", 64, 64, true},
		{"above max", 65, 64, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			_, err := auth.NewService(auth.Config{
				Store: f.db, Signer: mustRing(t, f.db), Hasher: password.New(password.Options{Params: fastParams}),
				RefreshKey:        []byte("0123456789abcdef0123456789abcdef"),
				PasswordMinLength: tt.min, PasswordMaxLength: tt.max,
			})
			if (err == nil) != tt.ok {
				t.Fatalf("NewService(min %d, max %d) = %v, want ok=%v", tt.min, tt.max, err, tt.ok)
			}
		})
	}
}
