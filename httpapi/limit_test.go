package httpapi_test

import (
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
)

// newLimits returns the limits of a server with cfg, on a settable clock.
func newLimits(cfg httpapi.Config) (*httpapi.Limits, *throttleClock) {
	clk := &throttleClock{now: fixedNow}
	cfg.Now = clk.Now
	return httpapi.NewLimits(cfg), clk
}

// retryAfter returns the RetryAfter of a KindTooManyRequests error, failing
// the test for any other outcome.
func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	var e *auth.Error
	if !errors.As(err, &e) || e.Kind != auth.KindTooManyRequests {
		t.Fatalf("got %v, want a KindTooManyRequests error", err)
	}
	if e.Message != "Too many requests, please try again later." {
		t.Errorf("message %q", e.Message)
	}
	if e.RetryAfter <= 0 {
		t.Errorf("RetryAfter %v, want > 0", e.RetryAfter)
	}
	return e.RetryAfter
}

func TestThrottleIP(t *testing.T) {
	l, clk := newLimits(httpapi.Config{IPRateLimit: 3})
	ip := netip.MustParseAddr("192.0.2.7")

	// A fresh IP has its whole quota at once, one request every 20 s after.
	for i, want := range []int{2, 1, 0} {
		rl, err := l.Allow(ip, httpapi.SigninClass)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		wantRL := httpapi.RateLimit{Policy: httpapi.PolicySignin, Quota: 3, Window: time.Minute, Remaining: want, Reset: time.Duration(i+1) * 20 * time.Second}
		if rl != wantRL {
			t.Errorf("request %d: %+v, want %+v", i+1, rl, wantRL)
		}
	}
	rl, err := l.Allow(ip, httpapi.SigninClass)
	if got := retryAfter(t, err); got != 20*time.Second {
		t.Errorf("RetryAfter %v, want 20s", got)
	}
	if rl.Remaining != 0 || rl.Reset != time.Minute || rl.Quota != 3 {
		t.Errorf("refused state %+v", rl)
	}
	// A refusal is not counted: after 20 s exactly one request passes.
	clk.Add(20 * time.Second)
	if _, err := l.Allow(ip, httpapi.SigninClass); err != nil {
		t.Fatalf("after the interval: %v", err)
	}
	if _, err := l.Allow(ip, httpapi.SigninClass); !auth.IsKind(err, auth.KindTooManyRequests) {
		t.Fatalf("second request after the interval: %v, want 429", err)
	}

	// Which addresses share a count: exhaust one, probe the other.
	tests := []struct {
		name, exhaust, probe string
		shared               bool
	}{
		{"other IPv4", "198.51.100.1", "198.51.100.2", false},
		{"IPv4-mapped IPv6 is IPv4", "198.51.100.3", "::ffff:198.51.100.3", true},
		{"same IPv6 /64", "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"IPv6 zone ignored", "fe80::1", "fe80::2%eth0", true},
		{"other IPv6 /64", "2001:db8:1:3::1", "2001:db8:1:4::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 3 {
				if _, err := l.Allow(netip.MustParseAddr(tt.exhaust), httpapi.SigninClass); err != nil {
					t.Fatal(err)
				}
			}
			_, err := l.Allow(netip.MustParseAddr(tt.probe), httpapi.SigninClass)
			if shared := auth.IsKind(err, auth.KindTooManyRequests); shared != tt.shared {
				t.Errorf("shared count = %v, want %v (err %v)", shared, tt.shared, err)
			}
		})
	}

	// The other class has its own limit, here none.
	if rl, err := l.Allow(ip, httpapi.OtherClass); err != nil || rl != (httpapi.RateLimit{}) {
		t.Errorf("unlimited class: %+v, %v", rl, err)
	}
}

func TestThrottleIPClasses(t *testing.T) {
	l, _ := newLimits(httpapi.Config{IPRateLimit: 1, IPRefreshRateLimit: 2})
	ip := netip.MustParseAddr("203.0.113.9")
	if _, err := l.Allow(ip, httpapi.SigninClass); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Allow(ip, httpapi.SigninClass); !auth.IsKind(err, auth.KindTooManyRequests) {
		t.Fatalf("signin over its limit: %v", err)
	}
	for i := range 2 {
		rl, err := l.Allow(ip, httpapi.OtherClass)
		if err != nil || rl.Policy != httpapi.PolicyOther || rl.Quota != 2 {
			t.Fatalf("other request %d: %+v, %v", i+1, rl, err)
		}
	}
	if _, err := l.Allow(ip, httpapi.OtherClass); !auth.IsKind(err, auth.KindTooManyRequests) {
		t.Fatalf("other over its limit: %v", err)
	}
}

