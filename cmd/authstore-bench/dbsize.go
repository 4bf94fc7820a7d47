package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/authstore/auth/bench"
	"github.com/authstore/auth/sqlstore"
)

// seedServerDB seeds the database of the server args to --seed-users and
// --seed-sessions, and returns its size.
func seedServerDB(ctx context.Context, cfg config, stderr io.Writer) (dbSize, error) {
	bin, err := serverBinary(cfg.ServerBin)
	if err != nil {
		return dbSize{}, err
	}
	dsn := serverDSN(cfg.ServerArgs)
	size, err := seedDatabase(ctx, dsn, seedSize{Users: cfg.SeedUsers, Sessions: cfg.SeedSessions}, migrateWith(bin, dsn), stderr)
	if err != nil {
		return size, err
	}
	fmt.Fprintf(stderr, "database: %s\n", describeSize(size))
	return size, nil
}

// describeSize is one line about d.
func describeSize(d dbSize) string {
	s := fmt.Sprintf("%d users, %d sessions, %d bytes (%.1f MiB)", d.Users, d.Sessions, d.Bytes, float64(d.Bytes)/(1<<20))
	for _, name := range []string{"users", "sessions"} {
		if n, ok := d.Relations[name]; ok {
			s += fmt.Sprintf(", %s %d bytes", name, n)
		}
	}
	return s
}

// seedOnly seeds the server's database and prints its size: one JSON
// object with --json, else a line.
func seedOnly(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	size, err := seedServerDB(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if cfg.JSON {
		return json.NewEncoder(stdout).Encode(size)
	}
	_, err = fmt.Fprintln(stdout, describeSize(size))
	return err
}

// sizeResult is the outcome of the scenarios on one database size.
type sizeResult struct {
	Seed     seedSize        `json:"seed"`
	Database dbSize          `json:"database"`
	Results  []*bench.Result `json:"results"`
}

// dbSizeSweep seeds a database per --seed-sizes, starts a server on each
// in turn, runs every scenario of --scenario on it, and writes the report
// and the plot.
func dbSizeSweep(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	bin, err := serverBinary(cfg.ServerBin)
	if err != nil {
		return err
	}
	var sizes []sizeResult
	for _, sz := range cfg.seedSizes {
		dsn := strings.ReplaceAll(cfg.SeedDB, "{users}", strconv.Itoa(sz.Users))
		d, err := seedDatabase(ctx, dsn, sz, migrateWith(bin, dsn), stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "database: %s\n", describeSize(d))
		c := cfg
		c.SeedUsers = sz.Users
		c.ServerArgs = append(slices.Clone(cfg.ServerArgs), "--db="+dsn)
		results, err := runOnServer(ctx, c, stderr)
		if err != nil {
			return err
		}
		sizes = append(sizes, sizeResult{Seed: sz, Database: d, Results: results})
	}
	if err := writeSizeReport(stdout, cfg, sizes); err != nil {
		return fmt.Errorf("bench: writing the report: %w", err)
	}
	if cfg.Plot != "" {
		if err := writeSizePlot(cfg, sizes); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "plot written to %s\n", cfg.Plot)
	}
	return nil
}

// runOnServer starts a server with cfg.ServerArgs and runs each of
// cfg.scenarios on it once, at cfg.Concurrency. On a shared machine the
// CPU left to the server changes from run to run, so each hashing scenario
// (signin, signup) gets a hashing ceiling of its own, timed just before it.
func runOnServer(ctx context.Context, cfg config, stderr io.Writer) (results []*bench.Result, err error) {
	local, err := startServer(ctx, cfg, stderr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := local.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	for _, sc := range cfg.scenarios {
		var ceiling *bench.Ceiling
		if sc == bench.Signin || sc == bench.Signup {
			if ceiling, err = measureCeiling(ctx, cfg.HashTime, stderr); err != nil {
				return nil, err
			}
		}
		res, err := runScenario(ctx, cfg, sc, cfg.Concurrency, local.URL(), local, ceiling, stderr)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}

// writeSizeReport writes the sweep's results: one JSON object with --json,
// else a line about each database followed by its table.
func writeSizeReport(w io.Writer, cfg config, sizes []sizeResult) error {
	if cfg.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Scenarios []string     `json:"scenarios"`
			Sizes     []sizeResult `json:"sizes"`
		}{cfg.scenarios, sizes})
	}
	for _, s := range sizes {
		if _, err := fmt.Fprintf(w, "database: %s\n", describeSize(s.Database)); err != nil {
			return err
		}
		if err := bench.WriteTable(w, s.Results); err != nil {
			return err
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
	}
	return nil
}

// writeSizePlot draws throughput against database size into cfg.Plot.
func writeSizePlot(cfg config, sizes []sizeResult) error {
	var points []bench.SizePoint
	for _, s := range sizes {
		points = append(points, bench.SizePoint{Users: s.Database.Users, Sessions: s.Database.Sessions, Bytes: s.Database.Bytes, Results: s.Results})
	}
	db := "SQLite"
	if sqlstore.IsPostgres(cfg.SeedDB) {
		db = "PostgreSQL"
	}
	clients := cfg.Concurrency
	if clients == 0 {
		clients = bench.DefaultConcurrency
	}
	title := fmt.Sprintf("authstore on %s, %d CPUs, %d clients, %v per point", db, runtime.NumCPU(), clients, cfg.Duration)
	return createPlot(cfg.Plot, func(w io.Writer) error { return bench.PlotSizes(w, cfg.plotFormat, title, points) })
}
