package httpapi

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/authstore/auth"
)

// rateClass names the limits a route counts against; routes.go gives each
// route its class.
type rateClass uint8

const (
	// signinClass is signup and signin: Config.IPRateLimit per client IP
	// and Config.SubnetRateLimit per source.
	signinClass rateClass = iota
	// otherClass is refresh and every other route:
	// Config.IPRefreshRateLimit per client IP.
	otherClass
	// mailClass is the routes that send mail (forgot password, resend
	// verification, change email): Config.MailRateLimit per client IP.
	mailClass
)

// Names of the limits, as the RateLimit header fields name them.
const (
	policySignin = "signin-ip"
	policyOther  = "ip"
	policySubnet = "signin-subnet"
	policyMail   = "mail-ip"
)

// DefaultIPRateLimitKeys is how many client IPs (or sources) each limit
// tracks when Config.IPRateLimitKeys is 0.
const DefaultIPRateLimitKeys = 1 << 16

// rateLimit is the state of one quota after a request, in the terms of the
// RateLimit and RateLimit-Policy header fields.
type rateLimit struct {
	Policy    string        // policySignin, policyOther, policySubnet or policyMail
	Quota     int           // requests per Window; 0 when no limit applies
	Window    time.Duration // one minute
	Remaining int           // requests that may still be made at once
	Reset     time.Duration // until Remaining is back at Quota
}

// limits are the per-IP and per-source limits of a server; a nil limiter
// has no limit. The counts are in memory, per server.
type limits struct {
	signin, other, subnet, mail *ipLimiter
	now                         func() time.Time
	ew                          errorWriter
}

// checkLimits reports whether the limits of c are valid: none negative.
func (c Config) checkLimits() error {
	if c.IPRateLimit < 0 || c.IPRefreshRateLimit < 0 || c.SubnetRateLimit < 0 || c.IPRateLimitKeys < 0 || c.MailRateLimit < 0 {
		return errors.New("httpapi: rate limits must not be negative")
	}
	return nil
}

// newLimits builds the limiters of cfg, whose defaults are filled in.
func newLimits(cfg Config, ew errorWriter) *limits {
	l := &limits{now: cfg.Now, ew: ew}
	if cfg.IPRateLimit > 0 {
		l.signin = newIPLimiter(policySignin, cfg.IPRateLimit, time.Minute, cfg.IPRateLimitKeys)
	}
	if cfg.IPRefreshRateLimit > 0 {
		l.other = newIPLimiter(policyOther, cfg.IPRefreshRateLimit, time.Minute, cfg.IPRateLimitKeys)
	}
	if cfg.MailRateLimit > 0 {
		l.mail = newIPLimiter(policyMail, cfg.MailRateLimit, time.Minute, cfg.IPRateLimitKeys)
	}
	if cfg.SubnetRateLimit > 0 {
		l.subnet = newIPLimiter(policySubnet, cfg.SubnetRateLimit, time.Minute, cfg.IPRateLimitKeys)
	}
	return l
}

// limit counts every request h serves against the limits of class before
// h sees it, and answers a refusal 429 in the error shape. Allowed and
// refused answers alike carry the state of the limit in the RateLimit
// header fields. Only routed requests reach it: the ServeMux answers
// unknown routes (404) and wrong methods (405) without counting them.
func (l *limits) limit(class rateClass, h http.Handler) http.Handler {
	if l.per(class) == nil && (class != signinClass || l.subnet == nil) {
		return h // no limit applies
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rl, err := l.allow(clientIPFrom(r), class)
		setRateLimitHeaders(w.Header(), rl)
		if err != nil {
			l.ew.write(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// per is the per-IP limiter of class, or nil.
func (l *limits) per(class rateClass) *ipLimiter {
	switch class {
	case signinClass:
		return l.signin
	case mailClass:
		return l.mail
	}
	return l.other
}

// allow counts one request of class from the client at ip against the
// per-IP limit of class, and a signup or signin (signinClass) also against
// the limit of its source, the IPv4 /24 or IPv6 /48
// (Config.SubnetRateLimit). An IPv6 client counts as its /64, an
// IPv4-mapped address as IPv4; all invalid addresses share one count.
//
// Each limit lets one client make Quota requests at once and one more every
// Window/Quota after that (GCRA). allow returns the state of the limit
// (Quota 0 when class has no limit) and, when the request goes over it, an
// *auth.Error of KindTooManyRequests whose RetryAfter is the time until one
// request is allowed; a refused request is not counted by the limit that
// refused it (a per-IP count spent on a request its source's limit then
// refuses stays spent). The state returned is the per-IP limit's, or the
// source limit's when that one refuses or is the only one.
func (l *limits) allow(ip netip.Addr, class rateClass) (rateLimit, error) {
	now := l.now()
	var state rateLimit
	if pl := l.per(class); pl != nil {
		st, wait, ok := pl.allow(ipKey(ip), now)
		if !ok {
			return st, tooMany(st.Policy, wait)
		}
		state = st
	}
	if class == signinClass && l.subnet != nil {
		st, wait, ok := l.subnet.allow(subnetKey(ip), now)
		if !ok {
			return st, tooMany(st.Policy, wait)
		}
		if state.Quota == 0 {
			state = st
		}
	}
	return state, nil
}

// tooMany is the refusal of the limit named policy: auth.ErrTooManyRequests's
// kind and wording with the time to wait.
func tooMany(policy string, wait time.Duration) *auth.Error {
	return &auth.Error{Kind: auth.KindTooManyRequests, Message: auth.ErrTooManyRequests.Message, Op: "throttle " + policy, RetryAfter: wait}
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
func setRateLimitHeaders(h http.Header, rl rateLimit) {
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
