package token_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/token"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func genKey(t testing.TB, alg string, s *token.Sealer, at time.Time) auth.SigningKey {
	t.Helper()
	k, err := token.GenerateKey(alg, nil, at, s)
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", alg, err)
	}
	return *k
}

func sampleClaims() auth.AccessClaims {
	return auth.AccessClaims{
		Issuer:    "https://auth.example",
		Subject:   "5f0c9a52-7a52-4c3e-9d7e-1f9b1c0e2a11",
		Audience:  "api",
		SessionID: "b1f0a9d3-9a3f-4a57-8f0c-3b2f0c1d9e44",
		ID:        "jti-1",
		IssuedAt:  t0,
		ExpiresAt: t0.Add(20 * time.Minute),
		AMR:       []string{auth.AMRPassword, auth.AMROTP},
	}
}

// verify checks tok independently of the package: allowed alg, kid and typ
// headers, signature against the key from jwks, and returns the raw claims.
func verify(t testing.TB, tok, alg, kid string, jwks []byte) map[string]any {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("ParseSigned: %v", err)
	}
	if len(parsed.Headers) != 1 {
		t.Fatalf("%d headers, want 1", len(parsed.Headers))
	}
	h := parsed.Headers[0]
	if h.Algorithm != alg {
		t.Errorf("alg = %q, want %q", h.Algorithm, alg)
	}
	if h.KeyID != kid {
		t.Errorf("kid = %q, want %q", h.KeyID, kid)
	}
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt", typ)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys with kid %q, want 1", len(keys), h.KeyID)
	}
	var std jwt.Claims
	raw := map[string]any{}
	if err := parsed.Claims(keys[0], &std, &raw); err != nil {
		t.Fatalf("Claims: %v", err)
	}
	return raw
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	for _, alg := range token.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			s := newSealer(t, 1)
			keys := []auth.SigningKey{genKey(t, alg, s, t0)}
			signer, err := token.NewSigner(keys, keys[0].ID, s)
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			if signer.KeyID() != keys[0].ID || signer.Algorithm() != alg {
				t.Errorf("signer kid, alg = %q, %q", signer.KeyID(), signer.Algorithm())
			}
			jwks, err := token.JWKS(keys)
			if err != nil {
				t.Fatalf("JWKS: %v", err)
			}

			c := sampleClaims()
			tok, err := signer.Sign(context.Background(), c)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			got := verify(t, tok, alg, keys[0].ID, jwks)
			want := map[string]any{
				"iss": c.Issuer,
				"sub": c.Subject,
				"aud": c.Audience,
				"exp": float64(t0.Add(20 * time.Minute).Unix()),
				"iat": float64(t0.Unix()),
				"jti": c.ID,
				"sid": c.SessionID,
				"amr": []any{"pwd", "otp"},
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("claims = %v, want %v", got, want)
			}

			// The standard validation of go-jose accepts it at the right time
			// and refuses it after exp.
			parsed, _ := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			var std jwt.Claims
			if err := parsed.UnsafeClaimsWithoutVerification(&std); err != nil {
				t.Fatal(err)
			}
			exp := jwt.Expected{Issuer: c.Issuer, Subject: c.Subject, AnyAudience: jwt.Audience{"api"}, ID: c.ID}
			if err := std.ValidateWithLeeway(exp.WithTime(t0.Add(time.Minute)), 0); err != nil {
				t.Errorf("Validate in lifetime: %v", err)
			}
			if err := std.ValidateWithLeeway(exp.WithTime(t0.Add(21*time.Minute)), 0); !errors.Is(err, jwt.ErrExpired) {
				t.Errorf("Validate after exp: %v, want ErrExpired", err)
			}

			// Another algorithm is refused, so is a key from another set.
			other := jose.RS256
			if alg == token.RS256 {
				other = jose.ES256
			}
			if _, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{other, jose.HS256}); err == nil {
				t.Error("ParseSigned with other algorithms: no error")
			}
			stranger := genKey(t, alg, s, t0)
			var sk jose.JSONWebKey
			if err := sk.UnmarshalJSON(stranger.Public); err != nil {
				t.Fatal(err)
			}
			if err := parsed.Claims(sk, &std); err == nil {
				t.Error("Claims with a stranger key: no error")
			}

			// A changed payload does not verify.
			parts := strings.Split(tok, ".")
			forged := map[string]any{}
			for k, v := range want {
				forged[k] = v
			}
			forged["sub"] = "someone-else"
			fb, _ := json.Marshal(forged)
			forgedTok := parts[0] + "." + base64.RawURLEncoding.EncodeToString(fb) + "." + parts[2]
			fp, err := jwt.ParseSigned(forgedTok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			var pk jose.JSONWebKey
			if err := pk.UnmarshalJSON(keys[0].Public); err != nil {
				t.Fatal(err)
			}
			if err := fp.Claims(pk, &std); err == nil {
				t.Error("forged payload verified")
			}
		})
	}
}

