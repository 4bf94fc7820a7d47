package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchCommandLineErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "nap"}, "--scenario"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--concurrency", "-1"}, "--concurrency"},
		{[]string{"--scenario", "timing", "--concurrency", "4"}, "--concurrency"},
		{[]string{"--scenario", "timing", "--sweep", "1,2"}, "--sweep"},
		{[]string{"--sweep", "1,x"}, "--sweep"},
		{[]string{"--sweep", "0"}, "--sweep"},
		{[]string{"--plot", "a.svg"}, "--plot"},
		{[]string{"--sweep", "1", "--plot", "a.gif"}, "--plot"},
		{[]string{"--url", "http://127.0.0.1:1", "--server-arg", "--db=x"}, "--server-arg"},
		{[]string{"--url", "127.0.0.1:1"}, "--url"},
		{[]string{"--flood-logins", "some"}, "--flood-logins"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"bench"}, tt.args...), func(string) string { return "" }, &stdout, &stderr)
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want a usage error naming %s", err, tt.want)
			}
		})
	}
}

// benchLocal runs `authstore bench args...` against a server it starts: the
// test binary, which TestMain turns into authstore.
func benchLocal(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	t.Setenv("AUTHSTORE_TEST_MAIN", "1")
	var out, errOut bytes.Buffer
	args = append([]string{"bench", "--warmup", "0s", "--duration", "300ms", "--hash-time", "50ms"}, args...)
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	return out.String(), errOut.String()
}

func TestBenchSweepJSONAndPlot(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "sweep.svg")
	stdout, stderr := benchLocal(t, "--scenario", "refresh", "--sweep", "1,2", "--json", "--plot", plot)
	var rep struct {
		Scenario string `json:"scenario"`
		Sweep    []struct {
			Concurrency  int            `json:"concurrency"`
			Requests     int64          `json:"requests"`
			Successes    int64          `json:"successes"`
			ChainsBroken int64          `json:"chains_broken"`
			Latency      map[string]any `json:"latency_ms"`
			Ceiling      map[string]any `json:"hash_ceiling"`
			Server       *struct {
				PeakRSS      int64   `json:"peak_rss_bytes"`
				IdleRSS      int64   `json:"idle_rss_bytes"`
				StartToReady float64 `json:"start_to_ready_ms"`
				CPUMsPerOp   float64 `json:"cpu_ms_per_op"`
			} `json:"server"`
		} `json:"sweep"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	if rep.Scenario != "refresh" || len(rep.Sweep) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for i, r := range rep.Sweep {
		if r.Concurrency != i+1 || r.Successes == 0 || r.ChainsBroken != 0 || r.Latency["p99"] == nil || r.Ceiling == nil {
			t.Errorf("run %d: %+v", i, r)
		}
		if s := r.Server; s == nil || s.PeakRSS <= 0 || s.IdleRSS <= 0 || s.StartToReady <= 0 {
			t.Errorf("run %d: server stats %+v", i, s)
		}
	}
	b, err := os.ReadFile(plot)
	if err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("plot: %v, %.60q", err, b)
	}
	for _, want := range []string{"hash ceiling", "ready", "scenario refresh, concurrency 2"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr has no %q:\n%s", want, stderr)
		}
	}
}

func TestBenchTable(t *testing.T) {
	// Long enough for signins to complete even under -race on a loaded
	// machine (a hash then takes about 200 ms); the ratio line needs one.
	stdout, _ := benchLocal(t, "--scenario", "signin", "--concurrency", "2", "--duration", "3s")
	for _, want := range []string{"scenario signin, concurrency 2", "p99 ms", "signin", "peak RSS", "log level info", "hash ceiling", "of the hashing ceiling"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table has no %q:\n%s", want, stdout)
		}
	}
}
