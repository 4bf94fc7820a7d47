package auth

import (
	"strings"
	"unicode/utf8"
)

// IsEmail reports whether s is an email address as validator.js 13.15
// isEmail(s) judges it with its default options: no display name, a TLD
// required, no IP-literal domain, UTF-8 allowed in the local part, the length
// limits enforced, no underscores in the domain, no domain-specific (Gmail)
// rules, no blacklisted characters and no host lists. The domain is checked as
// isFQDN does with the options isEmail passes it (require_tld, no underscores,
// no trailing dot, no numeric TLD, no wildcard, labels at most 63 long).
//
// The rules are hand-ported because the signup contract is validator.js's
// answer (class-validator's @IsEmail) and no Go library reproduces it:
// net/mail and the RFC 5322 validators accept display names, comments,
// dotless domains and IP literals, and none has validator.js's character
// classes, TLD rule or limits. Its quirks are kept: a quoted local part may
// be empty, so `""@example.com` and even `"@example.com` are emails.
//
// A string that is not valid UTF-8 is not an email: a JavaScript string
// cannot hold such bytes (a JSON decoder turns them into U+FFFD first), and
// validator.js refuses the lone surrogates that are its nearest equivalent.
//
// IsEmail does not panic on any input.
func IsEmail(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	// str.length > 254 counts UTF-16 code units.
	if utf16Len(s) > maxEmailLen {
		return false
	}
	// str.split('@'): the domain is after the last '@'; the user part is
	// everything before it, and empty when there is no '@'.
	user, domain := "", s
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		user, domain = s[:at], s[at+1:]
	}
	// isByteLength counts UTF-8 bytes, which for valid UTF-8 is len.
	if len(user) > maxUserBytes || len(domain) > maxDomainBytes {
		return false
	}
	if !isFQDN(domain) {
		return false
	}
	// A user part that begins and ends with '"' is judged whole as a quoted
	// string; a lone '"' is both, leaving an empty (valid) quoted string, as
	// JavaScript's user.slice(1, 0) does.
	if user != "" && user[0] == '"' && user[len(user)-1] == '"' {
		inner := ""
		if len(user) > 1 {
			inner = user[1 : len(user)-1]
		}
		return isQuotedUser(inner)
	}
	for part := range strings.SplitSeq(user, ".") {
		if !isUserAtom(part) {
			return false
		}
	}
	return true
}

// Limits of validator.js isEmail and isFQDN.
const (
	maxEmailLen    = 254 // whole address, UTF-16 code units
	maxUserBytes   = 64  // local part, UTF-8 bytes
	maxDomainBytes = 254 // domain, UTF-8 bytes
	maxLabelLen    = 63  // one domain label, UTF-16 code units
)

// How the JavaScript regular expressions are translated.
//
// validator.js's expressions carry the i flag but not the u flag, so they
// match UTF-16 code units, and [a-z] under i matches exactly A-Z and a-z
// (without u, case folding never maps a non-ASCII character to ASCII, unlike
// Go's (?i), which would let U+017F and U+212A match [a-z]). Go ranges over
// runes instead, so each class below is written out explicitly:
//
//   - A character outside the Basic Multilingual Plane is a surrogate pair in
//     JavaScript. Classes that stop below U+D800 or skip U+D800–U+DFFF (the
//     user part, the quoted string, the TLD) reject both halves, so they
//     reject the rune here too. The label class \u00a1-\uffff admits both
//     halves, so a label admits any rune from U+00A1 up, astral included.
//   - Length limits stated in string.length count code units, so an astral
//     rune counts 2 (utf16Len).
//   - \s is JavaScript's, which includes the Unicode space separators, not
//     Go's ASCII-only \s (isJSSpace).

// utf16Len is the length of s as a JavaScript string (UTF-16 code units).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// isJSSpace reports whether r matches JavaScript's \s: WhiteSpace (TAB, VT,
// FF, ZWNBSP and the Zs category) and LineTerminator.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x00A0, 0x1680,
		0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// isASCIILetter matches [a-z] under the i flag.
