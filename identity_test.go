package auth_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authstore/auth"
	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/secure/precis"
)

func TestFoldWidthAndCompatibility(t *testing.T) {
	t.Parallel()
	same := []struct{ name, a, b string }{
		{"fullwidth", "ａｌｉｃｅ", "alice"},
		{"fullwidth capitals", "ＡＬＩＣＥ", "alice"},
		{"halfwidth katakana", "ｶﾀｶﾅ", "カタカナ"},
		{"ligature (PRECIS refuses it)", "ﬁle", "file"},
		{"roman numeral", "Ⅻ", "xii"},
		{"superscript", "x²", "x2"},
		{"ideographic space", "a\u3000b", "a b"},
		{"zero-width space dropped", "ali\u200Bce", "alice"},
		{"soft hyphen dropped", "ali\u00ADce", "alice"},
		{"sharp s, refused by nothing", "STRASSE", "straße"},
		{"emoji with a space (PRECIS refuses it)", "Fox 🦊", "fox 🦊"},
		{"email", "ｅｖｇｅｎｙ＠ｅｘａｍｐｌｅ．ｃｏｍ", "Evgeny@Example.com"},
		{"Cherokee capital and small letter", "\u13D1\u13F0", "\uABA1\u13F8"},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := auth.Fold(tt.a), auth.Fold(tt.b)
			if ka != kb {
				t.Errorf("Fold(%q) = %q, Fold(%q) = %q; want one key", tt.a, ka, tt.b, kb)
			}
			if again := auth.Fold(ka); again != ka {
				t.Errorf("Fold(Fold(%q)) = %q, want the key %q again", tt.a, again, ka)
			}
		})
	}
	different := []struct{ name, a, b string }{
		{"Cyrillic a (the skeleton's job)", "\u0430lice", "alice"},
		{"one more letter", "alice", "alicea"},
		{"space", "a b", "ab"},
	}
	for _, tt := range different {
		t.Run(tt.name, func(t *testing.T) {
			if auth.Fold(tt.a) == auth.Fold(tt.b) {
				t.Errorf("Fold(%q) == Fold(%q) = %q; want different keys", tt.a, tt.b, auth.Fold(tt.a))
			}
		})
	}
}

// TestFoldPRECISAgreesWithFallback checks that for every string that PRECIS
// UsernameCaseMapped accepts, Fold's key is the one its fallback would give,
// so that whether a login passes PRECIS never splits two look-alike logins
// into two keys. It tries each assigned code point between two letters.
func TestFoldPRECISAgreesWithFallback(t *testing.T) {
	t.Parallel()
	accepted := 0
	for r := rune(0x20); r < 0x32000; r++ {
		if !unicode.Is(unicode.L, r) && !unicode.Is(unicode.N, r) && !unicode.Is(unicode.M, r) && !unicode.Is(unicode.P, r) && !unicode.Is(unicode.S, r) {
			continue
		}
		s := "a" + string(r) + "b"
		if _, err := precis.UsernameCaseMapped.String(s); err != nil {
			continue
		}
		accepted++
		if got, want := auth.Fold(s), auth.NFKCCaseFold(s); got != want {
			t.Errorf("Fold(%q) = %q, fallback gives %q", s, got, want)
		}
	}
	if accepted < 50000 {
		t.Errorf("PRECIS accepted only %d strings: the test tried too little", accepted)
	}
}

func TestSkeleton(t *testing.T) {
	t.Parallel()
	same := []struct{ name, a, b string }{
		{"Cyrillic a", "\u0430lice", "alice"},
		{"Cyrillic capitals", "\u0412\u043Eb", "Bob"},
		{"Greek omicron", "b\u03BFb", "bob"},
		{"capital I for l", "paypaI", "paypal"},
		{"digit one for l", "paypa1", "paypal"},
		{"rn for m", "rnodern", "modern"},
		{"case", "ALICE", "alice"},
		{"fullwidth", "ａｌｉｃｅ", "alice"},
		{"zero-width joiner", "al\u200Dice", "alice"},
		{"mathematical bold", "𝐚𝐥𝐢𝐜𝐞", "alice"},
		{"Cyrillic capital among Latin capitals", "\u0410LICE", "alice"},
		{"lower-case Cyrillic ve, whose capital looks like B", "\u0432ob", "bob"},
		{"Latin alpha", "\u0251lice", "alice"},
		{"i, whose capital looks like l", "paypai", "paypal"},
		{"Cherokee capital and small letter", "\u13A0", "\uAB70"},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			if sa, sb := auth.Skeleton(tt.a), auth.Skeleton(tt.b); sa != sb {
				t.Errorf("Skeleton(%q) = %q, Skeleton(%q) = %q; want one skeleton", tt.a, sa, tt.b, sb)
			}
		})
	}
	different := []struct{ name, a, b string }{
		{"different names", "alice", "alicia"},
		{"different letters", "bob", "rob"},
		{"o is not a", "bob", "bab"},
	}
	for _, tt := range different {
		t.Run(tt.name, func(t *testing.T) {
			if auth.Skeleton(tt.a) == auth.Skeleton(tt.b) {
				t.Errorf("Skeleton(%q) == Skeleton(%q) = %q; want different", tt.a, tt.b, auth.Skeleton(tt.a))
			}
		})
	}
}

