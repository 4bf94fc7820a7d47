package auth_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authstore/auth"
)

// The "validator.js" cases are the default-options lists of validator.js's own
// test suite (test/validators/isEmail.test.js, "should validate email
// addresses"). Its test1…test13 "@invalid.co<space>m" cases each use a
// different Unicode space; here every character of JavaScript's \s is tried
// in the TLD instead. The other groups pin JavaScript semantics the port must
// keep: UTF-16 lengths, JavaScript's \s, the i flag without u, and quirks of
// the quoted-string rule.

func TestIsEmail(t *testing.T) {
	t.Parallel()
	a := strings.Repeat
	tests := []struct {
		name  string
		email string
		want  bool
	}{
		// validator.js: valid.
		{"validator.js", "foo@bar.com", true},
		{"validator.js", "x@x.au", true},
		{"validator.js", "foo@bar.com.au", true},
		{"validator.js", "foo+bar@bar.com", true},
		{"validator.js", "hans.m端ller@test.com", true},
		{"validator.js", "hans@m端ller.com", true},
		{"validator.js", "test|123@m端ller.com", true},
		{"validator.js", "test123+ext@gmail.com", true},
		{"validator.js", "some.name.midd.leNa.me.and.locality+extension@GoogleMail.com", true},
		{"validator.js", `"foobar"@example.com`, true},
		{"validator.js", `"  foo  m端ller "@example.com`, true},
		{"validator.js", `"foo\@bar"@example.com`, true},
		{"validator.js", a("a", 64) + "@" + a("a", 63) + ".com", true},
		{"validator.js", a("a", 31) + "@gmail.com", true},
		{"validator.js", "test@gmail.com", true},
		{"validator.js", "test.1@gmail.com", true},
		{"validator.js", "test@1337.com", true},

		// validator.js: invalid.
		{"validator.js", "invalidemail@", false},
		{"validator.js", "invalid.com", false},
		{"validator.js", "@invalid.com", false},
		{"validator.js", "foo@bar.com.", false},
		{"validator.js", "foo@_bar.com", false},
		{"validator.js", "somename@ｇｍａｉｌ.com", false},
		{"validator.js", "foo@bar.co.uk.", false},
		{"validator.js", "z@co.c", false},
		{"validator.js", "ｇｍａｉｌｇｍａｉｌｇｍａｉｌｇｍａｉｌｇｍａｉｌ@gmail.com", false},
		{"validator.js", a("a", 64) + "@" + a("a", 251) + ".com", false},
		{"validator.js", a("a", 65) + "@" + a("a", 250) + ".com", false},
		{"validator.js", a("a", 64) + "@" + a("a", 64) + ".com", false},
		{"validator.js", a("a", 64) + "@" + a("a", 63) + "." + a("a", 63) + "." + a("a", 63) + "." + a("a", 58) + ".com", false},
		{"validator.js", "test1@invalid.co m", false},
		{"validator.js", "test12@invalid.co\u3000m", false},
		{"validator.js", "multiple..dots@stillinvalid.com", false},
		{"validator.js", "test123+invalid! sub_address@gmail.com", false},
		{"validator.js", "gmail...ignores...dots...@gmail.com", false},
		{"validator.js", "ends.with.dot.@gmail.com", false},
		{"validator.js", "multiple..dots@gmail.com", false},
		{"validator.js", `wrong()[]",:;<>@@gmail.com`, false},
		{"validator.js", `"wrong()[]",:;<>@@gmail.com`, false},
		{"validator.js", "username@domain.com\uFFFD", false},
		{"validator.js", "username@domain.com©", false},
		{"validator.js", "nbsp\u00A0test@test.com", false},
		{"validator.js", "nbsp_test@te\u00A0st.com", false},
		{"validator.js", "nbsp_test@test.co\u00A0m", false},
		{"validator.js", `"foobar@gmail.com`, false},
		{"validator.js", `"foo"bar@gmail.com`, false},
		{"validator.js", `foo"bar"@gmail.com`, false},
		{"validator.js", "\xed\xa0\x80@example.com", false}, // lone surrogate U+D800 (WTF-8)
		{"validator.js", "\xed\xb0\x80@example.com", false}, // lone surrogate U+DC00 (WTF-8)

		// Options left at their defaults.
		{"no display name", "Some Name <foo@bar.com>", false},
		{"no IP domain", "email@[123.123.123.123]", false},
		{"no IP domain", "email@255.255.255.255", false},
		{"no trailing dot", "a@example.com.", false},
		{"no wildcard", "a@*.example.com", false},
		{"no numeric TLD", "a@example.123", false},
		{"TLD required", "a@localhost", false},
		{"no underscore", "a@my_store.example.com", false},
		{"underscore in user", "my_name@example.com", true},
		{"TLD of one letter", "a@example.c", false},
		{"punycode TLD", "a@example.xn--p1ai", true},
		{"punycode TLD upper case", "a@example.XN--P1AI", true},
		{"TLD with digit, not xn", "a@example.c0m", false},
		{"TLD with hyphen, not xn", "a@example.co-m", false},
		{"Unicode TLD", "a@example.рф", true},
		{"TLD with U+00A9", "a@example.c©m", false},
		{"label with leading hyphen", "a@-example.com", false},
		{"label with trailing hyphen", "a@example-.com", false},
		{"label with inner hyphen", "a@ex-ample.com", true},
		{"empty label", "a@example..com", false},
		{"numeric label", "a@123.com", true},
		{"Unicode label", "a@bücher.de", true},
		{"astral rune in label", "a@😀.com", true},
		{"astral rune in TLD", "a@example.c😀", false},
		{"full-width label", "a@ｅxample.com", false},
		{"space in label", "a@exa mple.com", false},

		// Local part.
		{"all specials", "!#$%&'*+-/=?^_`{|}~@example.com", true},
		{"leading dot", ".a@example.com", false},
		{"space", "a b@example.com", false},
		{"comma", "a,b@example.com", false},
		{"backslash", `a\b@example.com`, false},
		{"U+00A1", "\u00A1@example.com", true},
		{"U+D7FF", "\uD7FF@example.com", true},
		{"private use U+E000", "\uE000@example.com", false},
		{"U+F900", "\uF900@example.com", true},
		{"noncharacter U+FDD0", "\uFDD0@example.com", false},
		{"U+FFEF", "\uFFEF@example.com", true},
		{"U+FFF0", "\uFFF0@example.com", false},
		{"astral rune", "😀@example.com", false},
		{"C1 control", "\u0085@example.com", false},
		{"long s not ASCII under i", "\u017F@example.com", true},
		{"control", "a\x01b@example.com", false},
		{"@ in unquoted user", "a@b@example.com", false},
		{"64 bytes of UTF-8", a("é", 32) + "@example.com", true},
		{"65 bytes of UTF-8", a("é", 32) + "a@example.com", false},

		// Quoted local part.
		{"quoted with dots", `"a..b."@example.com`, true},
		{"quoted with @", `"a@b"@example.com`, true},
		{"quoted space and tab", "\"a \tb\"@example.com", true},
		{"quoted newline", "\"a\nb\"@example.com", true},
		{"quoted control", "\"a\x01b\"@example.com", true},
		{"quoted DEL", "\"a\x7fb\"@example.com", true},
		{"quoted NUL", "\"a\x00b\"@example.com", false},
		{"quoted U+00A0", "\"a\u00A0b\"@example.com", true},
		{"quoted C1 control", "\"a\u0085b\"@example.com", false},
		{"quoted astral rune", `"a😀b"@example.com`, false},
		{"quoted inner quote", `"a"b"@example.com`, false},
		{"quoted escaped quote", `"a\"b"@example.com`, true},
		{"quoted escaped backslash", `"a\\b"@example.com`, true},
		{"quoted lone backslash", `"a\b"@example.com`, true},
		{"quoted trailing backslash", `"ab\"@example.com`, false},
		{"quoted escaped newline", "\"a\\\nb\"@example.com", false},
		{"quoted escaped CR", "\"a\\\rb\"@example.com", true},
		{"quoted escaped U+00E9", `"a\éb"@example.com`, true},
		{"empty quoted string", `""@example.com`, true},
		{"lone quote is an empty quoted string", `"@example.com`, true},
		{"quote then atom", `"a".b@example.com`, false},

		// Lengths are JavaScript's: UTF-16 code units and UTF-8 bytes.
		{"254 code units", a("a", 64) + "@" + a("b", 63) + "." + a("c", 63) + "." + a("d", 57) + ".com", true},
		{"255 code units", a("a", 64) + "@" + a("b", 63) + "." + a("c", 63) + "." + a("d", 58) + ".com", false},
		{"label of 63 code units", "a@" + a("b", 63) + ".com", true},
		{"label of 64 code units", "a@" + a("b", 64) + ".com", false},
		{"label of 31 astral runes", "a@" + a("😀", 31) + "b.com", true},
		{"label of 32 astral runes", "a@" + a("😀", 32) + ".com", false},
		{"domain of 254 bytes", "a@" + a("é", 60) + "." + a("é", 60) + "." + a("é", 4) + ".com", true},
		{"domain of 255 bytes", "a@" + a("é", 60) + "." + a("é", 60) + "." + a("é", 4) + ".comx", false},

		// Not UTF-8.
		{"invalid byte in domain", "a@exa\xffmple.com", false},
		{"invalid byte in user", "a\xff@example.com", false},
		{"empty", "", false},
		{"just @", "@", false},
	}
	// Every character of JavaScript's \s refuses the TLD, whatever else the
	// TLD class admits; U+200B is not in \s and is admitted.
	for _, r := range []rune{'\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2000, 0x2001, 0x2002,
		0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F,
		0x205F, 0x3000, 0xFEFF} {
		tests = append(tests, struct {
			name  string
			email string
			want  bool
		}{"JS space in TLD", "test@invalid.co" + string(r) + "m", false})
	}
	tests = append(tests, struct {
		name  string
		email string
		want  bool
	}{"U+200B is not a JS space", "test@invalid.co\u200Bm", true})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := auth.IsEmail(tt.email); got != tt.want {
				t.Errorf("IsEmail(%q) = %v, want %v", tt.email, got, tt.want)
			}
		})
	}
}