// The limiter holds at most IPRateLimitKeys IPs, forgets those whose quota
// is whole again, and when full evicts the IP nearest to its full quota.
func TestThrottleIPBoundedMemory(t *testing.T) {
	l, clk := newLimits(httpapi.Config{IPRateLimit: 3, IPRateLimitKeys: 2})
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	for range 3 {
		l.Allow(a, httpapi.SigninClass) // a owes 60 s
	}
	l.Allow(b, httpapi.SigninClass) // b owes 20 s
	l.Allow(c, httpapi.SigninClass) // full: b, nearest to its quota, goes
	if n := l.IPKeys(httpapi.SigninClass); n != 2 {
		t.Fatalf("tracked IPs = %d, want 2", n)
	}
	for i := range 3 {
		if _, err := l.Allow(b, httpapi.SigninClass); err != nil {
			t.Fatalf("evicted b, request %d: %v, want its whole quota back", i+1, err)
		}
	}
	if _, err := l.Allow(a, httpapi.SigninClass); !auth.IsKind(err, auth.KindTooManyRequests) {
		t.Fatalf("a, the most indebted IP, was evicted: %v", err)
	}
	for i := range 1000 {
		l.Allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), httpapi.SigninClass)
	}
	if n := l.IPKeys(httpapi.SigninClass); n != 2 {
		t.Fatalf("after 1000 IPs, tracked = %d, want 2", n)
	}
	clk.Add(time.Minute)
	l.Allow(a, httpapi.SigninClass)
	if n := l.IPKeys(httpapi.SigninClass); n != 1 {
		t.Fatalf("after a minute, tracked = %d, want 1 (only the IP just counted)", n)
	}
}

// The IPs of one IPv4 /24 or IPv6 /48 share the source limit of signups
// and signins, on top of their own per-IP limits; other routes do not count
// against it.
func TestThrottleSubnet(t *testing.T) {
	tests := []struct {
		name          string
		fill          []string // each makes 2 requests, its per-IP quota
		probe         string
		class         httpapi.RateClass
		refused       bool
		refusedPolicy string
	}{
		{"IPv4 /24 full", []string{"192.0.2.1", "192.0.2.2"}, "192.0.2.200", httpapi.SigninClass, true, httpapi.PolicySubnet},
		{"other IPv4 /24", []string{"192.0.2.1", "192.0.2.2"}, "192.0.3.1", httpapi.SigninClass, false, ""},
		{"IPv4-mapped in the /24", []string{"192.0.2.1", "192.0.2.2"}, "::ffff:192.0.2.9", httpapi.SigninClass, true, httpapi.PolicySubnet},
		{"IPv6 /48 full", []string{"2001:db8:1:1::1", "2001:db8:1:2::1"}, "2001:db8:1:ffff::1", httpapi.SigninClass, true, httpapi.PolicySubnet},
		{"other IPv6 /48", []string{"2001:db8:1:1::1", "2001:db8:1:2::1"}, "2001:db8:2::1", httpapi.SigninClass, false, ""},
		{"other routes", []string{"192.0.2.1", "192.0.2.2"}, "192.0.2.200", httpapi.OtherClass, false, ""},
		{"per-IP limit first", []string{"192.0.2.1"}, "192.0.2.1", httpapi.SigninClass, true, httpapi.PolicySignin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newLimits(httpapi.Config{IPRateLimit: 2, SubnetRateLimit: 4})
			for _, ip := range tt.fill {
				for i := range 2 {
					if _, err := l.Allow(netip.MustParseAddr(ip), httpapi.SigninClass); err != nil {
						t.Fatalf("%s request %d: %v", ip, i+1, err)
					}
				}
			}
			rl, err := l.Allow(netip.MustParseAddr(tt.probe), tt.class)
			if got := auth.IsKind(err, auth.KindTooManyRequests); got != tt.refused {
				t.Fatalf("probe from %s: %v, want refused %v", tt.probe, err, tt.refused)
			}
			if tt.refused && (rl.Policy != tt.refusedPolicy || retryAfter(t, err) <= 0) {
				t.Errorf("refusal %+v %v, want policy %s with a Retry-After", rl, err, tt.refusedPolicy)
			}
		})
	}
}

// A negative limit is a programming error: NewServer panics.
func TestThrottleConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  httpapi.Config
	}{
		{"negative IP limit", httpapi.Config{IPRateLimit: -1}},
		{"negative refresh limit", httpapi.Config{IPRefreshRateLimit: -1}},
		{"negative subnet limit", httpapi.Config{SubnetRateLimit: -1}},
		{"negative keys", httpapi.Config{IPRateLimitKeys: -1}},
	}
	svc, _, _ := newService(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("NewServer accepted the Config")
				}
			}()
			httpapi.NewServer(tt.cfg, svc)
		})
	}
}

// BenchmarkThrottleIP measures the per-IP limiter: one client, and a flood
// of distinct clients that keeps the table full and evicting.
func BenchmarkThrottleIP(b *testing.B) {
	l, _ := newLimits(httpapi.Config{IPRateLimit: 100})
	b.Run("one IP", func(b *testing.B) {
		ip := netip.MustParseAddr("192.0.2.1")
		for b.Loop() {
			l.Allow(ip, httpapi.SigninClass)
		}
	})
	b.Run("distinct IPs", func(b *testing.B) {
		var i uint32
		for b.Loop() {
			i++
			l.Allow(netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}), httpapi.SigninClass)
		}
	})
}

// BenchmarkThrottleIPMemory reports the heap a full per-IP table holds
// (DefaultIPRateLimitKeys IPs), in bytes per IP.
func BenchmarkThrottleIPMemory(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l, _ := newLimits(httpapi.Config{IPRateLimit: 100})
		for i := range httpapi.DefaultIPRateLimitKeys {
			l.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), httpapi.SigninClass)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if n := l.IPKeys(httpapi.SigninClass); n != httpapi.DefaultIPRateLimitKeys {
			b.Fatalf("tracked %d IPs", n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(httpapi.DefaultIPRateLimitKeys), "B/IP")
	}
}
