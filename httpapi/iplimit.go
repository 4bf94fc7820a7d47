package httpapi

import (
	"container/heap"
	"net/netip"
	"sync"
	"time"
)

// ipLimiter is a per-key GCRA (generic cell rate algorithm) limiter: a key
// may make quota requests at once, and one more every window/quota after
// that. It stores one time per key, the theoretical arrival time (tat): the
// key has its whole quota back once the clock passes tat. A refused request
// is not counted.
//
// Memory is bounded: keys whose tat has passed are dropped (they are
// indistinguishable from new ones), and when maxKeys keys are held the one
// with the earliest tat, the nearest to its full quota, is evicted. A
// min-heap on tat makes both O(log n).
type ipLimiter struct {
	policy   string
	quota    int
	window   time.Duration
	interval time.Duration // window / quota
	maxKeys  int

	mu   sync.Mutex
	keys map[netip.Addr]*tatEntry
	heap tatHeap
}

// newIPLimiter returns a limiter of quota requests per window for each of
// at most maxKeys keys, whose states are named policy.
func newIPLimiter(policy string, quota int, window time.Duration, maxKeys int) *ipLimiter {
	return &ipLimiter{
		policy: policy, quota: quota, window: window,
		interval: window / time.Duration(quota), maxKeys: maxKeys,
		keys: make(map[netip.Addr]*tatEntry),
	}
}

// allow counts one request of key at now if the quota allows it, and
// returns the state of key's quota with, for a refusal, how long until one
// request will be allowed.
func (l *ipLimiter) allow(key netip.Addr, now time.Time) (state rateLimit, retryAfter time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.heap) > 0 && !l.heap[0].tat.After(now) {
		delete(l.keys, heap.Pop(&l.heap).(*tatEntry).key)
	}
	state = rateLimit{Policy: l.policy, Quota: l.quota, Window: l.window}
	e := l.keys[key]
	tat := now
	if e != nil {
		tat = e.tat // after now: passed ones were dropped above
	}
	next := tat.Add(l.interval)
	if debt := next.Sub(now); debt > l.window {
		state.Reset = tat.Sub(now)
		return state, debt - l.window, false
	}
	if e == nil {
		if len(l.heap) >= l.maxKeys {
			delete(l.keys, heap.Pop(&l.heap).(*tatEntry).key)
		}
		e = &tatEntry{key: key, tat: next}
		l.keys[key] = e
		heap.Push(&l.heap, e)
	} else {
		e.tat = next
		heap.Fix(&l.heap, e.index)
	}
	state.Remaining = int((l.window - next.Sub(now)) / l.interval)
	state.Reset = next.Sub(now)
	return state, 0, true
}

type tatEntry struct {
	key   netip.Addr
	tat   time.Time
	index int // position in the heap
}

// tatHeap is a min-heap of entries by tat (container/heap.Interface).
type tatHeap []*tatEntry

func (h tatHeap) Len() int           { return len(h) }
func (h tatHeap) Less(i, j int) bool { return h[i].tat.Before(h[j].tat) }
func (h tatHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *tatHeap) Push(x any) {
	e := x.(*tatEntry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *tatHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// ipKey is the key an address is limited under: an IPv4-mapped address as
// IPv4, an IPv6 address as its /64 (one subscriber usually holds a whole
// /64, so counting single IPv6 addresses would let one client use 2^64
// quotas), without zone.
func ipKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	return ip
}