func TestSignOptionalClaims(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	keys := []auth.SigningKey{genKey(t, token.EdDSA, s, t0)}
	signer, err := token.NewSigner(keys, keys[0].ID, s)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := token.JWKS(keys)
	c := sampleClaims()
	c.Audience = ""
	c.SessionID = ""
	c.IssuedAt = t0.Add(999 * time.Millisecond) // seconds, truncated
	tok, err := signer.Sign(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	got := verify(t, tok, token.EdDSA, keys[0].ID, jwks)
	for _, k := range []string{"aud", "sid", "nbf"} {
		if _, ok := got[k]; ok {
			t.Errorf("claim %q present: %v", k, got[k])
		}
	}
	if got["iat"] != float64(t0.Unix()) {
		t.Errorf("iat = %v, want %d", got["iat"], t0.Unix())
	}
	// aud, when set, is one string and not an array.
	c.Audience = "api"
	tok, _ = signer.Sign(context.Background(), c)
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if !bytes.Contains(payload, []byte(`"aud":"api"`)) {
		t.Errorf("payload %s lacks aud as a string", payload)
	}
}

func TestSignRejects(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	keys := []auth.SigningKey{genKey(t, token.EdDSA, s, t0)}
	signer, err := token.NewSigner(keys, keys[0].ID, s)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*auth.AccessClaims)
	}{
		{"no subject", func(c *auth.AccessClaims) { c.Subject = "" }},
		{"no id", func(c *auth.AccessClaims) { c.ID = "" }},
		{"no issued at", func(c *auth.AccessClaims) { c.IssuedAt = time.Time{} }},
		{"no expiry", func(c *auth.AccessClaims) { c.ExpiresAt = time.Time{} }},
		{"expiry at issue", func(c *auth.AccessClaims) { c.ExpiresAt = c.IssuedAt }},
		{"expiry before issue", func(c *auth.AccessClaims) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := sampleClaims()
			tt.change(&c)
			if tok, err := signer.Sign(context.Background(), c); err == nil {
				t.Errorf("Sign: no error, token %q", tok)
			}
		})
	}
}

func TestSignConcurrent(t *testing.T) {
	t.Parallel()
	for _, alg := range token.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			s := newSealer(t, 1)
			keys := []auth.SigningKey{genKey(t, alg, s, t0)}
			signer, err := token.NewSigner(keys, keys[0].ID, s)
			if err != nil {
				t.Fatal(err)
			}
			jwks, _ := token.JWKS(keys)
			const n = 8
			toks := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					c := sampleClaims()
					c.ID = fmt.Sprint("jti-", i)
					toks[i], errs[i] = signer.Sign(context.Background(), c)
				})
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("Sign %d: %v", i, errs[i])
				}
				if got := verify(t, toks[i], alg, keys[0].ID, jwks)["jti"]; got != fmt.Sprint("jti-", i) {
					t.Errorf("token %d has jti %v", i, got)
				}
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	for _, alg := range token.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			k := genKey(t, alg, s, t0)
			if k.Algorithm != alg || !k.CreatedAt.Equal(t0) {
				t.Errorf("key alg %q created %v", k.Algorithm, k.CreatedAt)
			}
			var pub jose.JSONWebKey
			if err := pub.UnmarshalJSON(k.Public); err != nil {
				t.Fatalf("public JWK: %v", err)
			}
			if !pub.IsPublic() || pub.KeyID != k.ID || pub.Algorithm != alg || pub.Use != "sig" {
				t.Errorf("public JWK public=%v kid=%q alg=%q use=%q", pub.IsPublic(), pub.KeyID, pub.Algorithm, pub.Use)
			}
			var members map[string]any
			if err := json.Unmarshal(k.Public, &members); err != nil {
				t.Fatal(err)
			}
			if _, ok := members["d"]; ok {
				t.Error(`public JWK has "d"`)
			}
			// kid is the RFC 7638 thumbprint.
			tp, err := pub.Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := base64.RawURLEncoding.EncodeToString(tp); k.ID != want {
				t.Errorf("kid = %q, want thumbprint %q", k.ID, want)
			}
			if other := genKey(t, alg, s, t0); other.ID == k.ID {
				t.Error("two generated keys share a kid")
			}

			// The sealed private half opens only with the same sealer key
			// and its own kid.
			if _, err := s.Open(k.Private, []byte(k.ID)); err != nil {
				t.Errorf("Open with own kid: %v", err)
			}
			if _, err := newSealer(t, 2).Open(k.Private, []byte(k.ID)); !errors.Is(err, token.ErrOpen) {
				t.Errorf("Open with another sealer: %v, want ErrOpen", err)
			}
			if _, err := s.Open(k.Private, []byte("other-kid")); !errors.Is(err, token.ErrOpen) {
				t.Errorf("Open with another kid: %v, want ErrOpen", err)
			}
		})
	}
	if _, err := token.GenerateKey("HS256", nil, t0, s); err == nil {
		t.Error("GenerateKey(HS256): no error")
	}
	if _, err := token.GenerateKey("none", nil, t0, s); err == nil {
		t.Error("GenerateKey(none): no error")
	}
}

