package token_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/authstore/auth"
	"github.com/authstore/auth/token"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func BenchmarkSign(b *testing.B) {
	for _, alg := range token.Algorithms() {
		b.Run(alg, func(b *testing.B) {
			s := newSealer(b, 1)
			keys := []auth.SigningKey{genKey(b, alg, s, t0)}
			signer, err := token.NewSigner(keys, keys[0].ID, s)
			if err != nil {
				b.Fatal(err)
			}
			c := sampleClaims()
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := signer.Sign(ctx, c); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkVerify measures what a verifier does per token: parse with the
// allowed algorithm, find the key by kid in a parsed JWKS, check the
// signature and decode the claims.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range token.Algorithms() {
		b.Run(alg, func(b *testing.B) {
			s := newSealer(b, 1)
			keys := []auth.SigningKey{genKey(b, alg, s, t0)}
			signer, err := token.NewSigner(keys, keys[0].ID, s)
			if err != nil {
				b.Fatal(err)
			}
			tok, err := signer.Sign(context.Background(), sampleClaims())
			if err != nil {
				b.Fatal(err)
			}
			raw, err := token.JWKS(keys)
			if err != nil {
				b.Fatal(err)
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(raw, &set); err != nil {
				b.Fatal(err)
			}
			algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					parsed, err := jwt.ParseSigned(tok, algs)
					if err != nil {
						b.Error(err)
						return
					}
					k := set.Key(parsed.Headers[0].KeyID)
					var c jwt.Claims
					if len(k) != 1 || parsed.Claims(k[0], &c) != nil || c.Subject == "" {
						b.Error("verification failed")
						return
					}
				}
			})
		})
	}
}
