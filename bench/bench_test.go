package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authstore/auth/bench"
)

// checkCounts fails the test unless the counts of r add up: per operation,
// statuses plus transport failures make the requests, and errors are the
// requests that did not succeed; the totals are the sums over non-probes.
func checkCounts(t *testing.T, r *bench.Result) {
	t.Helper()
	var req, ok, errs int64
	for _, o := range r.Operations {
		var answered, failed, transport int64
		for _, n := range o.Statuses {
			answered += n
		}
		for k, n := range o.Errors {
			failed += n
			if k == bench.ErrTransport || k == bench.ErrTimeout {
				transport += n
			}
		}
		if answered+transport != o.Requests {
			t.Errorf("%s: statuses %v plus transport failures %d != requests %d", o.Name, o.Statuses, transport, o.Requests)
		}
		if o.Successes+failed != o.Requests {
			t.Errorf("%s: successes %d + errors %v != requests %d", o.Name, o.Successes, o.Errors, o.Requests)
		}
		if o.Probe {
			continue
		}
		req, ok, errs = req+o.Requests, ok+o.Successes, errs+failed
	}
	var totalErrs int64
	for _, n := range r.Errors {
		totalErrs += n
	}
	if req != r.Requests || ok != r.Successes || errs != totalErrs {
		t.Errorf("totals requests %d, successes %d, errors %v; operations add up to %d, %d, %d", r.Requests, r.Successes, r.Errors, req, ok, errs)
	}
}

func opNames(r *bench.Result) []string {
	var names []string
	for _, o := range r.Operations {
		names = append(names, o.Name)
	}
	return names
}

func TestRunScenarios(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		scenario    string
		concurrency int
		unknown     bool     // FloodUnknown
		ops         []string // operations that must have succeeded
	}{
		{bench.Signup, 4, false, []string{"signup"}},
		{bench.Signin, 4, false, []string{"signin"}},
		{bench.Refresh, 4, false, []string{"refresh"}},
		{bench.Mixed, 4, false, []string{"refresh"}},
		{bench.Flood, 40, false, []string{"signin", "refresh", "healthz"}},
		{bench.Flood, 40, true, []string{"unknown_login", "refresh", "healthz"}},
		{bench.Timing, 0, false, []string{"unknown_login", "wrong_password", "correct_password"}},
	}
	for _, tt := range tests {
		name := tt.scenario
		if tt.unknown {
			name += " unknown logins"
		}
		t.Run(name, func(t *testing.T) {
			var progress bytes.Buffer
			res, err := bench.Run(context.Background(), bench.Config{
				URL:          srv.URL,
				Scenario:     tt.scenario,
				Concurrency:  tt.concurrency,
				Duration:     1200 * time.Millisecond,
				Warmup:       100 * time.Millisecond,
				Probes:       1,
				FloodUnknown: tt.unknown,
				Progress:     &progress,
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkCounts(t, res)
			for _, name := range tt.ops {
				i := slices.IndexFunc(res.Operations, func(o bench.OpResult) bool { return o.Name == name })
				if i < 0 {
					t.Fatalf("no %s operation in %v", name, opNames(res))
				}
				if o := res.Operations[i]; o.Successes == 0 || o.Latency.P50 <= 0 || o.Latency.P50 > o.Latency.P99 || o.Latency.P99 > o.Latency.Max {
					t.Errorf("%s: %d successes, latency %+v", name, o.Successes, o.Latency)
				}
			}
			if res.ChainsBroken != 0 || res.Errors["401"] != 0 {
				t.Errorf("refresh chains broken: %d, 401s: %d", res.ChainsBroken, res.Errors["401"])
			}
			if tt.scenario != bench.Flood && len(res.Errors) != 0 {
				t.Errorf("errors %v, want none", res.Errors)
			}
			if want := max(tt.concurrency, 1); res.Concurrency != want {
				t.Errorf("concurrency %d, want %d", res.Concurrency, want)
			}
			if (tt.scenario == bench.Timing) != (res.Timing != nil) {
				t.Errorf("timing result %+v for scenario %s", res.Timing, tt.scenario)
			}
			if !strings.Contains(progress.String(), "req/s") {
				t.Errorf("no progress line in %q", progress.String())
			}
		})
	}
}

// fakeProcess reports one more second of CPU at each call.
type fakeProcess struct{ calls atomic.Int64 }

func (p *fakeProcess) CPU() (time.Duration, error) {
	return time.Duration(p.calls.Add(1)) * time.Second, nil
}
func (p *fakeProcess) PeakRSS() (int64, error) { return 42 << 20, nil }
func (p *fakeProcess) ResetPeakRSS() error     { return nil }

func TestRunJSON(t *testing.T) {
	srv := newServer(t)
	ceiling := &bench.Ceiling{CPUs: 2, Params: "m=64,t=1,p=1", Hashes: 10, HashMillis: 1, PerSecond: 2000}
	res, err := bench.Run(context.Background(), bench.Config{
		URL: srv.URL, Scenario: bench.Signin, Concurrency: 2,
		Duration: 300 * time.Millisecond, Server: &fakeProcess{}, Ceiling: ceiling,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Server == nil || res.Server.CPUSeconds != 1 || res.Server.PeakRSSBytes != 42<<20 {
		t.Fatalf("server stats %+v, want 1 CPU second and 42 MiB", res.Server)
	}
	if want := 1000 / float64(res.Requests); res.Server.CPUMillisPerOp != want {
		t.Errorf("CPU ms per op %v, want %v", res.Server.CPUMillisPerOp, want)
	}
	if want := float64(res.Successes) / res.DurationSeconds / 2000; res.CeilingRatio != want {
		t.Errorf("ceiling ratio %v, want %v", res.CeilingRatio, want)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenario", "concurrency", "duration_s", "requests", "successes", "errors", "ok_per_sec", "errors_per_sec", "latency_ms", "operations", "hash_ceiling", "ceiling_ratio", "server"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON has no %q: %s", k, b)
		}
	}
	lat, _ := m["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_ms has no %q: %s", k, b)
		}
	}
	srvStats, _ := m["server"].(map[string]any)
	for _, k := range []string{"peak_rss_bytes", "cpu_seconds", "cpu_ms_per_op"} {
		if _, ok := srvStats[k]; !ok {
			t.Errorf("server has no %q: %s", k, b)
		}
	}
}

