package main

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// termSafe returns s fit to print on a terminal: every code point that
// strconv.IsPrint accepts (letters, marks, digits, punctuation and symbols
// of any script, and the ASCII space) as it is, so names stay readable,
// and every other one escaped as Go escapes it in a quoted string: C0
// controls and escape sequences (\x1b), DEL, C1 controls (\u009b, the
// 8-bit CSI), format characters such as the bidi override U+202E (\u202e)
// and zero-width ones, line and paragraph separators, spaces other than
// U+0020, tabs (which would also break tabwriter columns), and invalid
// UTF-8 (\xff). A backslash is doubled, so no text forges an escape.
//
// Every command prints text that users or clients chose (logins, names,
// emails, user agents, IPs, import data) only through termSafe.
func termSafe(s string) string {
	clean := true
	for _, r := range s {
		if r == '\\' || r == utf8.RuneError || !strconv.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])>>4, 16) + strconv.FormatUint(uint64(s[i])&0xf, 16))
		case strconv.IsPrint(r):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u202e', '\U000e0067'
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}
