package verify_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authstore/auth/verify"
	"github.com/go-jose/go-jose/v4"
)

const (
	testIssuer   = "https://auth.example.test"
	testAudience = "store"
	testSubject  = "0b6c5a3e-3f4d-4a8e-9c1b-6c0a8e2f7d11"
	testSession  = "5d0e3c2a-8f7b-4e61-b2a9-1f3c6d8e0a47"
	testJTI      = "6a1f4e2b-9c3d-4b7e-8f0a-2d5c7e9b1a33"
)

// t0 is the time at which every test starts.
var t0 = time.Date(2026, 11, 27, 22, 5, 13, 250_000_000, time.UTC)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testKey is a signing key and its public JWK.
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
	pub  jose.JSONWebKey // with kid, alg and use
}

func newKey(tb testing.TB, alg jose.SignatureAlgorithm, kid string) *testKey {
	tb.Helper()
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		tb.Fatalf("newKey: unsupported %s", alg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return &testKey{
		kid:  kid,
		alg:  alg,
		priv: priv,
		pub:  jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: string(alg), Use: "sig"},
	}
}

// sign returns a compact JWS of claims with header alg, kid and, unless
// empty, typ.
func (k *testKey) sign(tb testing.TB, typ string, claims any) string {
	tb.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	// go-jose leaves s as ECDSA makes it; authstore issues low S only.
	if ec, ok := k.priv.(*ecdsa.PrivateKey); ok && !hasLowS(tb, out, ec.Curve.Params().N) {
		out = flipS(tb, out, ec.Curve.Params().N)
	}
	return out
}

// flipS returns the ECDSA-signed tok with its signature (r, s) replaced by
// (r, n-s), which verifies just as well under the same key.
func flipS(tb testing.TB, tok string, n *big.Int) string {
	tb.Helper()
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || len(sig)%2 != 0 {
		tb.Fatalf("flipS: bad signature segment: %v", err)
	}
	half := len(sig) / 2
	s := new(big.Int).SetBytes(sig[half:])
	new(big.Int).Sub(n, s).FillBytes(sig[half:])
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// hasLowS reports whether the ECDSA signature of tok has s <= n/2.
func hasLowS(tb testing.TB, tok string, n *big.Int) bool {
	tb.Helper()
	sig, err := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
	if err != nil {
		tb.Fatal(err)
	}
	return new(big.Int).SetBytes(sig[len(sig)/2:]).Cmp(new(big.Int).Rsh(n, 1)) <= 0
}

// token returns an access token as authstore issues it at now, after mod
// changes its claims (nil: none).
func (k *testKey) token(tb testing.TB, now time.Time, mod func(map[string]any)) string {
	tb.Helper()
	c := claimsAt(now)
	if mod != nil {
		mod(c)
	}
	return k.sign(tb, "at+jwt", c)
}

// claimsAt returns the claims authstore puts in an access token issued at
// now.
func claimsAt(now time.Time) map[string]any {
	return map[string]any{
		"iss": testIssuer,
		"sub": testSubject,
		"aud": testAudience,
		"exp": now.Add(20 * time.Minute).Unix(),
		"iat": now.Unix(),
		"jti": testJTI,
		"sid": testSession,
		"amr": []string{"pwd"},
	}
}

// rawToken assembles a compact JWS from header and claims, with the
// signature mac returns for the signing input (nil: an empty signature).
func rawToken(tb testing.TB, header, claims map[string]any, mac func(input []byte) []byte) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	input := b64(h) + "." + b64(p)
	var sig []byte
	if mac != nil {
		sig = mac([]byte(input))
	}
	return input + "." + b64(sig)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwksServer serves a JWK Set that tests change as they go, and counts the
// requests.
type jwksServer struct {
	srv     *httptest.Server
	fetches atomic.Int64

	mu           sync.Mutex
	body         []byte
	status       int           // 0 means 200
	cacheControl string        // "" sends none
	gate         chan struct{} // non-nil: requests wait for it to close
}

func newJWKSServer(tb testing.TB, keys ...*testKey) *jwksServer {
	tb.Helper()
	s := &jwksServer{}
	s.setKeys(tb, keys...)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	body, status, cc, gate := s.body, s.status, s.cacheControl, s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		http.Error(w, "down", status)
		return
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (s *jwksServer) url() string { return s.srv.URL + "/.well-known/jwks.json" }

// setKeys makes the set serve the public halves of keys.
func (s *jwksServer) setKeys(tb testing.TB, keys ...*testKey) {
	tb.Helper()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.pub)
	}
	b, err := json.Marshal(set)
	if err != nil {
		tb.Fatal(err)
	}
	s.setBody(b)
}

func (s *jwksServer) setBody(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = b
}

// setStatus makes the server answer status with no set (0: serve the set).
func (s *jwksServer) setStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

func (s *jwksServer) setCacheControl(cc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cacheControl = cc
}

func (s *jwksServer) setGate(gate chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = gate
}

// config returns the Config of a verifier of s's keys on clk.
func (s *jwksServer) config(clk *clock) verify.Config {
	return verify.Config{
		JWKSURL:            s.url(),
		Issuer:             testIssuer,
		Audience:           testAudience,
		Now:                clk.Now,
		MinRefetchInterval: 30 * time.Second,
		MaxCacheAge:        5 * time.Minute,
	}
}

// newVerifier returns a verifier of s's keys on clk, after mod changes its
// config (nil: none).
func newVerifier(tb testing.TB, s *jwksServer, clk *clock, mod func(*verify.Config)) *verify.Verifier {
	tb.Helper()
	cfg := s.config(clk)
	if mod != nil {
		mod(&cfg)
	}
	v, err := verify.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return v
}
