package bench_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth/bench"
)

// With FloodIPs the flood's signins come, by X-Forwarded-For, from that many
// addresses (each in its own /24, or all in one), real users sign in from
// addresses of their own and are reported; with NoFlood only they do.
func TestFloodIPs(t *testing.T) {
	tests := []struct {
		name       string
		cfg        bench.Config
		wantFlood  []string
		wantPrefix string // of the real users' addresses
	}{
		{"own subnets", bench.Config{FloodIPs: 3}, []string{"10.0.0.1", "10.0.1.1", "10.0.2.1"}, "198.18."},
		{"one subnet", bench.Config{FloodIPs: 2, FloodOneSubnet: true}, []string{"203.0.113.1", "203.0.113.2"}, "198.18."},
		{"no flood", bench.Config{NoFlood: true}, nil, "198.18."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := newServer(t)
			var (
				mu    sync.Mutex
				flood = map[string]bool{}
				real  = map[string]bool{}
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/auth/signin" {
					xff := r.Header.Get("X-Forwarded-For")
					mu.Lock()
					if strings.HasPrefix(xff, tt.wantPrefix) {
						real[xff] = true
					} else {
						flood[xff] = true
					}
					mu.Unlock()
				}
				base.Config.Handler.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			cfg := tt.cfg
			cfg.URL, cfg.Scenario, cfg.Concurrency = srv.URL, bench.Flood, 6
			cfg.Duration, cfg.Warmup, cfg.Probes, cfg.FloodUnknown = 1200*time.Millisecond, 100*time.Millisecond, 2, true
			res, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkCounts(t, res)
			mu.Lock()
			defer mu.Unlock()
			var got []string
			for ip := range flood {
				got = append(got, ip)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.wantFlood) {
				t.Errorf("flood from %v, want %v", got, tt.wantFlood)
			}
			if len(real) != 2 {
				t.Errorf("real users from %v, want 2 addresses", real)
			}
			i := slices.IndexFunc(res.Operations, func(o bench.OpResult) bool { return o.Name == "real_user_signin" })
			if i < 0 || res.Operations[i].Successes == 0 || !res.Operations[i].Probe {
				t.Errorf("no successful real_user_signin probe in %v", opNames(res))
			}
		})
	}
}
