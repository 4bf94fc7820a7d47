package auth

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// ValueType is the JSON type a request field arrived as.
type ValueType uint8

// Field value types. Form bodies produce ValueMissing, ValueString,
// ValueArray (a repeated field, or "f[]" and "f[0]") and ValueObject
// ("f[name]"), as the qs library reads them.
const (
	ValueMissing ValueType = iota
	ValueNull
	ValueString
	ValueNumber
	ValueBool
	ValueArray
	ValueObject
)

// Value is one request field as decoded, before any rule is applied. The
// transport fills it; the Service judges it. Besides the type, it keeps
// what JavaScript would see of a value that is not a string, because the
// original's validation messages depend on it (see lengthMessage).
type Value struct {
	Type ValueType
	Str  string  // the text, when Type is ValueString
	Num  float64 // the number of a ValueNumber; 1 or 0 for a ValueBool
	// Len is JavaScript's value.length as a number: the element count of a
	// ValueArray, or Number(value.length) of a ValueObject (NaN when the
	// object has no "length" member). Build these with Array and Object.
	Len float64
}

// String returns a Value holding s.
func String(s string) Value { return Value{Type: ValueString, Str: s} }

// Number returns a Value holding the number x.
func Number(x float64) Value { return Value{Type: ValueNumber, Num: x} }

// Bool returns a Value holding b.
func Bool(b bool) Value {
	if b {
		return Value{Type: ValueBool, Num: 1}
	}
	return Value{Type: ValueBool}
}

// Null returns the Value of a JSON null.
func Null() Value { return Value{Type: ValueNull} }

// Array returns the Value of an array of n elements.
func Array(n int) Value { return Value{Type: ValueArray, Len: float64(n)} }

// Object returns the Value of an object whose "length" member converts to
// the number length (math.NaN() when it has none or it is not numeric; see
// JSNumber).
func Object(length float64) Value { return Value{Type: ValueObject, Len: length} }

// JSNumber converts v as JavaScript's Number(v) does, for the values a
// request can hold: a string by StringToNumber, a number as itself, true 1,
// false 0, null 0, an empty array 0, and anything else NaN (an array of one
// element, which JavaScript converts through its text, counts as NaN too).
func JSNumber(v Value) float64 {
	switch v.Type {
	case ValueString:
		return StringToNumber(v.Str)
	case ValueNumber, ValueBool:
		return v.Num
	case ValueNull:
		return 0
	case ValueArray:
		if v.Len == 0 {
			return 0
		}
	}
	return math.NaN()
}

// StringToNumber converts s as JavaScript's Number(s) does: white space
// trimmed, "" is 0, decimal (with exponent), 0x/0o/0b integers and
// [+-]Infinity are numbers, anything else NaN.
func StringToNumber(s string) float64 {
	s = JSTrim(s)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			n, err := strconv.ParseUint(s[2:], base, 64)
			if err != nil || strings.Contains(s[2:], "_") {
				return math.NaN()
			}
			return float64(n)
		}
	}
	switch s {
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	// ParseFloat also takes forms JavaScript refuses: "inf", "nan",
	// underscores and hexadecimal floats.
	if strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.' || r == 'e' || r == 'E' || r == '+' || r == '-')
	}) {
		return math.NaN()
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return math.NaN()
	}
	return x
}

// falsy reports whether JavaScript judges v false: absent, null, "", 0, false.
func (v Value) falsy() bool {
	switch v.Type {
	case ValueMissing, ValueNull:
		return true
	case ValueString:
		return v.Str == ""
	case ValueNumber, ValueBool:
		return v.Num == 0
	}
	return false
}

// SignupRequest is the body of POST /auth/signup (the original CreateUserDto).
type SignupRequest struct {
	FirstName, LastName, Login, Email, Password Value
}

// SigninRequest is the body of POST /auth/signin (the original LoginDto).
type SigninRequest struct {
	Login, Password Value
}

// Fold returns the key under which a login or email is unique and looked up:
// the trimmed text mapped by the PRECIS UsernameCaseMapped profile and then
// case-folded, or, where that profile refuses the text (spaces, symbols,
// compatibility characters), mapped as NFKC_Casefold maps it; the key is
// NFKC-normalised either way and Fold never fails. So "ΟΔΟΣ" and "οδος",
// "STRASSE" and "straße", a composed and a decomposed "é", fullwidth
// "ａｌｉｃｅ" and "alice", or "ali\u200Bce" and "alice" are one key.
// Look-alikes from other scripts are not: see Skeleton.
func Fold(s string) string {
	return identityKey(JSTrim(s))
}

