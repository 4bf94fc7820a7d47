package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/authstore/auth/bench"
	"github.com/authstore/auth/internal/cmdline"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/sqlstore"
)

// loadTest times the hashing ceiling, starts a server unless cfg.URL names
// one, runs the scenario at each concurrency and writes the report to
// stdout, progress to stderr, and the plot if asked.
func loadTest(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	if cfg.SeedOnly {
		return seedOnly(ctx, cfg, stdout, stderr)
	}
	if len(cfg.seedSizes) > 0 {
		return dbSizeSweep(ctx, cfg, stdout, stderr)
	}
	ceiling, err := measureCeiling(ctx, cfg.HashTime, stderr)
	if err != nil {
		return err
	}
	if cfg.SeedUsers > 0 {
		if _, err := seedServerDB(ctx, cfg, stderr); err != nil {
			return err
		}
	}
	url := cfg.URL
	var local *bench.Local
	if url == "" {
		if local, err = startServer(ctx, cfg, stderr); err != nil {
			return err
		}
		defer func() {
			if cerr := local.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
		url = local.URL()
	}
	results, err := runAll(ctx, cfg, url, local, ceiling, stderr)
	if err != nil {
		return err
	}
	if err := writeReport(stdout, cfg, results); err != nil {
		return fmt.Errorf("bench: writing the report: %w", err)
	}
	if w := bench.RateLimitWarning(results); w != "" {
		fmt.Fprintln(stderr, w)
	}
	if cfg.Plot != "" {
		if err := writePlot(cfg, results); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "plot written to %s\n", cfg.Plot)
	}
	return nil
}

// measureCeiling times argon2id at the server's parameters for d on every
// CPU; d 0 skips it and returns nil.
func measureCeiling(ctx context.Context, d time.Duration, stderr io.Writer) (*bench.Ceiling, error) {
	if d <= 0 {
		return nil, nil
	}
	p := password.OWASP()
	fmt.Fprintf(stderr, "timing argon2id (m=%d,t=%d,p=%d) on %d CPUs for %v\n", p.Memory, p.Time, p.Threads, runtime.GOMAXPROCS(0), d)
	ceiling, err := bench.MeasureCeiling(ctx, p, d)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "hash ceiling: %.1f ms per hash, %.1f hashes/s\n", ceiling.HashMillis, ceiling.PerSecond)
	return ceiling, nil
}

// startServer starts `authstore serve` (cfg.ServerBin) with cfg.ServerArgs
// and a temporary database. The caller must close it.
func startServer(ctx context.Context, cfg config, stderr io.Writer) (*bench.Local, error) {
	bin, err := serverBinary(cfg.ServerBin)
	if err != nil {
		return nil, err
	}
	local, err := bench.StartLocal(ctx, bench.LocalOptions{Command: bin, ServerArgs: cfg.ServerArgs})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "server %s (pid %d) ready %.0f ms after start, idle RSS %.1f MiB, log level %s\n",
		local.URL(), local.PID(), float64(local.StartToReady())/float64(time.Millisecond), float64(local.IdleRSS())/(1<<20), local.LogLevel())
	return local, nil
}

// localPostgres reports whether the server args name a PostgreSQL
// database on this machine (--db postgres://… with a loopback host or a
// socket directory), whose processes bench then measures too.
func localPostgres(args []string) bool {
	dsn := serverDSN(args)
	if !sqlstore.IsPostgres(dsn) {
		return false
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if q := u.Query().Get("host"); q != "" {
		h = q // libpq's host parameter: a name, an address or a socket directory
	}
	switch {
	case h == "", h == "localhost", strings.HasPrefix(h, "/"):
		return true
	default:
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
}

// serverDSN returns the --db of the server args, the last one if several,
// or "" if there is none.
func serverDSN(args []string) string {
	var dsn string
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "--db="), strings.HasPrefix(a, "-db="):
			dsn = a[strings.IndexByte(a, '=')+1:]
		case (a == "--db" || a == "-db") && i+1 < len(args):
			dsn = args[i+1]
		}
	}
	return dsn
}