func FuzzIsEmail(f *testing.F) {
	for _, s := range []string{
		"foo@bar.com", `"foo\@bar"@example.com`, `"@example.com`, `"ab\"@x.com`,
		"a@😀.com", "a@example.xn--p1ai", "\xed\xa0\x80@example.com", "@", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !auth.IsEmail(s) {
			return
		}
		// Properties every accepted address has.
		at := strings.LastIndexByte(s, '@')
		switch {
		case !utf8.ValidString(s):
			t.Fatalf("IsEmail(%q) accepted invalid UTF-8", s)
		case at < 1:
			t.Fatalf("IsEmail(%q) accepted an address without a user part", s)
		case at > 64 || len(s)-at-1 > 254:
			t.Fatalf("IsEmail(%q) accepted a part over its byte limit", s)
		case !strings.Contains(s[at+1:], "."):
			t.Fatalf("IsEmail(%q) accepted a domain without a TLD", s)
		case strings.ContainsAny(s[at+1:], " _\t\n"):
			t.Fatalf("IsEmail(%q) accepted a space or underscore in the domain", s)
		}
	})
}

func BenchmarkIsEmail(b *testing.B) {
	for b.Loop() {
		auth.IsEmail("some.name.midd.leNa.me.and.locality+extension@GoogleMail.com")
	}
}