// trimmed returns v with surrounding white space removed from its text, as
// JavaScript's String.prototype.trim removes it.
func trimmed(v Value) Value {
	if v.Type == ValueString {
		v.Str = JSTrim(v.Str)
	}
	return v
}

// JSTrim returns s without the leading and trailing white space that
// JavaScript's String.prototype.trim removes: its WhiteSpace and
// LineTerminator code points (isJSSpace), so U+FEFF goes and U+0085 stays.
func JSTrim(s string) string {
	return strings.TrimFunc(s, isJSSpace)
}

// CharCount is the length of s as validator.js isLength counts it (and so
// the original's length rules): code points, not counting the variation
// selectors U+FE0E and U+FE0F.
func CharCount(s string) int {
	n := 0
	for _, r := range s {
		if r != '\uFE0E' && r != '\uFE0F' {
			n++
		}
	}
	return n
}

// lengthRule is class-validator's @Length(min, max) (max 0: unbounded).
type lengthRule struct{ min, max int }

// message returns the message v earns under the rule, or "" if it passes.
// A string passes when CharCount is within the bounds. Otherwise the message
// is chosen as class-validator chooses it, from JavaScript's view of the
// value: "longer than" when the value is falsy or its length (UTF-16 units
// for a string) is under min, "shorter than" when that length is over max,
// and the combined message when neither comparison holds: a string whose
// UTF-16 length is within the bounds but whose count is not ("🦊🦊" as a
// login), a number, true, or an object without a numeric "length".
func (l lengthRule) message(name string, v Value) string {
	var length float64
	switch v.Type {
	case ValueString:
		n := CharCount(v.Str)
		if n >= l.min && (l.max == 0 || n <= l.max) {
			return ""
		}
		length = float64(utf16Len(v.Str))
	case ValueArray, ValueObject:
		length = v.Len
	default:
		length = math.NaN() // (5).length and true.length are undefined
	}
	minText := strconv.Itoa(l.min)
	switch {
	case v.falsy() || length < float64(l.min):
		return name + " must be longer than or equal to " + minText + " characters"
	case l.max > 0 && length > float64(l.max):
		return name + " must be shorter than or equal to " + strconv.Itoa(l.max) + " characters"
	case l.max == 0:
		return name + " must be longer than or equal to " + minText + " characters"
	}
	return name + " must be longer than or equal to " + minText + " and shorter than or equal to " + strconv.Itoa(l.max) + " characters"
}

// fieldRules are the checks one field gets, in the original's message order:
// length, then not-empty, then string.
type fieldRules struct {
	name     string
	length   *lengthRule
	notEmpty bool      // "should not be empty"
	email    bool      // "must be an email" replaces the other messages
	text     textClass // characters refused as hiding or disguising text
}

// check appends to msgs the messages v earns under r, in the original order.
func (r fieldRules) check(v Value, msgs []string) []string {
	isString := v.Type == ValueString
	if r.email {
		if !isString || !IsEmail(v.Str) {
			return append(msgs, r.name+" must be an email")
		}
		if r.text.refusedIn(v.Str) {
			msgs = append(msgs, r.name+" must not contain control characters")
		}
		return msgs
	}
	if r.length != nil {
		if m := r.length.message(r.name, v); m != "" {
			msgs = append(msgs, m)
		}
	}
	// @IsNotEmpty refuses only "", null and undefined.
	if r.notEmpty && (v.Type == ValueMissing || v.Type == ValueNull || (isString && v.Str == "")) {
		msgs = append(msgs, r.name+" should not be empty")
	}
	if !isString {
		msgs = append(msgs, r.name+" must be a string")
	} else if r.text.refusedIn(v.Str) {
		msgs = append(msgs, r.name+" must not contain control characters")
	}
	return msgs
}

// hasControl reports whether s holds a C0 control or DEL, which no stored
// text may hold (field rules refuse more: see textClass).
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// PasswordBlocklist is a set of passwords too common to accept at signup.
// The password package's Blocklist implements it.
type PasswordBlocklist interface {
	// Contains reports whether password is on the list. It is called with
	// the trimmed password and must be safe for concurrent use.
	Contains(password string) bool
}

