package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/authstore/auth/httpapi"
)

// field is one request field as a test sends it: a JSON literal, or one or
// more form values. A nil field is left out of the body.
type field struct {
	json string   // the JSON literal; "" means the field is not JSON-only
	form []string // the form values; nil means the value has no form encoding
}

func str(s string) *field {
	return &field{json: quote(s), form: []string{s}}
}

// jsonOnly is a value only JSON can carry (null, a number, a bool, an object).
func jsonOnly(lit string) *field { return &field{json: lit} }

// repeated is an array in JSON and a repeated field in a form.
func repeated(a, b string) *field {
	return &field{json: "[" + quote(a) + "," + quote(b) + "]", form: []string{a, b}}
}

var missing *field

// encodings turn named fields into a body of one content type; ok is false
// when a field cannot be carried by it.
var encodings = []struct {
	name   string
	encode func(names []string, fs []*field) (p payload, ok bool)
}{
	{"json", func(names []string, fs []*field) (payload, bool) {
		var parts []string
		for i, f := range fs {
			if f != nil {
				parts = append(parts, quote(names[i])+":"+f.json)
			}
		}
		return jsonBody("{" + strings.Join(parts, ",") + "}"), true
	}},
	{"urlencoded", func(names []string, fs []*field) (payload, bool) {
		kv, ok := formPairs(names, fs)
		return formBody(kv...), ok
	}},
	{"multipart", func(names []string, fs []*field) (payload, bool) {
		kv, ok := formPairs(names, fs)
		return multipartBody(kv...), ok
	}},
}

func formPairs(names []string, fs []*field) ([]string, bool) {
	var kv []string
	for i, f := range fs {
		if f == nil {
			continue
		}
		if f.form == nil {
			return nil, false
		}
		for _, v := range f.form {
			kv = append(kv, names[i], v)
		}
	}
	return kv, true
}

var signupFields = []string{"firstName", "lastName", "login", "email", "password"}

// The messages each field earns for a value of no string type at all
// (missing or null) and for a value of another type (number, bool, array,
// object), in the contract's order.
var (
	nameAbsent = func(n string) []string {
		return []string{n + " must be longer than or equal to 1 characters", n + " should not be empty", n + " must be a string"}
	}
	loginWrong    = []string{"login must be longer than or equal to 3 characters", "login must be a string"}
	emailWrong    = []string{"email must be an email"}
	passwordWrong = []string{"password must be longer than or equal to 8 characters", "password must be a string"}
)

// wrongType is a value of another type than string. Its length message is
// class-validator's, from JavaScript's view of it: an array by its element
// count, and a number, true or an object (which have no numeric length) the
// combined one.
type wrongType struct {
	name     string
	value    *field
	arrayLen int // elements, for an array; 0 otherwise
}

// want is the messages field n (of length bounds min..max) earns for w.
func (w wrongType) want(n string, min, max int) []string {
	msg := fmt.Sprintf("%s must be longer than or equal to %d and shorter than or equal to %d characters", n, min, max)
	if w.arrayLen > 0 && w.arrayLen < min {
		msg = fmt.Sprintf("%s must be longer than or equal to %d characters", n, min)
	}
	return []string{msg, n + " must be a string"}
}

