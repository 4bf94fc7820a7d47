package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth/verify"
	"github.com/go-jose/go-jose/v4"
)

func TestVerifyAccepts(t *testing.T) {
	t.Parallel()
	ed := newKey(t, jose.EdDSA, "ed")
	ec := newKey(t, jose.ES256, "ec")
	rs := newKey(t, jose.RS256, "rs")
	srv := newJWKSServer(t, ed, ec, rs)
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	now := clk.Now()
	want := verify.Claims{
		Subject:   testSubject,
		SessionID: testSession,
		Issuer:    testIssuer,
		Audience:  testAudience,
		ID:        testJTI,
		IssuedAt:  time.Unix(now.Unix(), 0).UTC(),
		ExpiresAt: time.Unix(now.Add(20*time.Minute).Unix(), 0).UTC(),
		AMR:       []string{"pwd"},
	}
	tests := []struct {
		name  string
		token string
		want  verify.Claims
	}{
		{"EdDSA", ed.token(t, now, nil), want},
		{"ES256", ec.token(t, now, nil), want},
		{"RS256", rs.token(t, now, nil), want},
		{"aud array containing ours", ed.token(t, now, func(c map[string]any) {
			c["aud"] = []string{"other", testAudience}
		}), want},
		{"typ application/at+jwt", ed.sign(t, "application/AT+JWT", claimsAt(now)), want},
		{"no sid, jti, iat or amr", ed.token(t, now, func(c map[string]any) {
			delete(c, "sid")
			delete(c, "jti")
			delete(c, "iat")
			delete(c, "amr")
		}), verify.Claims{Subject: testSubject, Issuer: testIssuer, Audience: testAudience, ExpiresAt: want.ExpiresAt}},
		{"expired within leeway", ed.token(t, now, func(c map[string]any) {
			c["exp"] = now.Add(-29 * time.Second).Unix()
		}), func() verify.Claims {
			w := want
			w.ExpiresAt = time.Unix(now.Add(-29*time.Second).Unix(), 0).UTC()
			return w
		}()},
		{"nbf and iat within leeway", ed.token(t, now, func(c map[string]any) {
			c["nbf"] = now.Add(29 * time.Second).Unix()
			c["iat"] = now.Add(29 * time.Second).Unix()
		}), func() verify.Claims {
			w := want
			w.IssuedAt = time.Unix(now.Add(29*time.Second).Unix(), 0).UTC()
			return w
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tt.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("claims = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	ed := newKey(t, jose.EdDSA, "ed")
	ec := newKey(t, jose.ES256, "ec")
	rs := newKey(t, jose.RS256, "rs")
	srv := newJWKSServer(t, ed, ec, rs)
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	now := clk.Now()

	// The forms in which an attacker may find a public key, to use as an
	// HMAC secret.
	jwkJSON, err := json.Marshal(rs.pub)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(rs.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	edDER, err := x509.MarshalPKIXPublicKey(ed.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	edJWK, err := json.Marshal(ed.pub)
	if err != nil {
		t.Fatal(err)
	}
	hs256 := func(kid string, secret []byte) string {
		header := map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": kid}
		return rawToken(t, header, claimsAt(now), func(in []byte) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write(in)
			return m.Sum(nil)
		})
	}
	good := ed.token(t, now, nil)
	parts := strings.Split(good, ".")
	tampered := claimsAt(now)
	tampered["sub"] = "11111111-2222-4333-8444-555555555555"
	tp, err := json.Marshal(tampered)
	if err != nil {
		t.Fatal(err)
	}
	// An attacker's own key, published nowhere, under a known kid.
	forger := newKey(t, jose.EdDSA, "ed")
	// An ES256 key signing under the kid of the Ed25519 key.
	ecAsEd := newKey(t, jose.ES256, "ed")
	refresh := make([]byte, 56)
	if _, err := rand.Read(refresh); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", verify.ErrInvalid},
		{"garbage", "not a token", verify.ErrInvalid},
		{"too long", ed.token(t, now, func(c map[string]any) { c["pad"] = strings.Repeat("x", verify.MaxTokenLength) }), verify.ErrInvalid},
		{"refresh token as access token", b64(refresh), verify.ErrInvalid},
		{"alg none", rawToken(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": "ed"}, claimsAt(now), nil), verify.ErrInvalid},
		{"alg none with a signature", rawToken(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": "ed"}, claimsAt(now), func([]byte) []byte { return []byte("sig") }), verify.ErrInvalid},
		{"HS256 with the RSA public JWK as secret", hs256("rs", jwkJSON), verify.ErrInvalid},
		{"HS256 with the RSA public key PEM as secret", hs256("rs", pemBytes), verify.ErrInvalid},
		{"HS256 with the RSA public key DER as secret", hs256("rs", der), verify.ErrInvalid},
		{"HS256 with the Ed25519 public JWK as secret", hs256("ed", edJWK), verify.ErrInvalid},
		{"HS256 with the Ed25519 public key DER as secret", hs256("ed", edDER), verify.ErrInvalid},
		{"HS256 with the raw Ed25519 public key as secret", hs256("ed", []byte(ed.pub.Key.(ed25519.PublicKey))), verify.ErrInvalid},
		{"unknown kid", newKey(t, jose.EdDSA, "nobody").token(t, now, nil), verify.ErrInvalid},
		{"no kid", newKey(t, jose.EdDSA, "").token(t, now, nil), verify.ErrInvalid},
		{"signed by another key under a known kid", forger.token(t, now, nil), verify.ErrInvalid},
		{"ES256 under the kid of an Ed25519 key", ecAsEd.token(t, now, nil), verify.ErrInvalid},
		{"tampered payload", parts[0] + "." + b64(tp) + "." + parts[2], verify.ErrInvalid},
		{"tampered signature", parts[0] + "." + parts[1] + "." + b64(make([]byte, 64)), verify.ErrInvalid},
		{"JSON serialization", func() string {
			jws, err := jose.ParseSignedCompact(good, []jose.SignatureAlgorithm{jose.EdDSA})
			if err != nil {
				t.Fatal(err)
			}
			return jws.FullSerialize()
		}(), verify.ErrInvalid},
		{"typ JWT", ed.sign(t, "JWT", claimsAt(now)), verify.ErrInvalid},
		{"no typ", ed.sign(t, "", claimsAt(now)), verify.ErrInvalid},
		{"expired", ed.token(t, now, func(c map[string]any) { c["exp"] = now.Add(-31 * time.Second).Unix() }), verify.ErrExpired},
		{"not yet valid", ed.token(t, now, func(c map[string]any) { c["nbf"] = now.Add(31 * time.Second).Unix() }), verify.ErrInvalid},
		{"issued in the future", ed.token(t, now, func(c map[string]any) { c["iat"] = now.Add(31 * time.Second).Unix() }), verify.ErrInvalid},
		{"wrong issuer", ed.token(t, now, func(c map[string]any) { c["iss"] = "https://evil.example" }), verify.ErrInvalid},
		{"issuer differing in case", ed.token(t, now, func(c map[string]any) { c["iss"] = strings.ToUpper(testIssuer) }), verify.ErrInvalid},
		{"wrong audience", ed.token(t, now, func(c map[string]any) { c["aud"] = "billing" }), verify.ErrInvalid},
		{"audience array without ours", ed.token(t, now, func(c map[string]any) { c["aud"] = []string{"billing", "mail"} }), verify.ErrInvalid},
		{"no audience", ed.token(t, now, func(c map[string]any) { delete(c, "aud") }), verify.ErrInvalid},
		{"no sub", ed.token(t, now, func(c map[string]any) { delete(c, "sub") }), verify.ErrInvalid},
		{"no exp", ed.token(t, now, func(c map[string]any) { delete(c, "exp") }), verify.ErrInvalid},
		{"exp not a number", ed.token(t, now, func(c map[string]any) { c["exp"] = "tomorrow" }), verify.ErrInvalid},
		{"sub not a string", ed.token(t, now, func(c map[string]any) { c["sub"] = 42 }), verify.ErrInvalid},
		{"payload not an object", ed.sign(t, "at+jwt", []string{"a"}), verify.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %+v, %v; want %v", got, err, tt.want)
			}
			if got != nil {
				t.Errorf("claims = %+v, want nil", got)
			}
			other := verify.ErrExpired
			if tt.want == verify.ErrExpired {
				other = verify.ErrInvalid
			}
			if errors.Is(err, other) {
				t.Errorf("error %v also matches %v", err, other)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error contains the token")
			}
		})
	}
}

func TestLeeway(t *testing.T) {
	t.Parallel()
	ed := newKey(t, jose.EdDSA, "ed")
	srv := newJWKSServer(t, ed)
	tests := []struct {
		name   string
		leeway time.Duration
		exp    time.Duration // exp relative to now
		want   error
	}{
		{"default 30s: 29s ago", 0, -29 * time.Second, nil},
		{"default 30s: 30s ago", 0, -30 * time.Second, verify.ErrExpired},
		{"5s: 4s ago", 5 * time.Second, -4 * time.Second, nil},
		{"5s: 6s ago", 5 * time.Second, -6 * time.Second, verify.ErrExpired},
		{"none: 1s ahead", -1, time.Second, nil},
		{"none: now", -1, 0, verify.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			clk.Advance(-250 * time.Millisecond) // a whole second, as exp is
			v := newVerifier(t, srv, clk, func(c *verify.Config) { c.Leeway = tt.leeway })
			tok := ed.token(t, clk.Now(), func(c map[string]any) { c["exp"] = clk.Now().Add(tt.exp).Unix() })
			if _, err := v.Verify(context.Background(), tok); !errors.Is(err, tt.want) {
				t.Errorf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAlgorithmAllowlist(t *testing.T) {
	t.Parallel()
	ed := newKey(t, jose.EdDSA, "ed")
	ec := newKey(t, jose.ES256, "ec")
	srv := newJWKSServer(t, ed, ec)
	clk := newClock()
	v := newVerifier(t, srv, clk, func(c *verify.Config) { c.Algorithms = []string{"EdDSA"} })
	if _, err := v.Verify(context.Background(), ed.token(t, clk.Now(), nil)); err != nil {
		t.Errorf("EdDSA: %v", err)
	}
	if _, err := v.Verify(context.Background(), ec.token(t, clk.Now(), nil)); !errors.Is(err, verify.ErrInvalid) {
		t.Errorf("ES256 outside the allowlist: %v, want ErrInvalid", err)
	}
}

// TestAlgMustMatchKeyAlg signs PS256 with an RSA key published as RS256:
// the signature is valid for the key, but the key's own alg forbids it.
func TestAlgMustMatchKeyAlg(t *testing.T) {
	t.Parallel()
	rs := newKey(t, jose.RS256, "rs")
	ps := *rs
	ps.alg = jose.PS256
	srv := newJWKSServer(t, rs)
	clk := newClock()
	v := newVerifier(t, srv, clk, func(c *verify.Config) { c.Algorithms = []string{"RS256", "PS256"} })
	if _, err := v.Verify(context.Background(), rs.token(t, clk.Now(), nil)); err != nil {
		t.Errorf("RS256: %v", err)
	}
	if _, err := v.Verify(context.Background(), ps.token(t, clk.Now(), nil)); !errors.Is(err, verify.ErrInvalid) {
		t.Errorf("PS256 with an RS256 key: %v, want ErrInvalid", err)
	}

	// Without an alg in the JWK, the key type alone decides: PS256 fits RSA.
	noAlg := rs.pub
	noAlg.Algorithm = ""
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{noAlg}})
	if err != nil {
		t.Fatal(err)
	}
	srv.setBody(b)
	v = newVerifier(t, srv, clk, func(c *verify.Config) { c.Algorithms = []string{"RS256", "PS256"} })
	if _, err := v.Verify(context.Background(), ps.token(t, clk.Now(), nil)); err != nil {
		t.Errorf("PS256 with an RSA key without alg: %v", err)
	}
}

// TestAlgMustFitKeyType serves keys without "alg", so only the key type
// decides which algorithm may use it.
func TestAlgMustFitKeyType(t *testing.T) {
	t.Parallel()
	ed := newKey(t, jose.EdDSA, "ed")
	ec := newKey(t, jose.ES256, "ec")
	srv := newJWKSServer(t)
	noAlg := func(k *testKey) jose.JSONWebKey {
		j := k.pub
		j.Algorithm = ""
		return j
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{noAlg(ed), noAlg(ec)}})
	if err != nil {
		t.Fatal(err)
	}
	srv.setBody(b)
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	now := clk.Now()
	ecAsEd := newKey(t, jose.ES256, "ed")
	edAsEC := newKey(t, jose.EdDSA, "ec")
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"EdDSA with the Ed25519 key", ed.token(t, now, nil), nil},
		{"ES256 with the P-256 key", ec.token(t, now, nil), nil},
		{"ES256 under the Ed25519 kid", ecAsEd.token(t, now, nil), verify.ErrInvalid},
		{"EdDSA under the P-256 kid", edAsEC.token(t, now, nil), verify.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := v.Verify(context.Background(), tt.token); !errors.Is(err, tt.want) {
				t.Errorf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestUnusableKeysSkipped serves a set mixing usable keys with keys a
// verifier must not use; the usable ones still work.
func TestUnusableKeysSkipped(t *testing.T) {
	t.Parallel()
	ed := newKey(t, jose.EdDSA, "ed")
	priv := newKey(t, jose.EdDSA, "private")
	privJWK, err := json.Marshal(jose.JSONWebKey{Key: priv.priv, KeyID: "private", Algorithm: "EdDSA"})
	if err != nil {
		t.Fatal(err)
	}
	edJWK, err := json.Marshal(ed.pub)
	if err != nil {
		t.Fatal(err)
	}
	encKey := newKey(t, jose.EdDSA, "enc")
	encKey.pub.Use = "enc"
	encJWK, err := json.Marshal(encKey.pub)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	body := fmt.Sprintf(`{"keys":[
		{"kty":"oct","kid":"oct","alg":"HS256","k":%q},
		{"kty":"XYZ","kid":"future"},
		%s, %s, %s]}`, b64(secret), privJWK, encJWK, edJWK)
	srv := newJWKSServer(t)
	srv.setBody([]byte(body))
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	now := clk.Now()
	hs := rawToken(t, map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "oct"}, claimsAt(now), func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	})
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"usable key", ed.token(t, now, nil), nil},
		{"HS256 with a symmetric key of the set", hs, verify.ErrInvalid},
		{"EdDSA under the symmetric key's kid", newKey(t, jose.EdDSA, "oct").token(t, now, nil), verify.ErrInvalid},
		{"key published with its private half", priv.token(t, now, nil), verify.ErrInvalid},
		{"key for encryption", encKey.token(t, now, nil), verify.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := v.Verify(context.Background(), tt.token); !errors.Is(err, tt.want) {
				t.Errorf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	srv := newJWKSServer(t, newKey(t, jose.EdDSA, "ed"))
	clk := newClock()
	tests := []struct {
		name string
		mod  func(*verify.Config)
	}{
		{"no URL", func(c *verify.Config) { c.JWKSURL = "" }},
		{"relative URL", func(c *verify.Config) { c.JWKSURL = "/.well-known/jwks.json" }},
		{"file URL", func(c *verify.Config) { c.JWKSURL = "file:///etc/jwks.json" }},
		{"no issuer", func(c *verify.Config) { c.Issuer = "" }},
		{"no audience", func(c *verify.Config) { c.Audience = "" }},
		{"alg none", func(c *verify.Config) { c.Algorithms = []string{"EdDSA", "none"} }},
		{"HS256", func(c *verify.Config) { c.Algorithms = []string{"HS256"} }},
		{"HS384", func(c *verify.Config) { c.Algorithms = []string{"ES256", "HS384"} }},
		{"HS512", func(c *verify.Config) { c.Algorithms = []string{"HS512"} }},
		{"unknown alg", func(c *verify.Config) { c.Algorithms = []string{"ES256K"} }},
		{"negative refetch interval", func(c *verify.Config) { c.MinRefetchInterval = -time.Second }},
		{"negative cache age", func(c *verify.Config) { c.MaxCacheAge = -time.Second }},
		{"HMAC secret of 31 bytes", func(c *verify.Config) { c.HMACSecret = []byte(strings.Repeat("s", 31)) }},
		{"empty HMAC secret", func(c *verify.Config) { c.HMACSecret = []byte{} }},
		{"HMAC secret and HS256 in Algorithms", func(c *verify.Config) {
			c.HMACSecret, c.Algorithms = []byte(strings.Repeat("s", 32)), []string{"HS256"}
		}},
		{"Algorithms without a URL", func(c *verify.Config) {
			c.JWKSURL, c.HMACSecret, c.Algorithms = "", []byte(strings.Repeat("s", 32)), []string{"EdDSA"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := srv.config(clk)
			tt.mod(&cfg)
			v, err := verify.New(context.Background(), cfg)
			if err == nil || v != nil {
				t.Fatalf("New = %v, %v; want an error", v, err)
			}
			if errors.Is(err, verify.ErrUnavailable) {
				t.Errorf("config error %v matches ErrUnavailable", err)
			}
		})
	}
	if n := srv.fetches.Load(); n != 0 {
		t.Errorf("%d fetches for invalid configs, want 0", n)
	}
}

func TestCacheLifetime(t *testing.T) {
	t.Parallel()
	srv := newJWKSServer(t, newKey(t, jose.EdDSA, "ed"))
	tests := []struct {
		cacheControl string
		age          string
		want         time.Duration
	}{
		{"", "", 5 * time.Minute},
		{"public, max-age=270", "", 270 * time.Second},
		{"max-age=5", "", 30 * time.Second},
		{"max-age=86400", "", 5 * time.Minute},
		{"no-cache", "", 30 * time.Second},
		{"no-store", "", 30 * time.Second},
		{"public, max-age=100", "40", 60 * time.Second},
		{"public, max-age=100", "100", 30 * time.Second},
		{"max-age=junk", "", 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.cacheControl+" age "+tt.age, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.cacheControl != "" {
					w.Header().Set("Cache-Control", tt.cacheControl)
				}
				if tt.age != "" {
					w.Header().Set("Age", tt.age)
				}
				srv.serve(w, r)
			}))
			defer ts.Close()
			clk := newClock()
			v := newVerifier(t, srv, clk, func(c *verify.Config) { c.JWKSURL = ts.URL })
			if got := v.StaleAt().Sub(t0); got != tt.want {
				t.Errorf("cached for %v, want %v", got, tt.want)
			}
		})
	}
}

// TestStaleRefreshInBackground checks that a Verify on a stale cache answers
// from the cache and refetches in the background, and that one on a fresh
// cache does not refetch.
func TestStaleRefreshInBackground(t *testing.T) {
	t.Parallel()
	k1 := newKey(t, jose.EdDSA, "k1")
	k2 := newKey(t, jose.EdDSA, "k2")
	srv := newJWKSServer(t, k1)
	srv.setCacheControl("max-age=60")
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	ctx := context.Background()

	clk.Advance(59 * time.Second)
	if _, err := v.Verify(ctx, k1.token(t, clk.Now(), nil)); err != nil {
		t.Fatalf("Verify while fresh: %v", err)
	}
	if v.Fetching() != nil {
		t.Fatal("a fresh cache started a fetch")
	}

	// The next set drops k1 for k2; the stale cache still has k1.
	srv.setKeys(t, k2)
	clk.Advance(time.Second)
	gate := make(chan struct{})
	srv.setGate(gate)
	if _, err := v.Verify(ctx, k1.token(t, clk.Now(), nil)); err != nil {
		t.Fatalf("Verify while stale: %v", err)
	}
	done := v.Fetching()
	if done == nil {
		t.Fatal("a stale cache started no fetch")
	}
	close(gate)
	<-done
	if got, want := v.StaleAt(), clk.Now().Add(time.Minute); !got.Equal(want) {
		t.Errorf("stale at %v, want %v", got, want)
	}
	if _, err := v.Verify(ctx, k1.token(t, clk.Now(), nil)); !errors.Is(err, verify.ErrInvalid) {
		t.Errorf("Verify with a key dropped from the set: %v, want ErrInvalid", err)
	}
	if _, err := v.Verify(ctx, k2.token(t, clk.Now(), nil)); err != nil {
		t.Errorf("Verify with the new key: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

// TestUnknownKidRefetch checks that an unknown kid refetches once per
// interval, and that a key published later is found by such a refetch.
func TestUnknownKidRefetch(t *testing.T) {
	t.Parallel()
	k1 := newKey(t, jose.EdDSA, "k1")
	k2 := newKey(t, jose.ES256, "k2")
	srv := newJWKSServer(t, k1)
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	ctx := context.Background()

	steps := []struct {
		name        string
		advance     time.Duration
		publish     bool
		want        error
		wantFetches int64
	}{
		{"right after New: rate-limited", 0, false, verify.ErrInvalid, 1},
		{"after the interval: refetch, still unknown", 30 * time.Second, false, verify.ErrInvalid, 2},
		{"again at once: no refetch", time.Second, false, verify.ErrInvalid, 2},
		{"published, but within the interval", 10 * time.Second, true, verify.ErrInvalid, 2},
		{"after the interval: found", 20 * time.Second, true, nil, 3},
		{"cached now", time.Second, true, nil, 3},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if s.publish {
			srv.setKeys(t, k1, k2)
		}
		_, err := v.Verify(ctx, k2.token(t, clk.Now(), nil))
		if !errors.Is(err, s.want) {
			t.Errorf("%s: Verify: %v, want %v", s.name, err, s.want)
		}
		if n := srv.fetches.Load(); n != s.wantFetches {
			t.Errorf("%s: %d fetches, want %d", s.name, n, s.wantFetches)
		}
	}
	if _, err := v.Verify(ctx, k1.token(t, clk.Now(), nil)); err != nil {
		t.Errorf("Verify with the first key: %v", err)
	}
}

// TestRefetchRateLimit sends many tokens with made-up kids, at once and in
// sequence, and counts the fetches they cause.
func TestRefetchRateLimit(t *testing.T) {
	t.Parallel()
	k1 := newKey(t, jose.EdDSA, "k1")
	srv := newJWKSServer(t, k1)
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	ctx := context.Background()
	bad := make([]string, 50)
	for i := range bad {
		bad[i] = newKey(t, jose.EdDSA, fmt.Sprintf("bad-%d", i)).token(t, clk.Now(), nil)
	}

	for round := range 3 {
		clk.Advance(30 * time.Second)
		var wg sync.WaitGroup
		for _, tok := range bad {
			wg.Go(func() {
				if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrInvalid) {
					t.Errorf("Verify: %v, want ErrInvalid", err)
				}
			})
		}
		wg.Wait()
		for _, tok := range bad {
			if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrInvalid) {
				t.Errorf("Verify: %v, want ErrInvalid", err)
			}
		}
		if got, want := srv.fetches.Load(), int64(round+2); got != want {
			t.Errorf("round %d: %d fetches, want %d", round, got, want)
		}
	}
}

func TestJWKSDownAtStart(t *testing.T) {
	t.Parallel()
	k1 := newKey(t, jose.EdDSA, "k1")
	srv := newJWKSServer(t, k1)
	clk := newClock()
	ctx := context.Background()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name  string
		setup func(*verify.Config)
	}{
		{"503", func(*verify.Config) { srv.setStatus(http.StatusServiceUnavailable) }},
		{"404", func(*verify.Config) { srv.setStatus(http.StatusNotFound) }},
		{"not a JWK Set", func(*verify.Config) { srv.setBody([]byte(`<html>`)) }},
		{"no keys member", func(*verify.Config) { srv.setBody([]byte(`{}`)) }},
		{"connection refused", func(c *verify.Config) { c.JWKSURL = closed.URL }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := srv.config(clk)
			tt.setup(&cfg)
			v, err := verify.New(ctx, cfg)
			if !errors.Is(err, verify.ErrUnavailable) || v != nil {
				t.Errorf("New = %v, %v; want ErrUnavailable", v, err)
			}
			// Recovery: once the server serves the set, New succeeds.
			srv.setStatus(0)
			srv.setKeys(t, k1)
			v = newVerifier(t, srv, clk, nil)
			if _, err := v.Verify(ctx, k1.token(t, clk.Now(), nil)); err != nil {
				t.Errorf("Verify after recovery: %v", err)
			}
		})
	}
}

// TestJWKSOutageAfterStart checks that cached keys keep verifying while the
// JWKS is down, that an unknown kid then fails as unavailable rather than
// invalid, and that a key rotated in during the outage is found after it.
func TestJWKSOutageAfterStart(t *testing.T) {
	t.Parallel()
	k1 := newKey(t, jose.EdDSA, "k1")
	k2 := newKey(t, jose.ES256, "k2")
	srv := newJWKSServer(t, k1)
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	ctx := context.Background()

	srv.setStatus(http.StatusBadGateway)
	clk.Advance(10 * time.Minute)
	if _, err := v.Verify(ctx, k1.token(t, clk.Now(), nil)); err != nil {
		t.Fatalf("Verify with a cached key during the outage: %v", err)
	}
	if done := v.Fetching(); done != nil {
		<-done
	}
	clk.Advance(30 * time.Second)
	_, err := v.Verify(ctx, k2.token(t, clk.Now(), nil))
	if !errors.Is(err, verify.ErrUnavailable) || errors.Is(err, verify.ErrInvalid) {
		t.Errorf("Verify with an unknown kid during the outage: %v, want ErrUnavailable only", err)
	}
	if _, err := v.Verify(ctx, k1.token(t, clk.Now(), nil)); err != nil {
		t.Errorf("Verify with a cached key after a failed refetch: %v", err)
	}

	srv.setStatus(0)
	srv.setKeys(t, k1, k2)
	clk.Advance(30 * time.Second)
	if _, err := v.Verify(ctx, k2.token(t, clk.Now(), nil)); err != nil {
		t.Errorf("Verify with the new key after recovery: %v", err)
	}
}

// TestWaitEndsWithContext checks that a Verify waiting for a slow fetch
// returns when its context ends, and that the fetch still completes for
// the callers after it.
func TestWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	k1 := newKey(t, jose.EdDSA, "k1")
	k2 := newKey(t, jose.EdDSA, "k2")
	srv := newJWKSServer(t, k1)
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	gate := make(chan struct{})
	srv.setGate(gate)
	srv.setKeys(t, k1, k2)
	clk.Advance(30 * time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.Verify(ctx, k2.token(t, clk.Now(), nil))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, verify.ErrUnavailable) {
		t.Errorf("Verify with an ended context: %v, want context.Canceled and ErrUnavailable", err)
	}
	close(gate)
	if _, err := v.Verify(context.Background(), k2.token(t, clk.Now(), nil)); err != nil {
		t.Errorf("Verify after the fetch: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

// TestConcurrentVerify verifies from many goroutines while the clock moves,
// the set rotates and made-up kids force refetches; run it with -race.
func TestConcurrentVerify(t *testing.T) {
	t.Parallel()
	k1 := newKey(t, jose.EdDSA, "k1")
	k2 := newKey(t, jose.ES256, "k2")
	srv := newJWKSServer(t, k1)
	srv.setCacheControl("max-age=30")
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	ctx := context.Background()
	good := k1.token(t, clk.Now(), nil)
	bad := newKey(t, jose.EdDSA, "bad").token(t, clk.Now(), nil)
	rotated := k2.token(t, clk.Now(), nil)

	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 20 {
			clk.Advance(15 * time.Second)
			if i == 10 {
				srv.setKeys(t, k1, k2)
			}
		}
	})
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if c, err := v.Verify(ctx, good); err != nil || c.Subject != testSubject {
					t.Errorf("Verify good = %+v, %v", c, err)
					return
				}
				if _, err := v.Verify(ctx, bad); !errors.Is(err, verify.ErrInvalid) {
					t.Errorf("Verify bad: %v, want ErrInvalid", err)
					return
				}
				if _, err := v.Verify(ctx, rotated); err != nil && !errors.Is(err, verify.ErrInvalid) {
					t.Errorf("Verify rotated: %v, want nil or ErrInvalid", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestECDSAHighSRefused takes a valid ES256 token and replaces its s with
// n-s: the signature still verifies mathematically, but it is a second
// spelling of the same token and must be refused.
func TestECDSAHighSRefused(t *testing.T) {
	t.Parallel()
	es := newKey(t, jose.ES256, "es")
	srv := newJWKSServer(t, es)
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	n := elliptic.P256().Params().N
	for i := range 20 {
		tok := es.token(t, clk.Now(), nil)
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("token %d (low S): %v", i, err)
		}
		high := flipS(t, tok, n)
		if hasLowS(t, high, n) {
			t.Fatalf("token %d: flipped signature still has low S", i)
		}
		// The flipped signature is mathematically valid: go-jose alone
		// accepts it, so the refusal below is the low-S rule.
		jws, err := jose.ParseSigned(high, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jws.Verify(es.pub); err != nil {
			t.Fatalf("token %d: (r, n-s) does not verify with go-jose: %v", i, err)
		}
		if _, err := v.Verify(context.Background(), high); !errors.Is(err, verify.ErrInvalid) {
			t.Fatalf("token %d with (r, n-s): %v, want ErrInvalid", i, err)
		}
	}
}

// TestHMACSecret checks the HS256 compatibility mode: with the shared secret,
// HS256 tokens of typ JWT verify and nothing else about them is relaxed;
// without it, an HS256 token never verifies, whatever its key.
func TestHMACSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	secret := []byte("the store's shared secret, 32+ b")
	ed := newKey(t, jose.EdDSA, "ed")
	srv := newJWKSServer(t, ed)
	clk := newClock()
	now := clk.Now()
	hs := func(header map[string]any, key []byte, mod func(map[string]any)) string {
		c := claimsAt(now)
		if mod != nil {
			mod(c)
		}
		return rawToken(t, header, c, func(in []byte) []byte {
			m := hmac.New(sha256.New, key)
			m.Write(in)
			return m.Sum(nil)
		})
	}
	jwt := map[string]any{"alg": "HS256", "typ": "JWT"}
	good := hs(jwt, secret, nil)
	edJWK, err := json.Marshal(ed.pub)
	if err != nil {
		t.Fatal(err)
	}

	hmacOnly, err := verify.New(ctx, verify.Config{Issuer: testIssuer, Audience: testAudience, HMACSecret: secret, Now: clk.Now})
	if err != nil {
		t.Fatalf("New with HMACSecret only: %v", err)
	}
	both := newVerifier(t, srv, clk, func(c *verify.Config) { c.HMACSecret = secret })
	jwksOnly := newVerifier(t, srv, clk, nil)
	fetches := srv.fetches.Load()

	tests := []struct {
		name string
		v    *verify.Verifier
		tok  string
		want error // nil: accepted
	}{
		{"HS256 with the secret", hmacOnly, good, nil},
		{"HS256 with the secret, JWKS too", both, good, nil},
		{"HS256 with a kid", hmacOnly, hs(map[string]any{"alg": "HS256", "typ": "JWT", "kid": "ed"}, secret, nil), nil},
		{"EdDSA, JWKS too", both, ed.token(t, now, nil), nil},
		{"EdDSA without a JWKS", hmacOnly, ed.token(t, now, nil), verify.ErrInvalid},
		{"HS256 without a secret", jwksOnly, good, verify.ErrInvalid},
		{"HS256 keyed with the public JWK, no secret", jwksOnly, hs(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "ed"}, edJWK, nil), verify.ErrInvalid},
		{"HS256 keyed with the public JWK, secret set", both, hs(map[string]any{"alg": "HS256", "typ": "JWT", "kid": "ed"}, edJWK, nil), verify.ErrInvalid},
		{"HS256 under another secret", hmacOnly, hs(jwt, []byte(strings.Repeat("x", 32)), nil), verify.ErrInvalid},
		{"HS256 with typ at+jwt", hmacOnly, hs(map[string]any{"alg": "HS256", "typ": "at+jwt"}, secret, nil), verify.ErrInvalid},
		{"HS256 without typ", hmacOnly, hs(map[string]any{"alg": "HS256"}, secret, nil), verify.ErrInvalid},
		{"HS384 with the secret", hmacOnly, rawToken(t, map[string]any{"alg": "HS384", "typ": "JWT"}, claimsAt(now), func(in []byte) []byte {
			m := hmac.New(sha512.New384, secret)
			m.Write(in)
			return m.Sum(nil)
		}), verify.ErrInvalid},
		{"HS256, wrong issuer", hmacOnly, hs(jwt, secret, func(c map[string]any) { c["iss"] = "elsewhere" }), verify.ErrInvalid},
		{"HS256, wrong audience", hmacOnly, hs(jwt, secret, func(c map[string]any) { c["aud"] = "other" }), verify.ErrInvalid},
		{"HS256, expired", hmacOnly, hs(jwt, secret, func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), verify.ErrExpired},
		{"alg none", hmacOnly, rawToken(t, map[string]any{"alg": "none", "typ": "JWT"}, claimsAt(now), nil), verify.ErrInvalid},
	}
	for _, tt := range tests {
		c, err := tt.v.Verify(ctx, tt.tok)
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("%s: %v, want accepted", tt.name, err)
		case tt.want == nil && (c.Subject != testSubject || c.SessionID != testSession):
			t.Errorf("%s: claims %+v", tt.name, c)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if n := srv.fetches.Load(); n != fetches {
		t.Errorf("%d JWKS fetches during HS256 checks, want none", n-fetches)
	}
}