// serverBinary returns the authstore executable to start: bin when set,
// else authstore beside this executable, else authstore on PATH.
func serverBinary(bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	name := "authstore"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", cmdline.Usage("no authstore executable beside authstore-bench or on PATH to start the server: name it with --server-bin, or give --url")
}

// runAll runs the scenario once per concurrency of the sweep (once at
// cfg.Concurrency without one) against url; local, when not nil, is the
// server bench started, whose process is measured.
func runAll(ctx context.Context, cfg config, url string, local *bench.Local, ceiling *bench.Ceiling, stderr io.Writer) ([]*bench.Result, error) {
	concurrencies := cfg.sweep
	if len(concurrencies) == 0 {
		concurrencies = []int{cfg.Concurrency}
	}
	var results []*bench.Result
	for _, n := range concurrencies {
		res, err := runScenario(ctx, cfg, cfg.Scenario, n, url, local, ceiling, stderr)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}

// runScenario runs scenario once at concurrency n against url; local, when
// not nil, is the server bench started, whose process is measured.
func runScenario(ctx context.Context, cfg config, scenario string, n int, url string, local *bench.Local, ceiling *bench.Ceiling, stderr io.Writer) (*bench.Result, error) {
	rc := bench.Config{
		URL:            url,
		Scenario:       scenario,
		Concurrency:    n,
		Duration:       cfg.Duration,
		Warmup:         cfg.Warmup,
		Timeout:        cfg.Timeout,
		Probes:         cfg.Probes,
		FloodUnknown:   cfg.FloodLogins == "unknown",
		FloodIPs:       cfg.FloodIPs,
		FloodOneSubnet: cfg.FloodSubnet,
		NoFlood:        cfg.NoFlood,
		Progress:       stderr,
		Ceiling:        ceiling,
		SeededUsers:    cfg.SeedUsers,
	}
	if local != nil {
		rc.Server = local
		if localPostgres(cfg.ServerArgs) {
			rc.Database = bench.LocalPostgres{}
		}
	}
	shown := n
	if shown == 0 || scenario == bench.Timing {
		shown = bench.ScenarioConcurrency(scenario)
	}
	fmt.Fprintf(stderr, "scenario %s, concurrency %d: setting up, then %v warm-up and %v measured\n",
		scenario, shown, cfg.Warmup, cfg.Duration)
	res, err := bench.Run(ctx, rc)
	if err != nil {
		if local != nil {
			return nil, fmt.Errorf("%w\nserver log (end):\n%s", err, local.Logs())
		}
		return nil, err
	}
	if local != nil && res.Server != nil {
		s := local.Stats()
		res.Server.IdleRSSBytes, res.Server.StartToReadyMillis, res.Server.LogLevel = s.IdleRSSBytes, s.StartToReadyMillis, s.LogLevel
	}
	return res, nil
}

// writeReport writes the results to w: one JSON object with --json (the
// result, or the scenario and the sweep's results), else the table.
func writeReport(w io.Writer, cfg config, results []*bench.Result) error {
	if !cfg.JSON {
		return bench.WriteTable(w, results)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	var v any = results[0]
	if len(cfg.sweep) > 0 {
		v = struct {
			Scenario string          `json:"scenario"`
			Sweep    []*bench.Result `json:"sweep"`
		}{cfg.Scenario, results}
	}
	return enc.Encode(v)
}

// writePlot draws the sweep into cfg.Plot.
func writePlot(cfg config, results []*bench.Result) error {
	title := fmt.Sprintf("authstore %s, %d CPUs, %v per point", cfg.Scenario, runtime.NumCPU(), cfg.Duration)
	return createPlot(cfg.Plot, func(w io.Writer) error { return bench.Plot(w, cfg.plotFormat, title, results) })
}

// createPlot creates the file path and draws into it.
func createPlot(path string, draw func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("bench: %w", cerr)
		}
	}()
	return draw(f)
}
