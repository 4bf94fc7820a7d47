package httpapi

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the address of the client that sent r.
//
// It is the TCP peer unless the peer is inside one of the trusted proxy
// prefixes. Then X-Forwarded-For (every header line, each a comma-separated
// list, in order) is walked from the right, skipping addresses inside the
// trusted prefixes: the first address outside them is the client. A
// malformed entry stops the walk, as does the end of the list: the client is
// then the last trusted hop walked, the leftmost one that can be vouched
// for. Since only the entries a trusted proxy appended are believed, a
// client cannot choose its address by sending the header itself.
//
// IPv4-mapped IPv6 addresses are returned as IPv4, without zone. The zero
// Addr means RemoteAddr could not be parsed.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ip := parseHop(r.RemoteAddr)
	if !ip.IsValid() || !inPrefixes(ip, trusted) {
		return ip
	}
	lines := r.Header.Values("X-Forwarded-For")
	for i := len(lines) - 1; i >= 0; i-- {
		entries := strings.Split(lines[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			e := strings.TrimSpace(entries[j])
			if e == "" && len(entries) == 1 {
				continue // an empty header line adds no hop
			}
			hop := parseHop(e)
			if !hop.IsValid() {
				return ip
			}
			ip = hop
			if !inPrefixes(ip, trusted) {
				return ip
			}
		}
	}
	return ip
}

// parseHop parses an address as X-Forwarded-For entries and RemoteAddr
// carry it: bare, or with a port ("192.0.2.1:443", "[2001:db8::1]:443").
// It returns the zero Addr for anything else.
func parseHop(s string) netip.Addr {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}

func inPrefixes(ip netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// requestInfo is what the middleware learns of a request once: the client
// IP (see clientIP) and the request id (see requestID). One value in the
// context holds both, so that each request is copied once for them.
type requestInfo struct {
	ip netip.Addr
	id string
}

type requestInfoKey struct{}

// withRequestInfo resolves the client IP of every request (see clientIP)
// once, for the throttle and the session record, and assigns its request
// id, echoed in X-Request-Id, for the logs. It must wrap the access log:
// the request it passes on is a copy, and the ServeMux sets the route
// pattern the log reads on the request it is given.
func withRequestInfo(trusted []netip.Prefix, next http.Handler) http.Handler {
	ids := newRequestIDs()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &requestInfo{ip: clientIP(r, trusted), id: requestID(r, ids)}
		w.Header()["X-Request-Id"] = []string{info.id}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
	})
}

// infoFrom returns the requestInfo withRequestInfo put in ctx, or nil.
func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// clientIPFrom returns the client IP withRequestInfo resolved for r, or the
// TCP peer's if it did not run.
func clientIPFrom(r *http.Request) netip.Addr {
	if info := infoFrom(r.Context()); info != nil {
		return info.ip
	}
	return parseHop(r.RemoteAddr)
}
