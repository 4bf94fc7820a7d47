package httpapi

import (
	"net/http"
	"net/netip"
)

// ClientIP returns the client IP of r as NewServer resolves it with these
// trusted proxies.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	return clientIP(r, normalizePrefixes(trusted))
}
