package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth/verify"
	"github.com/go-jose/go-jose/v4"
)

// fuzzToken is a token Verify must accept as it is, and what it must say.
type fuzzToken struct {
	raw     string
	expired bool // Verify must fail with verify.ErrExpired
}

// checkVerify verifies raw and fails tb unless Verify accepts exactly the
// unexpired tokens of valid, answers verify.ErrExpired exactly for the
// expired ones, and verify.ErrInvalid alone for any other string.
func checkVerify(tb testing.TB, v *verify.Verifier, raw string, valid []fuzzToken) {
	tb.Helper()
	want := verify.ErrInvalid
	for _, vt := range valid {
		if raw == vt.raw {
			want = nil
			if vt.expired {
				want = verify.ErrExpired
			}
		}
	}
	c, err := v.Verify(context.Background(), raw)
	switch {
	case want == nil && err != nil:
		tb.Fatalf("Verify refused a valid token: %v", err)
	case want == nil && (c == nil || c.Subject != testSubject):
		tb.Fatalf("Verify returned claims %+v", c)
	case want != nil && err == nil:
		tb.Fatalf("Verify accepted %q, which is not a token of the JWKS's keys", raw)
	case want != nil && !errors.Is(err, want):
		tb.Fatalf("Verify(%q) = %v, want an error matching %v", raw, err, want)
	case want != nil && c != nil:
		tb.Fatalf("Verify returned claims %+v with an error", c)
	}
	for _, other := range []error{verify.ErrInvalid, verify.ErrExpired, verify.ErrUnavailable} {
		if err != nil && other != want && errors.Is(err, other) {
			tb.Fatalf("Verify(%q) = %v, which also matches %v", raw, err, other)
		}
	}
}

// mutate returns a variant of the valid token tok chosen by op, at byte pos
// with byte b or, for the header and payload variants, with input: the
// header's alg, kid, typ or crit set to input (as JSON if input is JSON, else
// a string) or deleted, the header or the payload replaced by input, a
// segment re-encoded padded or in standard base64, another token's
// signature, the JWS JSON serialization, or a segment with stray trailing
// bits.
func mutate(tok string, op int, pos int, b byte, input string) string {
	i := pos % (len(tok) + 1)
	seg := strings.Split(tok, ".")
	switch op {
	case 0: // replace a byte
		i = pos % len(tok)
		return tok[:i] + string([]byte{b}) + tok[i+1:]
	case 1: // insert a byte
		return tok[:i] + string([]byte{b}) + tok[i:]
	case 2: // delete a byte
		i = pos % len(tok)
		return tok[:i] + tok[i+1:]
	case 3: // flip bits of a byte
		i = pos % len(tok)
		return tok[:i] + string([]byte{tok[i] ^ (b | 1)}) + tok[i+1:]
	case 4, 5, 6, 7: // set or delete a header field
		h, err := base64.RawURLEncoding.DecodeString(seg[0])
		var m map[string]json.RawMessage
		if err != nil || json.Unmarshal(h, &m) != nil {
			return tok
		}
		field := []string{"alg", "kid", "typ", "crit"}[op-4]
		val := json.RawMessage(input)
		if !json.Valid(val) {
			val, _ = json.Marshal(input)
		}
		if b%5 == 0 {
			delete(m, field)
		} else {
			m[field] = val
		}
		h, _ = json.Marshal(m)
		seg[0] = base64.RawURLEncoding.EncodeToString(h)
	case 8: // replace the header
		seg[0] = base64.RawURLEncoding.EncodeToString([]byte(input))
	case 9: // replace the payload
		seg[1] = base64.RawURLEncoding.EncodeToString([]byte(input))
	case 10: // a segment padded or in standard base64
		n := pos % 3
		d, err := base64.RawURLEncoding.DecodeString(seg[n])
		if err != nil {
			return tok
		}
		enc := []*base64.Encoding{base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding}[int(b)%3]
		seg[n] = enc.EncodeToString(d)
	case 11: // the signature of another token
		seg[2] = input[strings.LastIndexByte(input, '.')+1:]
	case 13: // a segment with stray trailing bits, which decodes the same
		n := pos % 3
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		last := len(seg[n]) - 1
		if len(seg[n])%4 == 0 || strings.IndexByte(alphabet, seg[n][last]) < 0 {
			return tok
		}
		seg[n] = seg[n][:last] + string(alphabet[strings.IndexByte(alphabet, seg[n][last])|1])
	case 12: // the same signature in the flattened JSON serialization
		j, _ := json.Marshal(map[string]string{"protected": seg[0], "payload": seg[1], "signature": seg[2]})
		return string(j)
	}
	return strings.Join(seg, ".")
}

// mutations is the number of ops mutate knows.
const mutations = 14

// FuzzVerify checks that Verify never panics, accepts only the exact tokens
// the JWKS's keys signed, and fails with ErrInvalid or, only for a genuine
// expired token, ErrExpired (never ErrUnavailable: the set is cached and the
// clock stands still, so no fetch happens). Each input is verified as it
// is, and also used to mutate one of the valid tokens (chosen by sel, with
// the mutation) at pos with b.
func FuzzVerify(f *testing.F) {
	ed := newKey(f, jose.EdDSA, "ed")
	ec := newKey(f, jose.ES256, "ec")
	rs := newKey(f, jose.RS256, "rs")
	clk := newClock()
	v := newVerifier(f, newJWKSServer(f, ed, ec, rs), clk, nil)
	now := clk.Now()
	valid := []fuzzToken{
		{raw: ed.token(f, now, nil)},
		{raw: ec.token(f, now, nil)},
		{raw: rs.token(f, now, nil)},
		{raw: ed.token(f, now.Add(-time.Hour), nil), expired: true},
	}
	for _, vt := range valid {
		checkVerify(f, v, vt.raw, valid)
	}
	for op := range mutations {
		f.Add("", uint16(op*len(valid)), uint16(op*37), byte('A'))
	}
	// Known attacks, built with this run's keys: alg none, HS256 keyed with
	// the Ed25519 public key, an ES256 signature under the Ed25519 key's kid.
	header := map[string]any{"alg": "none", "kid": "ed", "typ": "at+jwt"}
	f.Add(rawToken(f, header, claimsAt(now), nil), uint16(0), uint16(0), byte(0))
	header["alg"] = "HS256"
	f.Add(rawToken(f, header, claimsAt(now), func(in []byte) []byte {
		m := hmac.New(sha256.New, ed.pub.Key.(ed25519.PublicKey))
		m.Write(in)
		return m.Sum(nil)
	}), uint16(0), uint16(0), byte(0))
	ecAsEd := *ec
	ecAsEd.kid = "ed"
	f.Add(ecAsEd.token(f, now, nil), uint16(0), uint16(0), byte(0))
	f.Fuzz(func(t *testing.T, input string, sel, pos uint16, b byte) {
		checkVerify(t, v, input, valid)
		vt := valid[int(sel)%len(valid)]
		op := int(sel) / len(valid) % mutations
		if op == 11 {
			input = valid[(int(sel)+1)%len(valid)].raw
		}
		checkVerify(t, v, mutate(vt.raw, op, int(pos), b, input), valid)
	})
}
