package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/authstore/auth/bench"
	"github.com/authstore/auth/internal/cmdline"
)

// server is the authstore executable the tests that start a server use,
// built once per test run into a directory TestMain removes (a test-only
// package variable, so that the build is shared).
var server struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if server.dir != "" {
		os.RemoveAll(server.dir)
	}
	os.Exit(code)
}

// serverBin returns the path of cmd/authstore built with the go command
// that runs the tests; it skips the test when there is no go command.
func serverBin(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goCmd); err != nil {
			t.Skip("no go command to build cmd/authstore with")
		}
	}
	server.once.Do(func() {
		if server.dir, server.err = os.MkdirTemp("", "authstore-bench-test-"); server.err != nil {
			return
		}
		server.path = filepath.Join(server.dir, "authstore")
		out, err := exec.Command(goCmd, "build", "-o", server.path, "github.com/authstore/auth/cmd/authstore").CombinedOutput()
		if err != nil {
			server.err = errors.New("go build ./cmd/authstore: " + err.Error() + "\n" + string(out))
		}
	})
	if server.err != nil {
		t.Fatal(server.err)
	}
	return server.path
}

func TestCommandLineErrors(t *testing.T) {
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
		{[]string{"--seed-users", "5"}, "--seed-users"}, // no --db
		{[]string{"--seed-sessions", "5", "--server-arg=--db=x.db"}, "--seed-sessions"},
		{[]string{"--seed-only"}, "--seed-only"},
		{[]string{"--seed-db", "x-{users}.db"}, "--seed-db"},
		{[]string{"--seed-sizes", "10", "--seed-db", "x.db"}, "--seed-db"},
		{[]string{"--seed-sizes", "10:x", "--seed-db", "x-{users}.db"}, "--seed-sizes"},
		{[]string{"--seed-sizes", "10", "--seed-db", "x-{users}.db", "--sweep", "1,2"}, "--seed-sizes"},
		{[]string{"--seed-sizes", "10", "--seed-db", "x-{users}.db", "--scenario", "refresh,nap"}, "--scenario"},
		{[]string{"--scenario", "refresh,signin"}, "--scenario"}, // a list only with --seed-sizes
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return "" }, &stdout, &stderr)
			var u cmdline.UsageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want a usage error naming %s", err, tt.want)
			}
		})
	}
}

// benchLocal runs `authstore-bench args...` against a server it starts:
// cmd/authstore, named by AUTHSTORE_SERVER_BIN.
func benchLocal(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	bin := serverBin(t)
	getenv := func(k string) string {
		if k == "AUTHSTORE_SERVER_BIN" {
			return bin
		}
		return ""
	}
	var out, errOut bytes.Buffer
	args = append([]string{"--warmup", "0s", "--duration", "300ms", "--hash-time", "50ms"}, args...)
	if err := run(context.Background(), args, getenv, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	return out.String(), errOut.String()
}

func TestBenchSeedSizesJSONAndPlot(t *testing.T) {
	dir := t.TempDir()
	plot := filepath.Join(dir, "dbsize.svg")
	stdout, _ := benchLocal(t, "--scenario", "refresh,signin", "--concurrency", "2", "--seed-sizes", "20,40:100",
		"--seed-db", filepath.Join(dir, "db-{users}.db"), "--json", "--plot", plot, "--server-arg=--log-level=warn")
	var rep struct {
		Scenarios []string `json:"scenarios"`
		Sizes     []struct {
			Seed     seedSize `json:"seed"`
			Database dbSize   `json:"database"`
			Results  []struct {
				Scenario  string `json:"scenario"`
				Requests  int64  `json:"requests"`
				Successes int64  `json:"successes"`
			} `json:"results"`
		} `json:"sizes"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	if len(rep.Sizes) != 2 || len(rep.Scenarios) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for i, want := range []seedSize{{20, 100}, {40, 100}} {
		s := rep.Sizes[i]
		// The scenarios add users and sessions of their own.
		if s.Seed != want || s.Database.Users < int64(want.Users) || s.Database.Sessions < int64(want.Sessions) || s.Database.Bytes <= 0 {
			t.Errorf("size %d: %+v, want seeded %+v", i, s, want)
		}
		for j, r := range s.Results {
			if r.Scenario != rep.Scenarios[j] || r.Successes == 0 || r.Successes != r.Requests {
				t.Errorf("size %d, %s: %d of %d succeeded", i, r.Scenario, r.Successes, r.Requests)
			}
		}
	}
	b, err := os.ReadFile(plot)
	if err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("plot: %v", err)
	}
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
	stdout, _ := benchLocal(t, "--server-bin", serverBin(t), "--scenario", "signin", "--concurrency", "2", "--duration", "3s")
	for _, want := range []string{"scenario signin, concurrency 2", "p99 ms", "signin", "peak RSS", "log level info", "hash ceiling", "of the hashing ceiling"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table has no %q:\n%s", want, stdout)
		}
	}
}

// Against a rate-limited server, bench counts only successes as
// throughput and warns how to turn the limits off.
func TestBenchAgainstRateLimitedServer(t *testing.T) {
	s, err := bench.StartLocal(context.Background(), bench.LocalOptions{
		Command:    serverBin(t),
		Env:        []string{},
		ServerArgs: []string{"--ip-refresh-rate-limit", "5"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"--url", s.URL(), "--scenario", "refresh", "--concurrency", "2",
		"--warmup", "0s", "--duration", "500ms", "--hash-time", "0", "--json"}, func(string) string { return "" }, &out, &errOut)
	stdout, stderr := out.String(), errOut.String()
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
	var rep struct {
		Requests  int64            `json:"requests"`
		Successes int64            `json:"successes"`
		Errors    map[string]int64 `json:"errors"`
		OK        float64          `json:"ok_per_sec"`
		Err       float64          `json:"errors_per_sec"`
		Duration  float64          `json:"duration_s"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if rep.Errors["429"] == 0 || rep.Successes >= rep.Requests {
		t.Fatalf("the run met no rate limit: %+v", rep)
	}
	if want := float64(rep.Successes) / rep.Duration; math.Abs(rep.OK-want) > 1e-9 {
		t.Errorf("ok_per_sec %v, want successes per second %v", rep.OK, want)
	}
	if want := float64(rep.Requests-rep.Successes) / rep.Duration; math.Abs(rep.Err-want) > 1e-9 {
		t.Errorf("errors_per_sec %v, want %v", rep.Err, want)
	}
	if !strings.Contains(stderr, "429 Too Many Requests") || !strings.Contains(stderr, "--ip-rate-limit 0 --ip-refresh-rate-limit 0") {
		t.Errorf("no rate-limit warning:\n%s", stderr)
	}
}

// Without --server-bin, bench looks for authstore beside itself and then
// on PATH, and says how to name it when neither has one.
func TestServerBinary(t *testing.T) {
	if got, err := serverBinary("/opt/authstore"); got != "/opt/authstore" || err != nil {
		t.Errorf("serverBinary(/opt/authstore) = %q, %v", got, err)
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "authstore")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if got, err := serverBinary(""); err != nil || filepath.Base(got) != "authstore" {
		t.Errorf("with authstore on PATH: %q, %v", got, err)
	}
	t.Setenv("PATH", t.TempDir())
	_, err := serverBinary("")
	var u cmdline.UsageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "--server-bin") {
		t.Errorf("with no authstore anywhere: %v, want a usage error naming --server-bin", err)
	}
	err = run(context.Background(), []string{"--server-bin", filepath.Join(dir, "missing"), "--hash-time", "0"}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "starting the server") {
		t.Errorf("--server-bin naming no file: %v", err)
	}
}
