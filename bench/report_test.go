package bench_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/authstore/auth/bench"
)

func sampleResults() []*bench.Result {
	var out []*bench.Result
	for i, n := range []int{1, 2, 4, 8} {
		out = append(out, &bench.Result{
			Scenario: bench.Refresh, URL: "http://127.0.0.1:1", Concurrency: n, DurationSeconds: 2,
			Requests: int64(1000 * (i + 1)), Successes: int64(1000*(i+1) - i), PerSecond: float64(500 * (i + 1)),
			Errors:     map[string]int64{"503": int64(i)},
			Latency:    bench.Latency{P50: float64(n), P90: float64(2 * n), P99: float64(3 * n), Max: float64(4 * n)},
			Operations: []bench.OpResult{{Name: "refresh", Requests: int64(1000 * (i + 1))}},
			Server:     &bench.ServerStats{PeakRSSBytes: 40 << 20, CPUSeconds: 1, CPUMillisPerOp: 0.5, LogLevel: "info"},
		})
	}
	return out
}

// mixedResult is a mixed run at 800 requests/s, 40 of them hashing, with a
// ceiling of 50 hashes/s.
func mixedResult() *bench.Result {
	return &bench.Result{
		Scenario: bench.Mixed, URL: "http://127.0.0.1:1", Concurrency: 32, DurationSeconds: 20,
		Requests: 16000, Successes: 16000, PerSecond: 800,
		Operations: []bench.OpResult{
			{Name: "signup", Requests: 120, Successes: 120}, {Name: "signin", Requests: 680, Successes: 680},
			{Name: "refresh", Requests: 15200, Successes: 15200},
		},
		Ceiling:      &bench.Ceiling{CPUs: 2, PerSecond: 50},
		CeilingRatio: 0.8,
		Server:       &bench.ServerStats{CPUSeconds: 1, CPUMillisPerOp: 0.06, LoadCPUSeconds: 0.5, LoadCPUMillisPerOp: 0.03125},
	}
}

func TestWriteTable(t *testing.T) {
	tests := []struct {
		name    string
		results []*bench.Result
		want    []string
	}{
		{"one run", sampleResults()[:1], []string{"scenario refresh, concurrency 1", "operation", "p99 ms", "refresh", "chains broken (401): 0", "peak RSS 40.0 MiB", "ok/s", "errors/s", "log level info"}},
		{"sweep", sampleResults(), []string{"sweep of concurrency", "concurrency", "503:3", "40.0 MiB", "server log level: info"}},
		{"mixed, bound by hashing", []*bench.Result{mixedResult()}, []string{
			"signups and signins 40.0/s = 0.80 of the hashing ceiling",
			"bounds the mix at 883 requests/s (6 hashes per 106 requests); 800.0/s = 0.91 of that bound",
			"load generator (this process, same machine): CPU 0.50 s in the window = 0.031 ms per request",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := bench.WriteTable(&b, tt.results); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("table has no %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestPlot(t *testing.T) {
	tests := []struct {
		file, format, magic string
	}{
		{"a.svg", "svg", "<svg"},
		{"a.PNG", "png", "\x89PNG"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := bench.PlotFormat(tt.file)
			if err != nil || f != tt.format {
				t.Fatalf("PlotFormat = %q, %v; want %q", f, err, tt.format)
			}
			var b bytes.Buffer
			if err := bench.Plot(&b, f, "refresh sweep", sampleResults()); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String()[:min(b.Len(), 300)], tt.magic) {
				t.Errorf("%s output starts %q", tt.format, b.String()[:min(b.Len(), 40)])
			}
		})
	}
	if _, err := bench.PlotFormat("a.gif"); err == nil {
		t.Error("PlotFormat accepted .gif")
	}
	if err := bench.Plot(&bytes.Buffer{}, "svg", "", nil); err == nil {
		t.Error("Plot of nothing succeeded")
	}
}

func TestPlotSizes(t *testing.T) {
	points := []bench.SizePoint{
		{Users: 10000, Sessions: 50000, Bytes: 20e6, Results: sampleResults()[:1]},
		{Users: 1000000, Sessions: 5000000, Bytes: 2e9, Results: sampleResults()[:1]},
	}
	var b bytes.Buffer
	if err := bench.PlotSizes(&b, "svg", "by size", points); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<svg") || !strings.Contains(b.String(), "1M users") {
		t.Errorf("svg without its axis: %.300s", b.String())
	}
	if err := bench.PlotSizes(&bytes.Buffer{}, "svg", "", nil); err == nil {
		t.Error("PlotSizes of nothing succeeded")
	}
	points[1].Results = nil
	if err := bench.PlotSizes(&bytes.Buffer{}, "svg", "", points); err == nil {
		t.Error("PlotSizes of unlike points succeeded")
	}
}

func TestRateLimitWarning(t *testing.T) {
	tests := []struct {
		name          string
		limited, reqs int64
		warn          bool
	}{
		{"none", 0, 1000, false},
		{"1%", 10, 1000, false},
		{"over 1%", 11, 1000, true},
		{"99.9%", 999, 1000, true},
		{"no requests", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &bench.Result{Requests: tt.reqs, Errors: map[string]int64{"429": tt.limited}}
			w := bench.RateLimitWarning([]*bench.Result{r})
			if (w != "") != tt.warn || (tt.warn && !strings.Contains(w, "--ip-rate-limit 0 --ip-refresh-rate-limit 0")) {
				t.Errorf("warning %q, want one: %v", w, tt.warn)
			}
		})
	}
}

func TestServerLogLevel(t *testing.T) {
	tests := []struct {
		args, env []string
		want      string
	}{
		{nil, []string{"PATH=/bin"}, "info"},
		{[]string{"--log-level=warn"}, []string{}, "warn"},
		{[]string{"--log-level", "debug"}, []string{}, "debug"},
		{[]string{"-log-level=error", "--db=x"}, []string{}, "error"},
		{nil, []string{"AUTHSTORE_LOG_LEVEL=warn"}, "warn"},
		{[]string{"--log-level=debug"}, []string{"AUTHSTORE_LOG_LEVEL=warn"}, "debug"},
		{[]string{"--db", "log-level"}, []string{}, "info"},
	}
	for _, tt := range tests {
		if got := bench.ServerLogLevel(tt.args, tt.env); got != tt.want {
			t.Errorf("ServerLogLevel(%q, %q) = %q, want %q", tt.args, tt.env, got, tt.want)
		}
	}
}
