package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits sets the histogram's precision: every power-of-two range of
// durations is split into 1<<subBits equal buckets, so a bucket's width is
// at most 1/256 of its values.
const subBits = 8

const (
	subCount   = 1 << subBits
	numBuckets = (64-subBits)*subCount + subCount
)

// Histogram records durations in log-linear buckets, in the manner of an HDR
// histogram: memory is fixed (about 120 KiB) however many values are
// recorded. Durations below 2*256 ns are kept exactly; a larger one lands in
// a bucket at most 0.4% wide. Record, Count, Quantile, Max and Mean are safe
// for concurrent use; the zero value is an empty histogram.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Int64
	max    atomic.Int64
}

// bucket returns the index of the bucket holding v (v >= 0).
func bucket(v uint64) int {
	shift := max(bits.Len64(v)-(subBits+1), 0)
	return shift*subCount + int(v>>shift)
}

// bucketHigh returns the largest value bucket i holds.
func bucketHigh(i int) uint64 {
	if i < 2*subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	top := uint64(i - shift*subCount)
	return (top+1)<<shift - 1
}

// Record adds one duration; a negative one counts as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucket(uint64(v))].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Max returns the largest recorded duration, exactly; 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Mean returns the mean of the recorded durations; 0 when empty.
func (h *Histogram) Mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / int64(n))
}

// Quantile returns the nearest-rank q-quantile (0 < q <= 1) of the recorded
// durations: the smallest recorded value x such that at least ceil(q*n)
// values are <= x, rounded up to the top of its bucket (so never below the
// exact answer and at most 0.4% above it) and capped at Max. An empty
// histogram, or q <= 0, gives 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 || q <= 0 {
		return 0
	}
	rank := uint64(math.Ceil(min(q, 1) * float64(n)))
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(bucketHigh(i)), h.Max())
		}
	}
	return h.Max()
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	h.sum.Add(o.sum.Load())
	for {
		m, om := h.max.Load(), o.max.Load()
		if om <= m || h.max.CompareAndSwap(m, om) {
			return
		}
	}
}