// TestSkeletonCoverage checks that the code points the confusables table
// maps to a Latin letter or digit, in either case, mostly share that
// letter's Skeleton, and that the Skeleton of every code point ignores case.
func TestSkeletonCoverage(t *testing.T) {
	t.Parallel()
	const targets = "abcdefghijklmnopqrstuvwxyz0123456789"
	upper, fold := cases.Upper(language.Und), cases.Fold()
	hit, miss := 0, 0
	for r := rune(0x80); r < 0x20000; r++ {
		if !unicode.IsPrint(r) {
			continue
		}
		c := string(r)
		if s := auth.Skeleton(c); s != auth.Skeleton(fold.String(c)) || s != auth.Skeleton(upper.String(c)) {
			t.Errorf("Skeleton of %q depends on its case", c)
		}
		k := confusables.Skeleton(c)
		for _, l := range targets {
			if lower := string(l); k == confusables.Skeleton(lower) || k == confusables.Skeleton(strings.ToUpper(lower)) {
				if auth.Skeleton(c) == auth.Skeleton(lower) {
					hit++
				} else {
					miss++
				}
			}
		}
	}
	if hit < 1508 || miss > 44 {
		t.Errorf("%d look-alikes of Latin letters and digits share their skeleton and %d do not, want 1508 and 44", hit, miss)
	}
}

func TestRekey(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	users := []auth.User{
		{ID: "c", Login: "ＡＬＩＣＥ", Email: "a2@example.com", CreatedAt: t0.Add(time.Hour)},
		{ID: "b", Login: "alice", Email: "a1@example.com", CreatedAt: t0},
		{ID: "a", Login: "\u0430lice", Email: "A1@example.com", CreatedAt: t0}, // ties with b: ID decides
		{ID: "d", Login: "dave", Email: "d@example.com", CreatedAt: t0},
	}
	retired := auth.Rekey(users)
	want := []struct{ loginKey, skeleton, emailKey string }{
		{auth.RetiredKey("c"), auth.RetiredKey("c"), "a2@example.com"},
		{"alice", auth.RetiredKey("b"), auth.RetiredKey("b")},
		{"\u0430lice", auth.Skeleton("alice"), "a1@example.com"},
		{"dave", auth.Skeleton("dave"), "d@example.com"},
	}
	for i, w := range want {
		u := users[i]
		if u.LoginKey != w.loginKey || u.LoginSkeleton != w.skeleton || u.EmailKey != w.emailKey {
			t.Errorf("user %s keys = %q %q %q, want %q %q %q", u.ID, u.LoginKey, u.LoginSkeleton, u.EmailKey, w.loginKey, w.skeleton, w.emailKey)
		}
	}
	var ids []string
	for _, u := range retired {
		ids = append(ids, u.ID)
	}
	if !slices.Equal(ids, []string{"c", "b"}) {
		t.Errorf("Rekey retired %v, want [c b]", ids)
	}
	for _, k := range []string{"alice", auth.Skeleton("alice"), "ａｌｉｃｅ"} {
		if auth.IsRetiredKey(k) {
			t.Errorf("IsRetiredKey(%q) = true", k)
		}
	}
}

