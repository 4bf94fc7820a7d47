package auth_test

import (
	"context"
	"slices"
	"testing"
	"time"

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

// BenchmarkForgotKnownVsUnknown measures ForgotPassword for an address that
// has an account and one that has none, interleaved (each iteration runs
// both, in alternating order), on SQLite (a file database, WAL), and
// reports the median of each and their difference. The per-address
// throttle is set out of reach so that every known request stores its
// token and message, the costlier case. "raw" runs without
// Config.ForgotFloor, "floor" with a floor of 20ms (serve's is 250ms). Run
// it with
//
//	go test -run '^$' -bench ForgotKnownVsUnknown -benchtime 500x .
func BenchmarkForgotKnownVsUnknown(b *testing.B) {
	for _, bc := range []struct {
		name  string
		floor time.Duration
	}{{"raw", 0}, {"floor", 20 * time.Millisecond}} {
		b.Run(bc.name, func(b *testing.B) { benchmarkForgot(b, bc.floor) })
	}
}

func benchmarkForgot(b *testing.B, floor time.Duration) {
	f := newMailFixture(b, func(c *auth.Config) { c.MailThrottle.Max = 1 << 30; c.ForgotFloor = floor })
	ctx := context.Background()
	if _, err := f.svc.Signup(ctx, signupReq("bench", "bench@example.com"), auth.Client{}); err != nil {
		b.Fatal(err)
	}
	known := auth.ForgotRequest{Email: auth.String("bench@example.com")}
	unknown := auth.ForgotRequest{Email: auth.String("nobody@example.com")}
	var tk, tu []time.Duration
	timed := func(r auth.ForgotRequest) time.Duration {
		start := time.Now()
		if err := f.svc.ForgotPassword(ctx, r, auth.Client{}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			tk = append(tk, timed(known))
			tu = append(tu, timed(unknown))
		} else {
			tu = append(tu, timed(unknown))
			tk = append(tk, timed(known))
		}
	}
	b.StopTimer()
	mk, mu := median(tk), median(tu)
	b.ReportMetric(float64(mk.Nanoseconds()), "known-median-ns")
	b.ReportMetric(float64(mu.Nanoseconds()), "unknown-median-ns")
	b.ReportMetric(float64((mk - mu).Nanoseconds()), "diff-ns")
}

// median returns the median of d (which it sorts).
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}
