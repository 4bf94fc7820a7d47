package auth

import (
	"container/heap"
	"net/netip"
	"sync"
	"time"
)

// Sources: signin availability under floods spread over many addresses.
//
// A source is the network a client IP belongs to: its IPv4 /24 or its IPv6
// /48, the smallest blocks commonly assigned to one organisation or site.
// Two rules work on sources, both in memory and per instance:
//
//   - SubnetRateLimit caps the signups and signins of a whole source, on
//     top of the per-IP IPRateLimit (see ThrottleIP).
//   - A source is suspect for SuspectFor after a failed or throttled signin
//     from it. Signups and signins from suspect sources may hold only
//     SuspectChecks of the MaxPasswordChecks places between them, so a
//     flood of guesses, however many sources it comes from, leaves the
//     other places to clients that have not failed: users of accounts that
//     exist, signing in with their passwords.
//
// Suspicion follows failed signins, not signins of unknown logins: a wrong
// password and an unknown login are one failure, answered alike after the
// same work, so being suspect tells a client nothing its 400 had not told
// it. A rule that treated unknown logins apart (a budget of their hashing
// work, say) would be observable, by status, timing or later treatment,
// and would tell which logins exist.

// SuspectFor is how long a source stays suspect after a failed or
// throttled signin from it.
const SuspectFor = 10 * time.Minute

// PolicySubnet names the per-source limit of signups and signins, as the
// RateLimit header fields name it.
const PolicySubnet = "signin-subnet"

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

// sourceOf returns the source of the client IP ip, and false if ip is not
// an address.
func sourceOf(ip string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Addr{}, false
	}
	return subnetKey(a), true
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

// suspect reports whether the source of client IP ip is suspect now.
func (s *Service) suspect(ip string) bool {
	src, ok := sourceOf(ip)
	return ok && s.suspects.has(src, s.now())
}

// markSuspect makes the source of client IP ip suspect for SuspectFor.
func (s *Service) markSuspect(ip string) {
	if src, ok := sourceOf(ip); ok {
		s.suspects.mark(src, s.now())
	}
}
