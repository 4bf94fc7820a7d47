package token_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/token"
)

// fuzzToken is a token Verify must accept as it is, and what it must say.
type fuzzToken struct {
	raw     string
	expired bool // Verify must fail with auth.ErrTokenExpired
}

// fuzzKeys returns Keys publishing one key of each algorithm, with the clock
// at t0+1m, and a token signed by each key (valid until t0+20m) plus one
// that expired at t0-10m.
func fuzzKeys(tb testing.TB) (*token.Keys, []fuzzToken) {
	tb.Helper()
	s := newSealer(tb, 7)
	store := &memStore{}
	for i, alg := range token.Algorithms() {
		store.keys = append(store.keys, chained(genKey(tb, alg, s, t0.Add(-time.Hour)), int64(i+1), t0.Add(-time.Hour)))
	}
	now := t0.Add(time.Minute)
	keys, err := token.LoadKeys(context.Background(), token.KeysConfig{
		Store: store, Sealer: s, Algorithm: token.EdDSA,
		Retention: 24 * time.Hour, Now: fixedNow(now),
	})
	if err != nil {
		tb.Fatalf("LoadKeys: %v", err)
	}
	var valid []fuzzToken
	for _, k := range store.keys {
		signer, err := token.NewSigner(store.keys, k.ID, s)
		if err != nil {
			tb.Fatalf("NewSigner: %v", err)
		}
		c := sampleClaims()
		tok, err := signer.Sign(context.Background(), c)
		if err != nil {
			tb.Fatalf("Sign: %v", err)
		}
		valid = append(valid, fuzzToken{raw: tok})
		if k.Algorithm == token.EdDSA {
			c.IssuedAt, c.ExpiresAt = t0.Add(-30*time.Minute), t0.Add(-10*time.Minute)
			if tok, err = signer.Sign(context.Background(), c); err != nil {
				tb.Fatalf("Sign: %v", err)
			}
			valid = append(valid, fuzzToken{raw: tok, expired: true})
		}
	}
	for _, v := range valid {
		checkVerify(tb, keys, v.raw, valid)
	}
	return keys, valid
}

// checkVerify verifies raw and fails tb unless Verify accepts exactly the
// unexpired tokens of valid, answers auth.ErrTokenExpired exactly for the
// expired ones, and auth.ErrInvalidToken for any other string.
func checkVerify(tb testing.TB, keys *token.Keys, raw string, valid []fuzzToken) {
	tb.Helper()
	want := auth.ErrInvalidToken
	for _, v := range valid {
		if raw == v.raw {
			want = nil
			if v.expired {
				want = auth.ErrTokenExpired
			}
		}
	}
	c, err := keys.Verify(context.Background(), raw)
	switch {
	case want == nil && err != nil:
		tb.Fatalf("Verify refused a valid token: %v", err)
	case want == nil && c.Subject != sampleClaims().Subject:
		tb.Fatalf("Verify returned claims %+v", c)
	case want != nil && err == nil:
		tb.Fatalf("Verify accepted %q, which is not a token it signed", raw)
	case want != nil && !errors.Is(err, want):
		tb.Fatalf("Verify(%q) = %v, want an error matching %v", raw, err, want)
	case want != nil && !reflect.DeepEqual(c, auth.AccessClaims{}):
		tb.Fatalf("Verify returned claims %+v with an error", c)
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
	case 4, 5, 6, 7: // set a header field
		h, err := base64.RawURLEncoding.DecodeString(seg[0])
		var m map[string]json.RawMessage
		if err != nil || json.Unmarshal(h, &m) != nil {
			return tok
		}
		field := []string{"alg", "kid", "typ", "crit"}[op-4]
		v := json.RawMessage(input)
		if !json.Valid(v) {
			v, _ = json.Marshal(input)
		}
		if b%5 == 0 {
			delete(m, field)
		} else {
			m[field] = v
		}
		h, _ = json.Marshal(m)
		seg[0] = base64.RawURLEncoding.EncodeToString(h)
	case 8: // replace the header
		seg[0] = base64.RawURLEncoding.EncodeToString([]byte(input))
	case 9: // replace the payload
		seg[1] = base64.RawURLEncoding.EncodeToString([]byte(input))
	case 10: // one segment in another base64 alphabet or padded
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

// kidOf returns the kid header of tok, unverified.
func kidOf(tb testing.TB, tok string) string {
	tb.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	var head struct {
		KID string `json:"kid"`
	}
	if err != nil || json.Unmarshal(h, &head) != nil || head.KID == "" {
		tb.Fatalf("no kid in %q", h)
	}
	return head.KID
}

// keyPublic returns the public JWK of the published key kid, as the JWKS
// shows it.
func keyPublic(tb testing.TB, keys *token.Keys, kid string) []byte {
	tb.Helper()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(keys.JWKS(), &set); err != nil {
		tb.Fatalf("JWKS: %v", err)
	}
	for _, k := range set.Keys {
		if strings.Contains(string(k), `"`+kid+`"`) {
			return k
		}
	}
	tb.Fatalf("kid %q not in the JWKS", kid)
	return nil
}

// mutations is the number of ops mutate knows.
const mutations = 14

// FuzzKeysVerify checks that Verify never panics, accepts only the exact
// tokens the keys signed, and fails with auth.ErrInvalidToken or, only for
// a genuine expired token, auth.ErrTokenExpired. Each input is verified as
// it is, and also used to mutate one of the valid tokens (chosen by sel,
// with the mutation) at pos with b.
func FuzzKeysVerify(f *testing.F) {
	keys, valid := fuzzKeys(f)
	for op := range mutations {
		f.Add("", uint16(op*len(valid)), uint16(op*37), byte('A'))
	}
	// Known attacks, built with this run's keys: alg none, HS256 keyed with
	// the Ed25519 key's public JWK, an ES256 signature under the Ed25519
	// key's kid.
	edKID := kidOf(f, valid[0].raw)
	head := func(alg string) string {
		h, _ := json.Marshal(map[string]string{"alg": alg, "kid": edKID, "typ": token.TokenType})
		return base64.RawURLEncoding.EncodeToString(h)
	}
	body := strings.Split(valid[0].raw, ".")[1]
	f.Add(head("none")+"."+body+".", uint16(0), uint16(0), byte(0))
	mac := hmac.New(sha256.New, keyPublic(f, keys, edKID))
	mac.Write([]byte(head("HS256") + "." + body))
	f.Add(head("HS256")+"."+body+"."+base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), uint16(0), uint16(0), byte(0))
	es := strings.Split(valid[2].raw, ".")
	f.Add(head("ES256")+"."+es[1]+"."+es[2], uint16(0), uint16(0), byte(0))
	f.Fuzz(func(t *testing.T, input string, sel, pos uint16, b byte) {
		checkVerify(t, keys, input, valid)
		v := valid[int(sel)%len(valid)]
		op := int(sel) / len(valid) % mutations
		if op == 11 {
			input = valid[(int(sel)+1)%len(valid)].raw
		}
		checkVerify(t, keys, mutate(v.raw, op, int(pos), b, input), valid)
	})
}
