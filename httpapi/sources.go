package httpapi

import (
	"container/heap"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/authstore/auth"
)

// Sources: signin availability under floods spread over many addresses.
//
// A source is the network a client IP belongs to: its IPv4 /24 or its IPv6
// /48, the smallest blocks commonly assigned to one organisation or site.
// Two rules work on sources, both in memory and per server:
//
//   - Config.SubnetRateLimit caps the signups and signins of a whole
//     source, on top of the per-IP Config.IPRateLimit (see limits.allow).
//   - A source is suspect for SuspectFor after a failed or throttled signin
//     from it. The signups and signins of a suspect source reach the
//     Service marked auth.Client.Suspect, and the Service lets such
//     requests hold only auth.Config.SuspectChecks of its
//     MaxPasswordChecks places between them, so a flood of
//     guesses, however many sources it comes from, leaves the other places
//     to clients that have not failed: users of accounts that exist,
//     signing in with their passwords. This package tracks the sources;
//     the admission rule is the Service's.
//
// Suspicion follows failed signins, not signins of unknown logins: a wrong
// password and an unknown login are one failure (auth.ErrBadCredentials),
// answered alike after the same work, so being suspect tells a client
// nothing its 400 had not told it. A rule that treated unknown logins apart
// (a budget of their hashing work, say) would be observable, by status,
// timing or later treatment, and would tell which logins exist.

// SuspectFor is how long a source stays suspect after a failed or
// throttled signin from it.
const SuspectFor = 10 * time.Minute

// subnetKey is the source of ip: its /24 for IPv4 (IPv4-mapped included),
// its /48 for IPv6, without zone.
func subnetKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	if !ip.IsValid() {
		return ip
	}
	return netip.PrefixFrom(ip, bits).Masked().Addr()
}

// sourceSet remembers sources for ttl after they were last marked, at most
// max of them: when full, the one nearest to being forgotten goes first.
// The nil *sourceSet remembers nothing.
type sourceSet struct {
	ttl time.Duration
	max int

	mu   sync.Mutex
	keys map[netip.Addr]*tatEntry // tat is when the key is forgotten
	heap tatHeap
}

// newSourceSet returns a sourceSet remembering at most max sources for ttl.
func newSourceSet(ttl time.Duration, max int) *sourceSet {
	return &sourceSet{ttl: ttl, max: max, keys: make(map[netip.Addr]*tatEntry)}
}

// expire drops the keys forgotten by now; s.mu is held.
func (s *sourceSet) expire(now time.Time) {
	for len(s.heap) > 0 && !s.heap[0].tat.After(now) {
		delete(s.keys, heap.Pop(&s.heap).(*tatEntry).key)
	}
}

// mark remembers key until ttl after now.
func (s *sourceSet) mark(key netip.Addr, now time.Time) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	until := now.Add(s.ttl)
	if e := s.keys[key]; e != nil {
		e.tat = until
		heap.Fix(&s.heap, e.index)
		return
	}
	if len(s.heap) >= s.max {
		delete(s.keys, heap.Pop(&s.heap).(*tatEntry).key)
	}
	e := &tatEntry{key: key, tat: until}
	s.keys[key] = e
	heap.Push(&s.heap, e)
}

// has reports whether key was marked less than ttl before now.
func (s *sourceSet) has(key netip.Addr, now time.Time) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	return s.keys[key] != nil
}

// suspects are the sources with a recent failed or throttled signin, by
// the clock now. The nil *suspects holds none.
type suspects struct {
	set *sourceSet
	now func() time.Time
}

// newSuspects returns the suspect sources of a server with cfg, whose
// defaults are filled in: at most cfg.IPRateLimitKeys of them.
func newSuspects(cfg Config) *suspects {
	return &suspects{set: newSourceSet(SuspectFor, cfg.IPRateLimitKeys), now: cfg.Now}
}

// has reports whether the source of the client IP ip is suspect now.
func (s *suspects) has(ip netip.Addr) bool {
	return s != nil && ip.IsValid() && s.set.has(subnetKey(ip), s.now())
}

// mark makes the source of the client IP ip suspect for SuspectFor; an
// invalid ip has no source and marks nothing.
func (s *suspects) mark(ip netip.Addr) {
	if s != nil && ip.IsValid() {
		s.set.mark(subnetKey(ip), s.now())
	}
}

// failedSignin reports whether err, the outcome of a signin, makes its
// source suspect: a failure (a wrong password or an unknown login, one
// error for both) or a refusal by the per-login throttle. Nothing else
// counts, so suspicion never depends on whether a login exists.
func failedSignin(err error) bool {
	return errors.Is(err, auth.ErrBadCredentials) || auth.IsKind(err, auth.KindTooManyRequests)
}
