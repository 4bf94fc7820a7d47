package bench_test

import (
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth/bench"
)

func TestHistogramQuantile(t *testing.T) {
	seq := func(from, to, step time.Duration) []time.Duration {
		var out []time.Duration
		for d := from; d <= to; d += step {
			out = append(out, d)
		}
		return out
	}
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
		// tol is the allowed excess over want, relative to want; the
		// histogram never reports less than the exact nearest rank.
		tol float64
	}{
		{"empty", nil, 0.5, 0, 0},
		{"one value", []time.Duration{7 * time.Millisecond}, 0.99, 7 * time.Millisecond, 0},
		{"p50 of 1..100ns exact", seq(1, 100, 1), 0.5, 50, 0},
		{"p90 of 1..100ns exact", seq(1, 100, 1), 0.9, 90, 0},
		{"p99 of 1..100ns exact", seq(1, 100, 1), 0.99, 99, 0},
		{"p100 is the max", seq(1, 100, 1), 1, 100, 0},
		{"q above 1 is the max", seq(1, 100, 1), 2, 100, 0},
		{"q zero", seq(1, 100, 1), 0, 0, 0},
		{"nearest rank rounds up", seq(1, 10, 1), 0.55, 6, 0},
		{"p50 of 1..1000ms", seq(time.Millisecond, time.Second, time.Millisecond), 0.5, 500 * time.Millisecond, 1.0 / 256},
		{"p99 of 1..1000ms", seq(time.Millisecond, time.Second, time.Millisecond), 0.99, 990 * time.Millisecond, 1.0 / 256},
		{"p90 of 1..1000µs", seq(time.Microsecond, time.Millisecond, time.Microsecond), 0.9, 900 * time.Microsecond, 1.0 / 256},
		{"negative counts as zero", []time.Duration{-5, -5, 3}, 0.5, 0, 0},
		{"huge", []time.Duration{time.Duration(1 << 62)}, 0.5, time.Duration(1 << 62), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h bench.Histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			got := h.Quantile(tt.q)
			if got < tt.want || float64(got-tt.want) > tt.tol*float64(tt.want) {
				t.Errorf("Quantile(%v) = %v, want %v (+%.2f%%)", tt.q, got, tt.want, 100*tt.tol)
			}
			if n := h.Count(); n != uint64(len(tt.values)) {
				t.Errorf("Count = %d, want %d", n, len(tt.values))
			}
		})
	}
}

// Every bucket boundary keeps the 1/256 bound: a value is reported as at
// most 1/256 above itself.
func TestHistogramPrecision(t *testing.T) {
	for v := time.Duration(1); v < time.Hour; v = v*3/2 + 1 {
		var h bench.Histogram
		h.Record(v)
		h.Record(v + 1) // so the quantile is not capped by Max
		got := h.Quantile(0.5)
		if got < v || float64(got-v) > float64(v)/256 {
			t.Fatalf("median of {%v, %v} = %v", v, v+1, got)
		}
	}
}

func TestHistogramMergeMaxMean(t *testing.T) {
	var a, b bench.Histogram
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 250 {
				a.Record(time.Duration(i*250+j+1) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	b.Record(5 * time.Second)
	b.Merge(&a)
	if b.Count() != 1001 {
		t.Errorf("Count = %d, want 1001", b.Count())
	}
	if b.Max() != 5*time.Second {
		t.Errorf("Max = %v, want 5s", b.Max())
	}
	if a.Max() != time.Millisecond {
		t.Errorf("Max of a = %v, want 1ms", a.Max())
	}
	wantMean := (5*time.Second + 1000*1001/2*time.Microsecond) / 1001
	if b.Mean() != wantMean {
		t.Errorf("Mean = %v, want %v", b.Mean(), wantMean)
	}
	var empty bench.Histogram
	if empty.Mean() != 0 || empty.Max() != 0 || empty.Quantile(0.5) != 0 {
		t.Error("empty histogram is not all zero")
	}
}
