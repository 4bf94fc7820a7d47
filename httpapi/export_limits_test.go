package httpapi

import (
	"net/http"
	"net/netip"

	"github.com/authstore/auth"
)

// Names of the limits and their classes, for tests of the limiter.
type (
	RateClass = rateClass
	RateLimit = rateLimit
)

const (
	SigninClass  = signinClass
	OtherClass   = otherClass
	PolicySignin = policySignin
	PolicyOther  = policyOther
	PolicySubnet = policySubnet
)

// Limits are the rate limits NewServer builds from a Config.
type Limits struct{ l *limits }

// NewLimits returns the rate limits of a server with cfg; like NewServer,
// it panics if a limit is negative.
func NewLimits(cfg Config) *Limits {
	if err := cfg.checkLimits(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	return &Limits{newLimits(cfg, errorWriter{logger: cfg.Logger, now: cfg.Now})}
}

// Allow counts one request of class from ip, as a route of that class does.
func (l *Limits) Allow(ip netip.Addr, class RateClass) (RateLimit, error) {
	return l.l.allow(ip, class)
}

// IPKeys returns how many client IPs the per-IP limit of class tracks, so
// tests can check that its memory stays bounded.
func (l *Limits) IPKeys(class RateClass) int {
	if pl := l.l.per(class); pl != nil {
		return pl.size()
	}
	return 0
}

// NewServerSuspects is NewServer, also returning a function that reports
// whether the source of a client IP is suspect now.
func NewServerSuspects(cfg Config, svc *auth.Service) (http.Handler, func(ip string) bool) {
	h, sus := newServer(cfg, svc)
	return h, func(ip string) bool { return sus.has(netip.MustParseAddr(ip).Unmap()) }
}

// size returns how many keys l holds.
func (l *ipLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
