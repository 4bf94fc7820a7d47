package auth_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/authstore/auth"
)

func TestJSTrim(t *testing.T) {
	tests := []struct{ in, want string }{
		{" \t\n\r\v\f Bob \u00a0", "Bob"},
		{"\ufeffBob\ufeff", "Bob"},                   // U+FEFF is white space in JavaScript
		{"\u2028\u2029\u3000\u205fBob\u1680", "Bob"}, // line terminators and Zs
		{"\u0085Bob\u0085", "\u0085Bob\u0085"},       // NEL is not
		{"\u180eBob", "\u180eBob"},                   // nor is U+180E since Unicode 6.3
		{"\u200bBob", "\u200bBob"},                   // nor ZERO WIDTH SPACE
	}
	for _, tt := range tests {
		if got := auth.JSTrim(tt.in); got != tt.want {
			t.Errorf("JSTrim(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCharCount(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"abc", 3},
		{"\U0001F98A\U0001F98A", 2},              // astral: one each, though two UTF-16 units
		{strings.Repeat("\u2764\ufe0f", 11), 11}, // variation selector 16 is not counted
		{"a\ufe0eb", 2},                          // nor 15
		{"e\u0301", 2},                           // a combining mark is counted
		{"\U0001F468\u200d\U0001F469\u200d\U0001F467", 5}, // ZWJ sequences count each part
	}
	for _, tt := range tests {
		if got := auth.CharCount(tt.in); got != tt.want {
			t.Errorf("CharCount(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestStringToNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64 // NaN compares by math.IsNaN
	}{
		{"", 0}, {"  ", 0}, {"2", 2}, {" 2 ", 2}, {"2.5e1", 25}, {"-3", -3}, {"0x1f", 31}, {"0b11", 3}, {"0o17", 15},
		{"Infinity", math.Inf(1)}, {"-Infinity", math.Inf(-1)},
		{"abc", math.NaN()}, {"inf", math.NaN()}, {"1_000", math.NaN()}, {"0x", math.NaN()}, {"2px", math.NaN()}, {"NaN", math.NaN()},
	}
	for _, tt := range tests {
		got := auth.StringToNumber(tt.in)
		if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
			t.Errorf("StringToNumber(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// The length message follows class-validator's choice from JavaScript's view
// of the value: its truthiness and its length property.
func TestLengthMessages(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	const (
		short = "login must be longer than or equal to 3 characters"
		long  = "login must be shorter than or equal to 24 characters"
		both  = "login must be longer than or equal to 3 and shorter than or equal to 24 characters"
		str   = "login must be a string"
	)
	tests := []struct {
		name  string
		login auth.Value
		want  []string
	}{
		{"missing", auth.Value{}, []string{short, str}},
		{"null", auth.Null(), []string{short, str}},
		{"empty", auth.String(""), []string{short}},
		{"blank", auth.String(" \ufeff "), []string{short}},
		{"two", auth.String("ab"), []string{short}},
		{"25", auth.String(strings.Repeat("a", 25)), []string{long}},
		{"two astral: UTF-16 length in bounds", auth.String("\U0001F98A\U0001F98A"), []string{both}},
		{"one letter and 30 selectors: UTF-16 length over", auth.String("a" + strings.Repeat("\ufe0f", 30)), []string{long}},
		{"0 is falsy", auth.Number(0), []string{short, str}},
		{"5 has no length", auth.Number(5), []string{both, str}},
		{"false is falsy", auth.Bool(false), []string{short, str}},
		{"true has no length", auth.Bool(true), []string{both, str}},
		{"array of 2", auth.Array(2), []string{short, str}},
		{"array of 10", auth.Array(10), []string{both, str}},
		{"array of 30", auth.Array(30), []string{long, str}},
		{"empty array", auth.Array(0), []string{short, str}},
		{"object without length", auth.Object(math.NaN()), []string{both, str}},
		{"object of length 1", auth.Object(1), []string{short, str}},
		{"object of length 99", auth.Object(99), []string{long, str}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Signin(ctx, auth.SigninRequest{Login: tt.login, Password: auth.String("correct horse battery")}, auth.Client{})
			var ae *auth.Error
			if !errors.As(err, &ae) || !slices.Equal(ae.Messages, tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// Signin validates like the original's LoginDto: password 8..max, whatever
// signup's minimum is now, so older accounts still sign in.
func TestSigninPasswordBounds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *auth.Config) { c.PasswordMinLength = 12; c.PasswordMaxLength = 64 })
	tests := []struct {
		password string
		want     []string // nil: passes to the password check ("incorrect")
	}{
		{"1234567", []string{"password must be longer than or equal to 8 characters"}},
		{"12345678", nil},
		{strings.Repeat("p", 64), nil},
		{strings.Repeat("p", 65), []string{"password must be shorter than or equal to 64 characters"}},
	}
	for _, tt := range tests {
		_, err := f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String("nobody"), Password: auth.String(tt.password)}, auth.Client{})
		if tt.want == nil {
			wantErr(t, err, auth.ErrBadCredentials)
			continue
		}
		var ae *auth.Error
		if !errors.As(err, &ae) || !slices.Equal(ae.Messages, tt.want) {
			t.Errorf("password of %d: got %v, want %q", len(tt.password), err, tt.want)
		}
	}
}