// passwordPolicy is what signup asks of a password: a length in code points
// between min and max, and, when common is not nil, not being on it.
type passwordPolicy struct {
	min, max int
	common   PasswordBlocklist
}

// The original's field rules (CreateUserDto, LoginDto).
var (
	nameLength  = lengthRule{min: 1, max: 20}
	loginLength = lengthRule{min: 3, max: 24}
)

// The rules of each profile field: the original's length and type, and
// ours for the characters that hide or disguise text.
var (
	firstNameRules = fieldRules{name: "firstName", length: &nameLength, notEmpty: true, text: nameText}
	lastNameRules  = fieldRules{name: "lastName", length: &nameLength, notEmpty: true, text: nameText}
	// loginRules is the one rule of a login. Signup and import apply all
	// of it; signin only its length and type (the original's LoginDto), so
	// that a login stored before a character rule existed still signs in.
	loginRules = fieldRules{name: "login", length: &loginLength, text: identifierText}
	emailRules = fieldRules{name: "email", email: true, text: identifierText}
)

// signinPasswordMin is LoginDto's shortest password: the original's 8,
// whatever signup's PasswordMinLength is now, so that every password signup
// ever accepted still reaches the password check.
const signinPasswordMin = 8

// profileMessages trims the profile fields of r (every field but the
// password) and returns their messages, in field order. Signup and import
// apply it alike.
func profileMessages(r *SignupRequest) []string {
	r.FirstName, r.LastName = trimmed(r.FirstName), trimmed(r.LastName)
	r.Login, r.Email = trimmed(r.Login), trimmed(r.Email)
	var msgs []string
	msgs = firstNameRules.check(r.FirstName, msgs)
	msgs = lastNameRules.check(r.LastName, msgs)
	msgs = loginRules.check(r.Login, msgs)
	return emailRules.check(r.Email, msgs)
}

// passwordMessages trims *pw and returns its messages under policy: its
// length and type, then, only for a password that passes them, the
// common-password list.
func passwordMessages(pw *Value, policy passwordPolicy) []string {
	return newPasswordMessages("password", pw, policy)
}

// newPasswordMessages is passwordMessages for the field name: signup's
// rules and messages for a new password, whatever the field is called.
func newPasswordMessages(name string, pw *Value, policy passwordPolicy) []string {
	*pw = trimmed(*pw)
	msgs := fieldRules{name: name, length: &lengthRule{min: policy.min, max: policy.max}}.check(*pw, nil)
	if len(msgs) == 0 && policy.common != nil && policy.common.Contains(pw.Str) {
		msgs = append(msgs, name+" is too common")
	}
	return msgs
}

// currentPasswordMessages trims *pw and checks it as signin checks a
// password (LoginDto's rule, under the field name): a string of 8..max.
func currentPasswordMessages(name string, pw *Value, max int, msgs []string) []string {
	*pw = trimmed(*pw)
	return fieldRules{name: name, length: &lengthRule{min: signinPasswordMin, max: max}}.check(*pw, msgs)
}

// emailMessages trims *v and checks it as signup checks an email, under
// the field name.
func emailMessages(name string, v *Value, msgs []string) []string {
	*v = trimmed(*v)
	r := emailRules
	r.name = name
	return r.check(*v, msgs)
}

// validateSignup trims the request and checks every field, returning all
// messages of the request together as one KindInvalid error.
func validateSignup(r *SignupRequest, pw passwordPolicy) error {
	return invalid(append(profileMessages(r), passwordMessages(&r.Password, pw)...))
}

// validateSignin trims the request and checks it as the original's LoginDto:
// login a string of 3..24 characters, password a string of 8..maxPassword.
// These rules say nothing about accounts, so a request they refuse is
// answered at once; one they pass takes the constant-time path, where a
// login signup would refuse for its characters is just "incorrect".
func validateSignin(r *SigninRequest, maxPassword int) error {
	r.Login, r.Password = trimmed(r.Login), trimmed(r.Password)
	originalLogin := loginRules
	originalLogin.text = anyText
	msgs := originalLogin.check(r.Login, nil)
	msgs = fieldRules{name: "password", length: &lengthRule{min: signinPasswordMin, max: maxPassword}}.check(r.Password, msgs)
	return invalid(msgs)
}

// invalid is the KindInvalid error carrying msgs, or nil if there are none.
func invalid(msgs []string) error {
	if len(msgs) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Messages: msgs}
}