func isASCIILetter(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

// isUTF8Range matches \u00A1-\uD7FF\uF900-\uFDCF\uFDF0-\uFFEF, the non-ASCII
// characters of the unquoted user part.
func isUTF8Range(r rune) bool {
	return r >= 0x00A1 && r <= 0xD7FF || r >= 0xF900 && r <= 0xFDCF || r >= 0xFDF0 && r <= 0xFFEF
}

// isUserAtom matches emailUserUtf8Part, one dot-separated piece of an
// unquoted user part:
// /^[a-z\d!#\$%&'\*\+\-\/=\?\^_`{\|}~\u00A1-\uD7FF\uF900-\uFDCF\uFDF0-\uFFEF]+$/i
func isUserAtom(p string) bool {
	if p == "" {
		return false
	}
	for _, r := range p {
		switch {
		case isASCIILetter(r), isASCIIDigit(r), isUTF8Range(r):
		case r < utf8.RuneSelf && strings.IndexByte("!#$%&'*+-/=?^_`{|}~", byte(r)) >= 0:
		default:
			return false
		}
	}
	return true
}

// isQuotedRange matches \u00A0-\uD7FF\uF900-\uFDCF\uFDF0-\uFFEF, the
// non-ASCII characters of a quoted user part (which, unlike the unquoted one,
// admits U+00A0).
func isQuotedRange(r rune) bool {
	return r == 0x00A0 || isUTF8Range(r)
}

// isQuotedUser matches quotedEmailUserUtf8 against the text between the
// quotes:
// /^([\s\x01-\x08\x0b\x0c\x0e-\x1f\x7f\x21\x23-\x5b\x5d-\x7e<R>]|(\\[\x01-\x09\x0b\x0c\x0d-\x7f<R>]))*$/i
// with <R> = \u00A0-\uD7FF\uF900-\uFDCF\uFDF0-\uFFEF. The first class is
// U+0001–U+007F less '"' and '\' (\s supplies TAB, LF, CR and space), plus
// <R> and the other \s characters; since it excludes '\', every backslash
// opens an escape, so one left-to-right scan decides the match.
func isQuotedUser(q string) bool {
	for i := 0; i < len(q); {
		r, n := utf8.DecodeRuneInString(q[i:])
		if r == '\\' {
			e, m := utf8.DecodeRuneInString(q[i+n:])
			if m == 0 || !(e >= 0x01 && e <= 0x7F && e != '\n' || isQuotedRange(e)) {
				return false
			}
			i += n + m
			continue
		}
		if !(r >= 0x01 && r <= 0x7F && r != '"' || isQuotedRange(r) || isJSSpace(r)) {
			return false
		}
		i += n
	}
	return true
}

// isFQDN is validator.js isFQDN(domain, {require_tld: true,
// ignore_max_length: false, allow_underscores: false}), its other options at
// their defaults.
func isFQDN(domain string) bool {
	last := strings.LastIndexByte(domain, '.')
	if last < 0 {
		return false // fewer than two parts: no TLD
	}
	tld := domain[last+1:]
	if !isTLD(tld) || strings.ContainsFunc(tld, isJSSpace) || isAllDigits(tld) {
		return false
	}
	for part := range strings.SplitSeq(domain, ".") {
		if !isLabel(part) {
			return false
		}
	}
	return true
}

// isTLD matches
// /^([a-z\u00A1-\u00A8\u00AA-\uD7FF\uF900-\uFDCF\uFDF0-\uFFEF]{2,}|xn[a-z0-9-]{2,})$/i.
// Every character either branch admits is one code unit, so {2,} counts
// runes.
func isTLD(tld string) bool {
	n, letters := 0, true
	for _, r := range tld {
		n++
		if !(isASCIILetter(r) || isUTF8Range(r) && r != 0x00A9) {
			letters = false
		}
	}
	if letters && n >= 2 {
		return true
	}
	if len(tld) < 4 || (tld[0] != 'x' && tld[0] != 'X') || (tld[1] != 'n' && tld[1] != 'N') {
		return false
	}
	for _, r := range tld[2:] {
		if !(isASCIILetter(r) || isASCIIDigit(r) || r == '-') {
			return false
		}
	}
	return true
}

// isAllDigits matches /^\d+$/ (ASCII digits only, as in JavaScript).
func isAllDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isASCIIDigit(r) {
			return false
		}
	}
	return true
}

// isLabel applies isFQDN's checks to one label: at most 63 code units,
// /^[a-z_\u00a1-\uffff0-9-]+$/i, no full-width ASCII (U+FF01–U+FF5E), no
// leading or trailing '-', and no '_'.
func isLabel(p string) bool {
	if p == "" || utf16Len(p) > maxLabelLen || p[0] == '-' || p[len(p)-1] == '-' {
		return false
	}
	for _, r := range p {
		switch {
		case isASCIILetter(r), isASCIIDigit(r), r == '-':
		case r >= 0xFF01 && r <= 0xFF5E:
			return false
		case r >= 0x00A1: // \u00a1-\uffff, both halves of any surrogate pair
		default:
			return false // includes '_', allowed by the class, refused after it
		}
	}
	return true
}