// A stuck request counts as a timeout, not a hang.
func TestRunTimeout(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	res, err := bench.Run(context.Background(), bench.Config{
		URL: srv.URL, Scenario: bench.Signup, Concurrency: 2,
		Duration: 300 * time.Millisecond, Timeout: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res)
	if res.Requests == 0 || res.Errors[bench.ErrTimeout] != res.Requests {
		t.Errorf("%d requests, errors %v; want only timeouts", res.Requests, res.Errors)
	}
}

// Answers other than the expected one are counted by status.
func TestRunCountsErrorStatuses(t *testing.T) {
	srv := newServer(t)
	res, err := bench.Run(context.Background(), bench.Config{
		URL: srv.URL + "/nothing", Scenario: bench.Signup, Concurrency: 2,
		Duration: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res)
	if res.Successes != 0 || res.Errors["404"] != res.Requests || res.Requests == 0 {
		t.Errorf("against a wrong path: %d requests, %d successes, errors %v; want only 404s", res.Requests, res.Successes, res.Errors)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  bench.Config
	}{
		{"no URL", bench.Config{Scenario: bench.Signin, Duration: time.Second}},
		{"unknown scenario", bench.Config{URL: "http://127.0.0.1:1", Scenario: "nap", Duration: time.Second}},
		{"no duration", bench.Config{URL: "http://127.0.0.1:1", Scenario: bench.Signin}},
		{"negative concurrency", bench.Config{URL: "http://127.0.0.1:1", Scenario: bench.Signin, Duration: time.Second, Concurrency: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := bench.Run(context.Background(), tt.cfg); err == nil {
				t.Error("Run succeeded")
			}
		})
	}
}

// Setting up against a server that refuses connections fails, after its
// retries, instead of measuring nothing.
func TestRunSetupFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	srv := newServer(t)
	url := srv.URL
	srv.Close()
	if _, err := bench.Run(ctx, bench.Config{URL: url, Scenario: bench.Refresh, Concurrency: 1, Duration: time.Second}); err == nil {
		t.Error("Run succeeded against a closed server")
	}
}

func TestMeasureCeiling(t *testing.T) {
	c, err := bench.MeasureCeiling(context.Background(), testParams(), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if c.CPUs < 1 || c.Hashes < c.CPUs || c.HashMillis <= 0 || c.PerSecond <= 0 || c.Params != "m=64,t=1,p=1" {
		t.Errorf("ceiling %+v", c)
	}
	if want := float64(c.CPUs) / (c.HashMillis / 1000); abs(c.PerSecond-want) > 1e-6*want {
		t.Errorf("per second %v, want CPUs / hash time = %v", c.PerSecond, want)
	}
}

func abs(x float64) float64 { return max(x, -x) }

func TestLocal(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	local, err := bench.StartLocal(context.Background(), bench.LocalOptions{
		Command:    os.Args[0],
		Env:        append(os.Environ(), serverEnv+"=1"),
		ServerArgs: []string{"--extra", "yes"},
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			local.Close()
		}
	})
	if !strings.HasPrefix(local.URL(), "http://127.0.0.1:") || local.StartToReady() <= 0 || local.IdleRSS() <= 0 {
		t.Errorf("url %q, start to ready %v, idle RSS %d", local.URL(), local.StartToReady(), local.IdleRSS())
	}
	res, err := bench.Run(context.Background(), bench.Config{
		URL: local.URL(), Scenario: bench.Refresh, Concurrency: 2,
		Duration: 300 * time.Millisecond, Server: local,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res)
	if res.Server == nil || res.Server.PeakRSSBytes <= 0 || res.Server.CPUSeconds < 0 {
		t.Errorf("server stats %+v, idle RSS %d", res.Server, local.IdleRSS())
	}
	closed = true
	if err := local.Close(); err != nil {
		t.Errorf("Close: %v\n%s", err, local.Logs())
	}
}

func TestStartLocalFails(t *testing.T) {
	// Without "--extra yes" the stand-in server refuses to start.
	_, err := bench.StartLocal(context.Background(), bench.LocalOptions{
		Command: os.Args[0],
		Env:     append(os.Environ(), serverEnv+"=1"),
	})
	if err == nil || !strings.Contains(err.Error(), "unexpected arguments") {
		t.Errorf("StartLocal error = %v, want one quoting the server's log", err)
	}
}

func TestParseProc(t *testing.T) {
	status := "Name:\tauthstore\nVmPeak:\t 1300 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   20480 kB\n"
	tests := []struct {
		field string
		want  int64
		ok    bool
	}{
		{"VmHWM", 50 << 20, true},
		{"VmRSS", 20 << 20, true},
		{"VmSwap", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			got, err := bench.ParseStatusBytes(status, tt.field)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("%s = %d, %v; want %d, ok %v", tt.field, got, err, tt.want, tt.ok)
			}
		})
	}

	// The command name may hold spaces and parentheses.
	stat := "4242 (auth (store) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0 100 0 0"
	cpu, err := bench.ParseStatCPU(stat)
	if err != nil || cpu != 3250*time.Millisecond {
		t.Errorf("CPU = %v, %v; want 3.25s", cpu, err)
	}
	if _, err := bench.ParseStatCPU("4242 (x) S 1"); err == nil {
		t.Error("short stat parsed")
	}
}

