package verify_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authstore/auth/verify"
	"github.com/go-jose/go-jose/v4"
)

// withCache runs f with the verified-token cache on and off: the answers
// must be the same.
func withCache(t *testing.T, f func(t *testing.T, mod func(*verify.Config))) {
	for _, size := range []int{0, -1} {
		t.Run(fmt.Sprintf("cache=%d", size), func(t *testing.T) {
			f(t, func(c *verify.Config) { c.VerifiedCacheSize = size })
		})
	}
}

// A remembered token expires as any other: its time claims are checked
// again with the clock of each call.
func TestCacheExpiry(t *testing.T) {
	withCache(t, func(t *testing.T, mod func(*verify.Config)) {
		k := newKey(t, jose.EdDSA, "k")
		srv := newJWKSServer(t, k)
		clk := newClock()
		v := newVerifier(t, srv, clk, mod)
		tok := k.token(t, clk.Now(), nil)
		for range 2 {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(20*time.Minute + verify.DefaultLeeway)
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, verify.ErrExpired) {
			t.Fatalf("after exp: %v, want ErrExpired", err)
		}
		// A token not valid yet is never remembered as good.
		early := k.token(t, clk.Now(), func(c map[string]any) { c["nbf"] = clk.Now().Add(time.Hour).Unix() })
		for range 2 {
			if _, err := v.Verify(context.Background(), early); !errors.Is(err, verify.ErrInvalid) {
				t.Fatalf("nbf ahead: %v, want ErrInvalid", err)
			}
		}
	})
}

// A key removed from the JWKS stops verifying from the cache when it stops
// verifying at all: at the refresh of the key set.
func TestCacheKeyRemoved(t *testing.T) {
	withCache(t, func(t *testing.T, mod func(*verify.Config)) {
		k1, k2 := newKey(t, jose.EdDSA, "k1"), newKey(t, jose.EdDSA, "k2")
		srv := newJWKSServer(t, k1)
		clk := newClock()
		v := newVerifier(t, srv, clk, mod)
		tok := k1.token(t, clk.Now(), nil)
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		srv.setKeys(t, k2)
		clk.Advance(5*time.Minute + time.Second) // the set is stale
		// The cached set still holds k1: good, and a refetch starts.
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("stale set: %v", err)
		}
		if ch := v.Fetching(); ch != nil {
			<-ch
		}
		if got := srv.fetches.Load(); got != 2 {
			t.Fatalf("%d fetches, want 2 (a hit must start the refresh too)", got)
		}
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, verify.ErrInvalid) {
			t.Fatalf("after k1 left the JWKS: %v, want ErrInvalid", err)
		}
	})
}

// The claims returned are the caller's: changing them changes no other
// call's.
func TestCacheClaimsOwned(t *testing.T) {
	k := newKey(t, jose.EdDSA, "k")
	srv := newJWKSServer(t, k)
	clk := newClock()
	v := newVerifier(t, srv, clk, nil)
	tok := k.token(t, clk.Now(), nil)
	for range 3 {
		c, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != testSubject || len(c.AMR) != 1 || c.AMR[0] != "pwd" {
			t.Fatalf("claims %+v", c)
		}
		c.Subject, c.AMR[0] = "x", "otp"
	}
}

// The cache holds at most VerifiedCacheSize tokens.
func TestCacheBounded(t *testing.T) {
	k := newKey(t, jose.EdDSA, "k")
	srv := newJWKSServer(t, k)
	clk := newClock()
	v := newVerifier(t, srv, clk, func(c *verify.Config) { c.VerifiedCacheSize = 16 })
	for i := range 100 {
		tok := k.token(t, clk.Now(), func(c map[string]any) { c["jti"] = fmt.Sprint(i) })
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if n := v.CachedTokens(); n > 16 {
			t.Fatalf("%d cached tokens, want at most 16", n)
		}
	}
	v = newVerifier(t, srv, clk, func(c *verify.Config) { c.VerifiedCacheSize = -1 })
	if _, err := v.Verify(context.Background(), k.token(t, clk.Now(), nil)); err != nil {
		t.Fatal(err)
	}
	if n := v.CachedTokens(); n != 0 {
		t.Fatalf("%d cached tokens with the cache off", n)
	}
}

// BenchmarkVerifyUncached is BenchmarkVerify with the verified-token cache
// off: every call parses and checks the signature.
func BenchmarkVerifyUncached(b *testing.B) {
	for _, alg := range []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.RS256} {
		k := newKey(b, alg, "k")
		srv := newJWKSServer(b, k)
		clk := newClock()
		v := newVerifier(b, srv, clk, func(c *verify.Config) { c.VerifiedCacheSize = -1 })
		tok := k.token(b, clk.Now(), nil)
		ctx := context.Background()
		b.Run(string(alg)+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}
