package httpapi

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/authstore/auth"
)

// throttle counts every request that mux routes against the per-IP limit
// of its class in svc (POST /auth/signup and /auth/signin against one,
// every other route against the other) and answers a refusal 429 in the
// error shape. Allowed and refused answers alike carry the state of the
// limit in the RateLimit header fields; the service decides, this only
// translates. Requests mux does not route (404, 405) cost nothing and are
// not counted.
func throttle(ew errorWriter, svc *auth.Service, mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" || unclean(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		rl, err := svc.ThrottleIP(clientIPFrom(r), rateClass(r))
		setRateLimitHeaders(w.Header(), rl)
		if err != nil {
			ew.write(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateClass is the per-IP limit r counts against.
func rateClass(r *http.Request) auth.RateClass {
	if r.Method == http.MethodPost && (r.URL.Path == "/auth/signup" || r.URL.Path == "/auth/signin") {
		return auth.RateSignin
	}
	return auth.RateOther
}

// setRateLimitHeaders describes rl in the RateLimit-Policy and RateLimit
// header fields of draft-ietf-httpapi-ratelimit-headers-10 (structured
// field lists of one item each, named by the policy):
//
//	RateLimit-Policy: "signin-ip";q=100;w=60
//	RateLimit: "signin-ip";r=99;t=1
//
// q is the quota per window of w seconds, r the requests that may still be
// made at once, t the seconds (rounded up) until the quota is whole again.
// It sets nothing when no limit applies.
func setRateLimitHeaders(h http.Header, rl auth.RateLimit) {
	if rl.Quota <= 0 {
		return
	}
	name := strconv.Quote(rl.Policy) // policy names are plain ASCII tokens
	h.Set("RateLimit-Policy", name+";q="+strconv.Itoa(rl.Quota)+";w="+strconv.FormatInt(ceilSeconds(rl.Window), 10))
	h.Set("RateLimit", name+";r="+strconv.Itoa(rl.Remaining)+";t="+strconv.FormatInt(ceilSeconds(rl.Reset), 10))
}

// retryAfterOf returns the Retry-After value (whole seconds, rounded up, at
// least 1) of an *auth.Error that says how long to wait, or "".
func retryAfterOf(err error) string {
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.RetryAfter <= 0 {
		return ""
	}
	return strconv.FormatInt(max(ceilSeconds(ae.RetryAfter), 1), 10)
}

// ceilSeconds is d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// normalizePrefixes returns prefixes masked, with IPv4-mapped IPv6 ones as
// IPv4, since client addresses are compared unmapped.
func normalizePrefixes(prefixes []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}