func TestSignupValidation(t *testing.T) {
	t.Parallel()

	type row struct {
		name  string
		field string // the field that differs from a valid body
		value *field
		want  []string
	}
	var rows []row
	wrongTypes := []wrongType{
		{"number", jsonOnly("12345678"), 0},
		{"bool", jsonOnly("true"), 0},
		{"object", jsonOnly(`{"a":"abcdefgh"}`), 0},
		{"array", repeated("abcdefgh", "abcdefgh"), 2},
	}
	for _, n := range []string{"firstName", "lastName"} {
		rows = append(rows,
			row{"missing", n, missing, nameAbsent(n)},
			row{"null", n, jsonOnly("null"), nameAbsent(n)},
			row{"empty", n, str(""), []string{n + " must be longer than or equal to 1 characters", n + " should not be empty"}},
			row{"blank", n, str(" \t "), []string{n + " must be longer than or equal to 1 characters", n + " should not be empty"}},
			row{"21 characters", n, str(strings.Repeat("é", 21)), []string{n + " must be shorter than or equal to 20 characters"}},
			row{"20 characters after trimming", n, str("  " + strings.Repeat("é", 20) + "  "), nil},
			row{"control character", n, str("Ev\x01geny"), []string{n + " must not contain control characters"}},
			row{"emoji with variation selectors: 11 characters", n, str(strings.Repeat("\u2764\ufe0f", 11)), nil},
			row{"21 astral characters", n, str(strings.Repeat("\U0001F98A", 21)), []string{n + " must be shorter than or equal to 20 characters"}},
			row{"U+FEFF trimmed", n, str("\ufeff" + strings.Repeat("A", 20) + "\ufeff"), nil},
			row{"DEL", n, str("Ev\x7fgeny"), []string{n + " must not contain control characters"}},
		)
		for _, w := range wrongTypes {
			rows = append(rows, row{w.name, n, w.value, w.want(n, 1, 20)})
		}
	}
	rows = append(rows,
		row{"missing", "login", missing, loginWrong},
		row{"null", "login", jsonOnly("null"), loginWrong},
		row{"empty", "login", str(""), []string{"login must be longer than or equal to 3 characters"}},
		row{"2 characters after trimming", "login", str("  ab  "), []string{"login must be longer than or equal to 3 characters"}},
		row{"25 characters", "login", str(strings.Repeat("x", 25)), []string{"login must be shorter than or equal to 24 characters"}},
		row{"24 code points", "login", str(strings.Repeat("ж", 24)), nil},
		row{"control character", "login", str("ab\ncd"), []string{"login must not contain control characters"}},
		row{"two astral characters: UTF-16 in bounds, count not", "login", str("\U0001F98A\U0001F98A"), []string{"login must be longer than or equal to 3 and shorter than or equal to 24 characters"}},
		row{"three astral characters", "login", str("\U0001F98A\U0001F98B\U0001F98C"), nil},
	)
	for _, w := range wrongTypes {
		rows = append(rows, row{w.name, "login", w.value, w.want("login", 3, 24)})
	}
	rows = append(rows,
		row{"missing", "email", missing, emailWrong},
		row{"null", "email", jsonOnly("null"), emailWrong},
		row{"empty", "email", str(""), emailWrong},
		row{"not an email", "email", str("not-an-email"), emailWrong},
		row{"no TLD", "email", str("a@localhost"), emailWrong},
		row{"IP literal", "email", str("a@[127.0.0.1]"), emailWrong},
	)
	for _, w := range wrongTypes {
		rows = append(rows, row{w.name, "email", w.value, emailWrong})
	}
	rows = append(rows,
		row{"missing", "password", missing, passwordWrong},
		row{"null", "password", jsonOnly("null"), passwordWrong},
		row{"7 characters", "password", str("1234567"), []string{"password must be longer than or equal to 8 characters"}},
		row{"7 characters after trimming", "password", str(" 1234567 "), []string{"password must be longer than or equal to 8 characters"}},
		row{"129 characters", "password", str(strings.Repeat("p", 129)), []string{"password must be shorter than or equal to 128 characters"}},
		row{"128 code points", "password", str(strings.Repeat("ü", 128)), nil},
	)
	for _, w := range wrongTypes {
		rows = append(rows, row{w.name, "password", w.value, w.want("password", 8, 128)})
	}

	for _, enc := range encodings {
		t.Run(enc.name, func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t, httpapi.Config{})
			for i, r := range rows {
				t.Run(r.field+"/"+r.name, func(t *testing.T) {
					tag := fmt.Sprintf("%s%03d", enc.name[:1], i)
					valid := map[string]*field{
						"firstName": str("Evgeny"), "lastName": str("Smirnov"), "login": str(tag),
						"email": str(tag + "@example.com"), "password": str("correct horse battery"),
					}
					valid[r.field] = r.value
					fs := make([]*field, len(signupFields))
					for j, n := range signupFields {
						fs[j] = valid[n]
					}
					p, ok := enc.encode(signupFields, fs)
					if !ok {
						t.Skipf("%s cannot carry this value", enc.name)
					}
					ex := hs.do(t, http.MethodPost, "/auth/signup", p, nil)
					if r.want == nil {
						ex.tokens(t)
						return
					}
					if ex.status != http.StatusBadRequest {
						t.Fatalf("status %d, want 400: %s", ex.status, ex.body)
					}
					if _, msgs, _, _ := ex.errorBody(t); !slices.Equal(msgs, r.want) {
						t.Errorf("messages\n got %q\nwant %q", msgs, r.want)
					}
				})
			}
		})
	}

	// Every field wrong at once: every message, in field order.
	all := [][]string{nameAbsent("firstName"), nameAbsent("lastName"), loginWrong, emailWrong, passwordWrong}
	wantAll := slices.Concat(all...)
	hs := newHarness(t, httpapi.Config{})
	for _, enc := range encodings {
		t.Run(enc.name+"/every field missing", func(t *testing.T) {
			p, _ := enc.encode(nil, nil)
			ex := hs.do(t, http.MethodPost, "/auth/signup", p, nil)
			if _, msgs, _, _ := ex.errorBody(t); ex.status != 400 || !slices.Equal(msgs, wantAll) {
				t.Errorf("%d messages\n got %q\nwant %q", ex.status, msgs, wantAll)
			}
		})
	}
	t.Run("json/every field of a wrong type", func(t *testing.T) {
		ex := hs.do(t, http.MethodPost, "/auth/signup",
			jsonBody(`{"firstName":1,"lastName":[],"login":{},"email":false,"password":null}`), nil)
		want := slices.Concat(
			[]string{"firstName must be longer than or equal to 1 and shorter than or equal to 20 characters", "firstName must be a string"},
			[]string{"lastName must be longer than or equal to 1 characters", "lastName must be a string"}, // [] has length 0
			[]string{"login must be longer than or equal to 3 and shorter than or equal to 24 characters", "login must be a string"},
			emailWrong, passwordWrong)
		if _, msgs, _, _ := ex.errorBody(t); ex.status != 400 || !slices.Equal(msgs, want) {
			t.Errorf("%d messages\n got %q\nwant %q", ex.status, msgs, want)
		}
	})
}