// TestDefaultIgnorable checks the derivation of Default_Ignorable_Code_Point
// against DerivedCoreProperties.txt of Unicode 15.0 (4,174 code points) and
// against code points from each part of the derivation.
func TestDefaultIgnorable(t *testing.T) {
	t.Parallel()
	if unicode.Version == "15.0.0" {
		n := 0
		for r := rune(0); r <= unicode.MaxRune; r++ {
			if auth.IsDefaultIgnorable(r) {
				n++
			}
		}
		if n != 4174 {
			t.Errorf("%d default-ignorable code points, want 4174", n)
		}
	}
	tests := []struct {
		r    rune
		want bool
	}{
		{'\u00AD', true},  // soft hyphen: Cf
		{'\u034F', true},  // combining grapheme joiner: Other_DI
		{'\u115F', true},  // Hangul choseong filler: Other_DI
		{'\u180B', true},  // Mongolian free variation selector
		{'\u200B', true},  // zero width space: Cf
		{'\u200D', true},  // ZWJ
		{'\u2060', true},  // word joiner
		{'\u3164', true},  // Hangul filler
		{'\uFE0F', true},  // variation selector 16
		{'\uFEFF', true},  // byte order mark
		{0x1D173, true},   // musical symbol begin beam: Cf
		{0xE0001, true},   // language tag
		{0xE0100, true},   // variation selector 17
		{0xE0FFF, true},   // unassigned, Other_DI
		{' ', false},      // White_Space
		{'a', false},      //
		{'\u0600', false}, // Arabic number sign: Prepended_Concatenation_Mark
		{'\u1680', false}, // Ogham space mark: White_Space
		{'\uFFF9', false}, // interlinear annotation anchor
		{0x13430, false},  // Egyptian hieroglyph vertical joiner
		{'\u00A0', false}, // no-break space
		{'\u0085', false}, // next line: a control, not ignorable
		{0x110BD, false},  // Kaithi number sign: Prepended_Concatenation_Mark
	}
	for _, tt := range tests {
		if got := auth.IsDefaultIgnorable(tt.r); got != tt.want {
			t.Errorf("IsDefaultIgnorable(%U) = %v, want %v", tt.r, got, tt.want)
		}
	}
}

// TestRefusedCharacters puts one character of each class in the middle of
// each field of an otherwise valid signup and checks which fields refuse it.
func TestRefusedCharacters(t *testing.T) {
	t.Parallel()
	type refusedBy struct{ name, identifier bool } // passwords refuse nothing
	all := refusedBy{true, true}
	identOnly := refusedBy{false, true}
	none := refusedBy{}
	tests := []struct {
		name string
		r    rune
		want refusedBy
	}{
		{"C0 control", '\x01', all},
		{"escape", '\x1B', all},
		{"DEL", '\x7F', all},
		{"C1 next line", '\u0085', all},
		{"C1 CSI", '\u009B', all},
		{"line separator", '\u2028', all},
		{"paragraph separator", '\u2029', all},
		{"LRE", '\u202A', all},
		{"RLO", '\u202E', all},
		{"LRI", '\u2066', all},
		{"PDI", '\u2069', all},
		{"soft hyphen", '\u00AD', all},
		{"zero width space", '\u200B', all},
		{"word joiner", '\u2060', all},
		{"LRM", '\u200E', all},
		{"Arabic letter mark", '\u061C', all},
		{"byte order mark inside", '\uFEFF', all},
		{"Hangul filler", '\u3164', all},
		{"tag letter", 0xE0067, all},
		{"ZWJ", '\u200D', identOnly},
		{"ZWNJ", '\u200C', identOnly},
		{"variation selector 16", '\uFE0F', identOnly},
		{"variation selector 17", 0xE0100, identOnly},
		{"Arabic number sign (format, not ignorable)", '\u0600', identOnly},
		{"interlinear annotation anchor", '\uFFF9', identOnly},
		{"no-break space", '\u00A0', identOnly},
		{"figure space", '\u2007', identOnly},
		{"ideographic space", '\u3000', identOnly},
		{"space", ' ', none},
		{"Cyrillic letter", '\u0430', none},
		{"combining acute", '\u0301', none},
		{"emoji", '🦊', none},
	}
	fields := []struct {
		name       string
		identifier bool
		set        func(r *auth.SignupRequest, c string)
	}{
		{"firstName", false, func(r *auth.SignupRequest, c string) { r.FirstName = auth.String("Ev" + c + "geny") }},
		{"lastName", false, func(r *auth.SignupRequest, c string) { r.LastName = auth.String("Smir" + c + "nov") }},
		{"login", true, func(r *auth.SignupRequest, c string) { r.Login = auth.String("ev" + c + "geny") }},
		{"email", true, func(r *auth.SignupRequest, c string) { r.Email = auth.String("ev" + c + "geny@example.com") }},
		{"password", false, func(r *auth.SignupRequest, c string) { r.Password = auth.String("correct" + c + "horse") }},
	}
	for _, tt := range tests {
		for _, f := range fields {
			t.Run(tt.name+"/"+f.name, func(t *testing.T) {
				req := signupReq("evgeny", "evgeny@example.com")
				f.set(&req, string(tt.r))
				value := map[string]auth.Value{"firstName": req.FirstName, "lastName": req.LastName,
					"login": req.Login, "email": req.Email, "password": req.Password}[f.name].Str
				err := auth.ValidateSignup(&req)
				var mine []string
				for _, m := range auth.ErrorMessages(err) {
					if strings.HasPrefix(m, f.name+" ") {
						mine = append(mine, m)
					} else {
						t.Errorf("message %q for another field", m)
					}
				}
				want := tt.want.name
				if f.identifier {
					want = tt.want.identifier
				}
				if f.name == "password" {
					want = false
				}
				control := []string{f.name + " must not contain control characters"}
				switch {
				case !want && f.name == "email" && !auth.IsEmail(value):
					// Refused as an address, for reasons of its own.
					if !slices.Equal(mine, []string{"email must be an email"}) {
						t.Errorf("%q: messages %q, want [email must be an email]", value, mine)
					}
				case !want && len(mine) > 0:
					t.Errorf("%q refused: %q", value, mine)
				case want && f.name == "email" && !auth.IsEmail(value):
					// "must be an email" comes first and alone.
					if !slices.Equal(mine, []string{"email must be an email"}) {
						t.Errorf("%q: messages %q, want [email must be an email]", value, mine)
					}
				case want && !slices.Equal(mine, control):
					t.Errorf("%q: messages %q, want %q", value, mine, control)
				}
			})
		}
	}
}

