package auth_test

import (
	"context"
	"testing"

	"github.com/authstore/auth"
)

// BenchmarkRefresh measures one rotation through the Service on SQLite (a
// file database, WAL): read the session, compare-and-swap its generation,
// sign an access token. Each parallel worker keeps its own chain, as real
// clients do.
func BenchmarkRefresh(b *testing.B) {
	f := newFixture(b, nil)
	ctx := context.Background()
	if _, err := f.svc.Signup(ctx, signupReq("bench", "bench@example.com"), auth.Client{}); err != nil {
		b.Fatal(err)
	}
	in := auth.SigninRequest{Login: auth.String("bench"), Password: auth.String("correct horse battery")}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		tok, err := f.svc.Signin(ctx, in, auth.Client{})
		if err != nil {
			b.Error(err)
			return
		}
		rt := tok.RefreshToken
		for pb.Next() {
			next, err := f.svc.Refresh(ctx, rt, auth.Client{})
			if err != nil {
				b.Error(err)
				return
			}
			rt = next.RefreshToken
		}
	})
}