func TestSigninValidation(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	const (
		loginShort  = "login must be longer than or equal to 3 characters"
		loginLong   = "login must be shorter than or equal to 24 characters"
		loginBoth   = "login must be longer than or equal to 3 and shorter than or equal to 24 characters"
		loginString = "login must be a string"
		pwShort     = "password must be longer than or equal to 8 characters"
		pwLong      = "password must be shorter than or equal to 128 characters"
		pwBoth      = "password must be longer than or equal to 8 and shorter than or equal to 128 characters"
		pwString    = "password must be a string"
	)
	loginDto := []string{loginShort, loginString, pwShort, pwString}
	const pw = "correct horse battery"
	tests := []struct {
		name string
		body payload
		want []string // nil: passes validation, so "incorrect"
	}{
		{"json empty object", jsonBody(`{}`), loginDto},
		{"urlencoded no fields", formBody(), loginDto},
		{"multipart no fields", multipartBody(), loginDto},
		{"json nulls", jsonBody(`{"login":null,"password":null}`), loginDto},
		{"json false and 0 are falsy", jsonBody(`{"login":false,"password":0}`), loginDto},
		{"json empty strings", jsonBody(`{"login":"","password":"  "}`), []string{loginShort, pwShort}},
		{"json number and object", jsonBody(`{"login":123,"password":{"a":1}}`), []string{loginBoth, loginString, pwBoth, pwString}},
		{"json true", jsonBody(`{"login":true,"password":"` + pw + `"}`), []string{loginBoth, loginString}},
		{"json object with a numeric length", jsonBody(`{"login":{"length":2},"password":{"length":"200"}}`), []string{loginShort, loginString, pwLong, pwString}},
		{"json arrays by their length", jsonBody(`{"login":["a","b","c"],"password":[]}`), []string{loginBoth, loginString, pwShort, pwString}},
		{"urlencoded repeated login", formBody("login", "a", "login", "b", "password", "x"), []string{loginShort, loginString, pwShort}},
		{"urlencoded brackets make an array", payload{"application/x-www-form-urlencoded", "login[]=abc&password[0]=" + pw}, []string{loginShort, loginString, pwShort, pwString}},
		{"urlencoded key brackets make an object", payload{"application/x-www-form-urlencoded", "login[length]=30&password=" + pw}, []string{loginLong, loginString}},
		{"multipart repeated password", multipartBody("login", "a", "password", "x", "password", "y"), []string{loginShort, pwShort, pwString}},
		{"multipart brackets", multipartBody("login[x]", "abc", "password", pw), []string{loginBoth, loginString}},
		{"login of 2", jsonBody(`{"login":"ab","password":"` + pw + `"}`), []string{loginShort}},
		{"login of 25", jsonBody(`{"login":"` + strings.Repeat("a", 25) + `","password":"` + pw + `"}`), []string{loginLong}},
		{"password of 7", jsonBody(`{"login":"alice","password":"1234567"}`), []string{pwShort}},
		{"password of 129", jsonBody(`{"login":"alice","password":"` + strings.Repeat("p", 129) + `"}`), []string{pwLong}},
		{"two astral characters: UTF-16 length 4, count 2", jsonBody(`{"login":"\ud83e\udd8a\ud83e\udd8a","password":"` + pw + `"}`), []string{loginBoth}},
		{"variation selectors do not count", jsonBody(`{"login":"a\ufe0fb\ufe0f","password":"` + pw + `"}`), []string{loginBoth}},
		{"trimmed before counting", formBody("login", "  ab \t", "password", pw), []string{loginShort}},
		{"valid lengths: the credentials are checked", jsonBody(`{"login":"abc","password":"12345678"}`), nil},
		{"valid lengths in a form", formBody("login", strings.Repeat("z", 24), "password", strings.Repeat("p", 128)), nil},
		{"astral login of 3 passes", jsonBody(`{"login":"\ud83e\udd8a\ud83e\udd8a\ud83e\udd8a","password":"` + pw + `"}`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := hs.do(t, http.MethodPost, "/auth/signin", tt.body, nil)
			if ex.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", ex.status, ex.body)
			}
			want := tt.want
			if want == nil {
				want = []string{"The login or password is incorrect"}
			}
			if _, msgs, _, _ := ex.errorBody(t); !slices.Equal(msgs, want) {
				t.Errorf("messages\n got %q\nwant %q", msgs, want)
			}
		})
	}
}
