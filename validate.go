package auth

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// ValueType is the JSON type a request field arrived as.
type ValueType uint8

// Field value types. Form bodies only produce ValueMissing, ValueString and,
// for a repeated field, ValueArray.
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
// transport fills it; the Service judges it.
type Value struct {
	Type ValueType
	Str  string // the text, when Type is ValueString
}

// String returns a Value holding s.
func String(s string) Value { return Value{Type: ValueString, Str: s} }

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
	return identityKey(strings.TrimSpace(s))
}

// trimmed returns v with surrounding white space removed from its text.
func trimmed(v Value) Value {
	if v.Type == ValueString {
		v.Str = strings.TrimSpace(v.Str)
	}
	return v
}

// fieldRules are the checks one field gets, in the original's message order:
// length, then not-empty, then string.
type fieldRules struct {
	name     string
	min, max int       // Unicode code points; max 0 means unbounded
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
	n := 0
	if isString {
		n = utf8.RuneCountInString(v.Str)
	}
	// Like class-validator's @Length: a value that is not a string fails it
	// with the "longer than" message.
	hasLength := r.min > 0 || r.max > 0
	switch {
	case !hasLength:
	case !isString || n < r.min:
		msgs = append(msgs, r.name+" must be longer than or equal to "+strconv.Itoa(r.min)+" characters")
	case r.max > 0 && n > r.max:
		msgs = append(msgs, r.name+" must be shorter than or equal to "+strconv.Itoa(r.max)+" characters")
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

// validateSignup trims the request and checks every field, returning all
// messages of the request together as one KindInvalid error. The blocklist
// is consulted only for a password that passes its other rules.
func validateSignup(r *SignupRequest, pw passwordPolicy) error {
	r.FirstName, r.LastName = trimmed(r.FirstName), trimmed(r.LastName)
	r.Login, r.Email, r.Password = trimmed(r.Login), trimmed(r.Email), trimmed(r.Password)
	var msgs []string
	msgs = fieldRules{name: "firstName", min: 1, max: 20, notEmpty: true, text: nameText}.check(r.FirstName, msgs)
	msgs = fieldRules{name: "lastName", min: 1, max: 20, notEmpty: true, text: nameText}.check(r.LastName, msgs)
	msgs = fieldRules{name: "login", min: 3, max: 24, text: identifierText}.check(r.Login, msgs)
	msgs = fieldRules{name: "email", email: true, text: identifierText}.check(r.Email, msgs)
	before := len(msgs)
	msgs = fieldRules{name: "password", min: pw.min, max: pw.max}.check(r.Password, msgs)
	if len(msgs) == before && pw.common != nil && pw.common.Contains(r.Password.Str) {
		msgs = append(msgs, "password is too common")
	}
	if len(msgs) > 0 {
		return &Error{Kind: KindInvalid, Messages: msgs}
	}
	return nil
}

// validateSignin trims the request and checks that both fields are non-empty
// strings. It applies no length rules, so the answer for a login or password
// that signup would refuse is the same "incorrect" as for any other miss.
func validateSignin(r *SigninRequest) error {
	r.Login, r.Password = trimmed(r.Login), trimmed(r.Password)
	var msgs []string
	msgs = fieldRules{name: "login", notEmpty: true}.check(r.Login, msgs)
	msgs = fieldRules{name: "password", notEmpty: true}.check(r.Password, msgs)
	if len(msgs) > 0 {
		return &Error{Kind: KindInvalid, Messages: msgs}
	}
	return nil
}