func TestGenerateKeyUsesRand(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	seed := bytes.Repeat([]byte{7}, 32)
	a, err := token.GenerateKey(token.EdDSA, bytes.NewReader(seed), t0, s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := token.GenerateKey(token.EdDSA, bytes.NewReader(seed), t0, s)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || !bytes.Equal(a.Public, b.Public) {
		t.Error("the same seed gave different Ed25519 keys")
	}
	if _, err := token.GenerateKey(token.EdDSA, bytes.NewReader(seed[:5]), t0, s); err == nil {
		t.Error("GenerateKey with a short Rand: no error")
	}
}

func TestNewSignerRefuses(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	ed1 := genKey(t, token.EdDSA, s, t0)
	ed2 := genKey(t, token.EdDSA, s, t0)
	es := genKey(t, token.ES256, s, t0)

	swappedPrivate := ed1
	swappedPrivate.Private = ed2.Private
	swappedPublic := ed1
	swappedPublic.Public = ed2.Public
	wrongAlg := es
	wrongAlg.Algorithm = token.RS256
	// A public JWK with the right kid and alg but another key.
	var pub2 jose.JSONWebKey
	if err := pub2.UnmarshalJSON(ed2.Public); err != nil {
		t.Fatal(err)
	}
	pub2.KeyID = ed1.ID
	otherPublic := ed1
	otherPublic.Public, _ = pub2.MarshalJSON()

	tests := []struct {
		name    string
		key     auth.SigningKey
		sealer  *token.Sealer
		kid     string
		errOpen bool
	}{
		{"unknown kid", ed1, s, "nope", false},
		{"other sealer", ed1, newSealer(t, 2), ed1.ID, true},
		{"private of another row", swappedPrivate, s, ed1.ID, true},
		{"public of another row", swappedPublic, s, ed1.ID, false},
		{"public of another key", otherPublic, s, ed1.ID, false},
		{"algorithm changed", wrongAlg, s, es.ID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := token.NewSigner([]auth.SigningKey{tt.key}, tt.kid, tt.sealer)
			if err == nil {
				t.Fatal("NewSigner: no error")
			}
			if got := errors.Is(err, token.ErrOpen); got != tt.errOpen {
				t.Errorf("errors.Is(%v, ErrOpen) = %v, want %v", err, got, tt.errOpen)
			}
			if tt.errOpen && !strings.Contains(err.Error(), "secret key") {
				t.Errorf("error %q does not mention the secret key", err)
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	var keys []auth.SigningKey
	for _, alg := range token.Algorithms() {
		keys = append(keys, genKey(t, alg, s, t0), genKey(t, alg, s, t0.Add(time.Hour)))
	}
	b, err := token.JWKS(keys)
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	if len(doc.Keys) != len(keys) {
		t.Fatalf("JWKS has %d keys, want %d", len(doc.Keys), len(keys))
	}
	for i, m := range doc.Keys {
		if m["kid"] != keys[i].ID || m["alg"] != keys[i].Algorithm || m["use"] != "sig" {
			t.Errorf("key %d: kid=%v alg=%v use=%v", i, m["kid"], m["alg"], m["use"])
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := m[private]; ok {
				t.Errorf("key %d (%v) has private member %q", i, m["alg"], private)
			}
		}
	}

	empty, err := token.JWKS(nil)
	if err != nil || string(empty) != `{"keys":[]}` {
		t.Errorf("JWKS(nil) = %s, %v", empty, err)
	}
}

func TestJWKSRefusesPrivate(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	k := genKey(t, token.EdDSA, s, t0)
	der, err := s.Open(k.Private, []byte(k.ID))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	leaky := k
	leaky.Public, err = jose.JSONWebKey{Key: priv, KeyID: k.ID, Algorithm: k.Algorithm, Use: "sig"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(leaky.Public, []byte(`"d"`)) {
		t.Fatal("test setup: leaky JWK has no d")
	}
	b, err := token.JWKS([]auth.SigningKey{k, leaky})
	if err == nil {
		t.Errorf("JWKS with a private JWK: no error, got %s", b)
	}
}
