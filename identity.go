package auth

import (
	"cmp"
	"slices"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// This file holds the rules of identity: the keys under which logins and
// emails are unique and looked up (identityKey, through Fold), the
// confusable skeleton of a login (Skeleton), the characters each kind of
// field refuses as hiding or disguising text (textClass), and the re-keying
// of users stored under older keys (Rekey).

// identityKey returns the key of s (already trimmed) that Fold documents:
// the PRECIS UsernameCaseMapped profile (RFC 8265: width mapping, lower
// case, NFC) followed by full case folding and NFKC; for a string the
// profile refuses, nfkcCaseFold. It never fails. For every string the
// profile accepts, both give the same key (TestFoldPRECISAgreesWithFallback),
// so which branch a string takes never splits one identity in two.
func identityKey(s string) string {
	if p, err := precis.UsernameCaseMapped.String(s); err == nil {
		return norm.NFKC.String(foldCase(p))
	}
	return nfkcCaseFold(s)
}

// nfkcCaseFold maps s as Unicode's NFKC_Casefold does: default-ignorable
// code points removed, then NFKC, full case folding and NFKC again. It
// folds width and compatibility forms ("ﬁ" is "fi", "ａ" is "a") where
// PRECIS refuses the string (spaces, symbols, emoji, mixed directions).
func nfkcCaseFold(s string) string {
	s = strings.Map(dropDefaultIgnorable, s)
	return norm.NFKC.String(foldCase(norm.NFKC.String(s)))
}

// foldCase applies full Unicode case folding (CaseFolding.txt, statuses C
// and F): cases.Fold, corrected for Cherokee, which it swaps (golang/go#46101:
// capitals become small letters and small letters capitals) where
// CaseFolding.txt folds both to the capital.
func foldCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 0xAB70 <= r && r <= 0xABBF: // CHEROKEE SMALL LETTER A..MV
			return r - 0xAB70 + 0x13A0
		case 0x13F8 <= r && r <= 0x13FD: // CHEROKEE SMALL LETTER YE..MV
			return r - 0x13F8 + 0x13F0
		}
		return r
	}, cases.Fold().String(s))
}

// Skeleton returns the confusable skeleton of a login, its second
// uniqueness key. Its core is the UTS #39 skeleton: NFD, each character
// replaced by its prototype in the Unicode confusables table, NFD again
// (written K below). Since logins are unique regardless of case, and the
// table maps capitals and small letters apart (Cyrillic "В" to "B" but "в"
// to "ʙ"; "I" to "l"), it is taken case-insensitively:
//
//	K(foldCase(K(upper(x))))
//
// of the trimmed login x after NFKC and without default-ignorable code
// points. Upper-casing first lets capitals meet their Latin look-alikes;
// folding and mapping again lets small letters meet theirs ("ɑ" and "a",
// "rn" and "m"). Of the 1,552 pairs of a code point and a Latin letter or
// digit that the table alone makes look alike in either case, 1,508 then
// share a skeleton (TestSkeletonCoverage); most of the rest look like "i". Logins that look alike in some case
// share it: Cyrillic "аlice" and "alice", "Воb" and "bob", "paypaI",
// "paypa1" and "paypal". So, because "I" looks like "l", do "i" and "l":
// "bill" and "biil" collide.
//
// The table is Unicode 13.0's confusables.txt as github.com/mtibben/confusables
// embeds it.
func Skeleton(login string) string {
	x := norm.NFKC.String(strings.Map(dropDefaultIgnorable, strings.TrimSpace(login)))
	return confusables.Skeleton(foldCase(confusables.Skeleton(cases.Upper(language.Und).String(x))))
}

// retiredKeyPrefix starts every key that Rekey retires. No key Fold or
// Skeleton computes for a login or email that validation accepts starts
// with it: validation has always refused C0 controls.
const retiredKeyPrefix = "\x01"

// RetiredKey returns the key Rekey gives user id in a column where an older
// user holds the key id's own login or email now maps to: unique, and never
// the key of anything a client can type, so the user can no longer be found
// by that login, nor block anyone by it.
func RetiredKey(id string) string { return retiredKeyPrefix + id }

// IsRetiredKey reports whether key was made by RetiredKey.
func IsRetiredKey(key string) bool { return strings.HasPrefix(key, retiredKeyPrefix) }

