package httpapi_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/authstore/auth/httpapi"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		remote  string
		xff     []string // header lines
		trusted []netip.Prefix
		want    string // "" for the zero Addr
	}{
		{"no proxies: the peer", "203.0.113.5:1234", nil, nil, "203.0.113.5"},
		{"no proxies: the header is ignored", "203.0.113.5:1234", []string{"198.51.100.7"}, nil, "203.0.113.5"},
		{"untrusted peer: the header is ignored", "203.0.113.5:1234", []string{"198.51.100.7"}, proxies, "203.0.113.5"},
		{"trusted peer without header", "10.0.0.1:80", nil, proxies, "10.0.0.1"},
		{"trusted peer", "10.0.0.1:80", []string{"198.51.100.7"}, proxies, "198.51.100.7"},
		{"a client's own entry is skipped", "10.0.0.1:80", []string{"6.6.6.6, 198.51.100.7"}, proxies, "198.51.100.7"},
		{"chain of proxies", "10.0.0.1:80", []string{"198.51.100.7, 10.0.0.2,10.0.0.3"}, proxies, "198.51.100.7"},
		{"several header lines", "10.0.0.1:80", []string{"6.6.6.6", "198.51.100.7, 10.0.0.2"}, proxies, "198.51.100.7"},
		{"walk crosses header lines", "10.0.0.1:80", []string{"6.6.6.6, 198.51.100.7", "10.0.0.2"}, proxies, "198.51.100.7"},
		{"empty header line adds no hop", "10.0.0.1:80", []string{"198.51.100.7", ""}, proxies, "198.51.100.7"},
		{"all trusted: the leftmost", "10.0.0.1:80", []string{"10.0.0.5, 10.0.0.2"}, proxies, "10.0.0.5"},
		{"malformed entry stops at the last trusted hop", "10.0.0.1:80", []string{"198.51.100.7, garbage, 10.0.0.2"}, proxies, "10.0.0.2"},
		{"malformed at once: the peer", "10.0.0.1:80", []string{"unknown"}, proxies, "10.0.0.1"},
		{"empty entry is malformed", "10.0.0.1:80", []string{"198.51.100.7,,10.0.0.2"}, proxies, "10.0.0.2"},
		{"obfuscated identifier is malformed", "10.0.0.1:80", []string{"_hidden"}, proxies, "10.0.0.1"},
		{"entry with port", "10.0.0.1:80", []string{"198.51.100.7:5555"}, proxies, "198.51.100.7"},
		{"IPv6 entry with port", "10.0.0.1:80", []string{"[2001:db8::5]:443"}, proxies, "2001:db8::5"},
		{"IPv6 proxy", "[fd00::1]:443", []string{"2001:db8::5"}, proxies, "2001:db8::5"},
		{"IPv4-mapped entry is IPv4", "10.0.0.1:80", []string{"::ffff:198.51.100.7"}, proxies, "198.51.100.7"},
		{"IPv4-mapped peer is IPv4", "[::ffff:203.0.113.5]:80", nil, nil, "203.0.113.5"},
		{"IPv4-mapped trusted prefix", "10.0.0.1:80", []string{"198.51.100.7"},
			[]netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}, "198.51.100.7"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, nil, "fe80::1"},
		{"unmasked trusted prefix", "10.0.0.1:80", []string{"198.51.100.7"},
			[]netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}, "198.51.100.7"},
		{"unparsable peer", "pipe", []string{"198.51.100.7"}, proxies, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/healthz", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := httpapi.ClientIP(r, tt.trusted)
			want := netip.Addr{}
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Errorf("client IP = %v, want %v", got, want)
			}
		})
	}
}
