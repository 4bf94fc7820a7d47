package verify_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// BenchmarkVerify measures Verify on a warm cache: parse, key lookup,
// signature check and claim checks of one valid token. "serial" runs on one
// goroutine, "parallel" on GOMAXPROCS; verifications/s is the throughput.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.RS256} {
		k := newKey(b, alg, "k")
		srv := newJWKSServer(b, k)
		clk := newClock()
		v := newVerifier(b, srv, clk, nil)
		tok := k.token(b, clk.Now(), nil)
		ctx := context.Background()
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
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
		b.Run(string(alg)+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := v.Verify(ctx, tok); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			})
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "verifications/s")
		})
		// The signature check alone, for scale: what Verify adds is the
		// difference.
		b.Run(string(alg)+"/signature-only", func(b *testing.B) {
			b.ReportAllocs()
			algs := []jose.SignatureAlgorithm{alg}
			n := 0
			for b.Loop() {
				jws, err := jose.ParseSignedCompact(tok, algs)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jws.Verify(k.priv.Public()); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "verifications/s")
		})
		if got := srv.fetches.Load(); got != 1 {
			b.Errorf("%s: %d fetches, want 1 (warm cache)", alg, got)
		}
	}
}