// Rekey sets LoginKey, EmailKey and LoginSkeleton of every user to what
// Fold and Skeleton give for its Login and Email today, for a database whose
// keys an older rule computed. Where users would share a key, the one
// created first (by CreatedAt, then ID) keeps it and each other gets
// RetiredKey(ID) in that column; Rekey returns those others, each once, in
// the order of users. After it, each column's keys are unique across users.
func Rekey(users []User) (retired []User) {
	order := make([]int, len(users))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := users[a].CreatedAt.Compare(users[b].CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(users[a].ID, users[b].ID)
	})
	logins := make(map[string]bool, len(users))
	emails := make(map[string]bool, len(users))
	skeletons := make(map[string]bool, len(users))
	lost := make([]bool, len(users))
	claim := func(taken map[string]bool, key string, i int) string {
		if taken[key] {
			lost[i] = true
			return RetiredKey(users[i].ID)
		}
		taken[key] = true
		return key
	}
	for _, i := range order {
		u := &users[i]
		u.LoginKey = claim(logins, Fold(u.Login), i)
		u.EmailKey = claim(emails, Fold(u.Email), i)
		u.LoginSkeleton = claim(skeletons, Skeleton(u.Login), i)
	}
	for i, l := range lost {
		if l {
			retired = append(retired, users[i])
		}
	}
	return retired
}

// textClass names the characters a kind of field refuses as hiding or
// disguising text, with the message "<field> must not contain control
// characters".
type textClass uint8

const (
	// anyText refuses nothing (passwords).
	anyText textClass = iota
	// nameText (firstName, lastName) refuses what every field refuses
	// (see hidesText) and the default-ignorable code points except ZWNJ,
	// ZWJ and the variation selectors, which scripts and emoji need.
	nameText
	// identifierText (login, email) refuses what every field refuses, every
	// format character (Cf), every default-ignorable code point, and every
	// space separator but U+0020.
	identifierText
)

// Code points that names keep although they are default-ignorable.
const (
	zwnj = '\u200C' // ZERO WIDTH NON-JOINER
	zwj  = '\u200D' // ZERO WIDTH JOINER
)

// refuses reports whether a field of class c refuses r.
func (c textClass) refuses(r rune) bool {
	switch c {
	case nameText:
		return hidesText(r) ||
			(isDefaultIgnorable(r) && r != zwnj && r != zwj && !unicode.Is(unicode.Variation_Selector, r))
	case identifierText:
		return hidesText(r) || unicode.Is(unicode.Cf, r) || isDefaultIgnorable(r) ||
			(r != ' ' && unicode.Is(unicode.Zs, r))
	}
	return false
}

// refusedIn reports whether s holds a code point that c refuses.
func (c textClass) refusedIn(s string) bool {
	return c != anyText && strings.ContainsFunc(s, c.refuses)
}

// hidesText reports whether every text field refuses r: a control (Cc: C0,
// DEL, C1), a line or paragraph separator (Zl, Zp), or a bidirectional
// embedding, override or isolate control (U+202A–U+202E, U+2066–U+2069).
func hidesText(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
		('\u202A' <= r && r <= '\u202E') || ('\u2066' <= r && r <= '\u2069')
}

// dropDefaultIgnorable is a strings.Map mapping that removes the
// default-ignorable code points.
func dropDefaultIgnorable(r rune) rune {
	if isDefaultIgnorable(r) {
		return -1
	}
	return r
}

// isDefaultIgnorable reports whether r has the Unicode property
// Default_Ignorable_Code_Point, derived as UAX #44 (DerivedCoreProperties.txt)
// derives it from the properties in package unicode:
//
//	Other_Default_Ignorable_Code_Point + Cf + Variation_Selector
//	- White_Space - FFF9..FFFB (interlinear annotation controls)
//	- 13430..1343F (Egyptian hieroglyph format controls)
//	- Prepended_Concatenation_Mark
//
// at the Unicode version of package unicode (unicode.Version).
func isDefaultIgnorable(r rune) bool {
	switch {
	case r < 0xAD:
		return false // fast path: nothing below the soft hyphen
	case '\uFFF9' <= r && r <= '\uFFFB', 0x13430 <= r && r <= 0x1343F:
		return false
	case unicode.Is(unicode.White_Space, r), unicode.Is(unicode.Prepended_Concatenation_Mark, r):
		return false
	}
	return unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Variation_Selector, r)
}