func TestRefreshTokenOf(t *testing.T) {
	tests := []struct {
		body, want string
		ok         bool
	}{
		{`{"access_token":"a.b.c","refresh_token":"rt_123"}`, "rt_123", true},
		{`{"refresh_token" : "spaced"}`, "spaced", true},
		{`{"refresh_token":"a\u0062c"}`, "abc", true},
		{`{"refresh_token":""}`, "", false},
		{`{"statusCode":401}`, "", false},
		{`not json`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got, err := bench.RefreshTokenOf([]byte(tt.body))
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("= %q, %v; want %q, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}

// The load generator's own HTTP/1.1 reading copes with chunked answers and
// with a server that closes the connection after some answers.
func TestRunReadsChunkedAndClosingAnswers(t *testing.T) {
	real := newServer(t)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Pass the request on, then answer in pieces.
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, real.URL+r.URL.Path, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		answer, _ := io.ReadAll(res.Body)
		if n.Add(1)%3 == 0 {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(res.StatusCode)
		half := len(answer) / 2
		w.Write(answer[:half])
		w.(http.Flusher).Flush() // no Content-Length: chunked
		w.Write(answer[half:])
	}))
	defer srv.Close()
	res, err := bench.Run(context.Background(), bench.Config{
		URL: srv.URL, Scenario: bench.Refresh, Concurrency: 2, Duration: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, res)
	if res.Successes == 0 || res.Successes != res.Requests {
		t.Errorf("%d requests, %d successes, errors %v; want only successes", res.Requests, res.Successes, res.Errors)
	}
	if n.Load() < 9 {
		t.Errorf("the server answered %d requests; want enough to close some connections", n.Load())
	}
}

// In the mixed scenario the ceiling ratio counts the requests that hash.
func TestRunMixedCeilingRatio(t *testing.T) {
	srv := newServer(t)
	ceiling := &bench.Ceiling{CPUs: 2, Params: "m=64,t=1,p=1", Hashes: 10, HashMillis: 1, PerSecond: 2000}
	res, err := bench.Run(context.Background(), bench.Config{
		URL: srv.URL, Scenario: bench.Mixed, Concurrency: 4, Duration: 500 * time.Millisecond, Ceiling: ceiling,
	})
	if err != nil {
		t.Fatal(err)
	}
	var hashed int64
	for _, o := range res.Operations {
		if o.Name == "signup" || o.Name == "signin" {
			hashed += o.Successes
		}
	}
	if hashed == 0 || hashed == res.Successes {
		t.Fatalf("%d of %d successes hashed; want some and not all", hashed, res.Successes)
	}
	if want := float64(hashed) / res.DurationSeconds / 2000; res.CeilingRatio != want {
		t.Errorf("ceiling ratio %v, want %v", res.CeilingRatio, want)
	}
}