// TestSignupLookAlikeLogins signs up "alice" and then logins that look like
// it, by the Service and by import: each is "Login already used".
func TestSignupLookAlikeLogins(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	f.signup(t, "alice")
	a, err := auth.NewAdmin(auth.AdminConfig{Store: f.db, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, login string
	}{
		{"fullwidth", "ａｌｉｃｅ"},
		{"capitals", "ALICE"},
		{"Cyrillic a", "\u0430lice"},
		{"Cyrillic capitals", "\u0410LICE"},
		{"digit one for l", "a1ice"},
		{"mathematical bold", "𝐚𝐥𝐢𝐜𝐞"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := "other" + string(rune('a'+i)) + "@example.com"
			_, err := f.svc.Signup(ctx, signupReq(tt.login, email), auth.Client{})
			if !errors.Is(err, auth.ErrLoginUsed) {
				t.Errorf("Signup(%q) error = %v, want ErrLoginUsed", tt.login, err)
			}
			outcome, reason, err := a.Import(ctx, auth.ImportUser{
				ID: "00000000-0000-4000-8000-00000000000" + string(rune('a'+i)), FirstName: "F", LastName: "L",
				Login: tt.login, Email: email, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
			})
			if err != nil || outcome != auth.Rejected || reason != "login already used by another user" {
				t.Errorf("Import(%q) = %v, %q, %v; want Rejected, login already used", tt.login, outcome, reason, err)
			}
		})
	}
	t.Run("fullwidth email", func(t *testing.T) {
		_, err := f.svc.Signup(ctx, signupReq("bob", "ＡＬＩＣＥ@example.com"), auth.Client{})
		if !errors.Is(err, auth.ErrEmailUsed) {
			t.Errorf("Signup(fullwidth email) error = %v, want ErrEmailUsed", err)
		}
	})
	t.Run("signin by a fullwidth login", func(t *testing.T) {
		_, err := f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String("ＡＬＩＣＥ"), Password: auth.String("correct horse battery")}, auth.Client{})
		if err != nil {
			t.Errorf("Signin(ＡＬＩＣＥ) error = %v, want success", err)
		}
	})
	t.Run("signin by a look-alike login", func(t *testing.T) {
		_, err := f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String("\u0430lice"), Password: auth.String("correct horse battery")}, auth.Client{})
		if !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("Signin(Cyrillic alice) error = %v, want ErrBadCredentials: signin goes by the key, not the skeleton", err)
		}
	})
	t.Run("unlike login", func(t *testing.T) {
		if _, err := f.svc.Signup(ctx, signupReq("alicia", "alicia@example.com"), auth.Client{}); err != nil {
			t.Errorf("Signup(alicia) error = %v", err)
		}
	})
	if n := utf8.RuneCountInString("𝐚𝐥𝐢𝐜𝐞"); n != 5 {
		t.Fatalf("test data: %d runes", n)
	}
}
