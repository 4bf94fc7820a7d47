// Package bench is the load generator behind authstore-bench: it drives an
// authstore server over HTTP with one of a few scenarios, records every
// answer's status and latency, and reports throughput, latency percentiles
// and, for a server on this machine, its memory and CPU time.
//
// Scenarios:
//
//   - signup: every request signs up a new user.
//   - signin: each virtual client signs up once, then signs in again and again;
//     with Config.SeededUsers, as a seeded user drawn at random each time.
//   - refresh: each virtual client signs up once, then keeps its own rotating
//     refresh chain, presenting the token of the previous answer each time.
//   - mixed: 1 signup : 5 signins : 100 refreshes, drawn at random per
//     request; a signin replaces the client's chain, as a real client's does.
//   - flood: Concurrency signins at once for the whole run (correct
//     passwords of a few known users, or with FloodUnknown a new unknown
//     login each), while probe clients time refreshes and /healthz at a
//     steady pace.
//   - timing: one client signs in with an unknown login, a known login with
//     a wrong password, and a correct password, in a random order each round,
//     to compare the three latencies.
//
// Latencies are kept in a Histogram (log-linear buckets, bounded memory).
// Answers are counted when they complete inside the measured window, which
// starts after the setup and the warm-up.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scenario names.
const (
	Signup  = "signup"
	Signin  = "signin"
	Refresh = "refresh"
	Mixed   = "mixed"
	Flood   = "flood"
	Timing  = "timing"
)

// Scenarios lists the scenario names Run accepts.
func Scenarios() []string {
	var names []string
	for _, sc := range scenarios() {
		names = append(names, sc.name)
	}
	return names
}

// Defaults of Config.
const (
	DefaultConcurrency      = 32
	DefaultFloodConcurrency = 2000
	DefaultTimeout          = 10 * time.Second
	DefaultProbes           = 2
	// RealUserInterval is the pause between two signins of one real user
	// of the flood scenario (see Config.FloodIPs).
	RealUserInterval = time.Second
	// ProbeInterval is the pause between two requests of one flood probe.
	ProbeInterval = 20 * time.Millisecond
	// FloodUsers is how many accounts the flood's signins share.
	FloodUsers = 16
	// TimingUsers is how many accounts the timing scenario's known-login
	// signins rotate through; a correct signin follows each wrong one of
	// the same account within a round or two, so the per-account failure
	// count never passes 2.
	TimingUsers = 8
	// MixedWeights: per 106 requests, 1 signup, 5 signins, 100 refreshes.
	mixedSignup, mixedSignin, mixedTotal = 1, 6, 106
)

// ScenarioConcurrency returns the concurrency of scenario when Config leaves
// it zero: DefaultFloodConcurrency for flood, 1 for timing, else
// DefaultConcurrency.
func ScenarioConcurrency(scenario string) int {
	for _, sc := range scenarios() {
		if sc.name == scenario {
			return sc.concurrency
		}
	}
	return DefaultConcurrency
}

// Process is the server process under load, when it runs on this machine.
type Process interface {
	// CPU returns the CPU time (user and system) the process has used.
	CPU() (time.Duration, error)
	// PeakRSS returns the highest resident set size the process has had
	// since it started or since ResetPeakRSS, in bytes.
	PeakRSS() (int64, error)
	// ResetPeakRSS makes the current RSS the peak, so that PeakRSS
	// measures from now on.
	ResetPeakRSS() error
}

// Config describes one run.
type Config struct {
	// URL is the server's base URL, such as http://127.0.0.1:8080.
	URL      string
	Scenario string
	// Concurrency is the number of virtual clients, each with at most one
	// request in flight; zero means ScenarioConcurrency(Scenario). Timing
	// runs one client whatever it says.
	Concurrency int
	// Duration is the measured window; it must be positive.
	Duration time.Duration
	// Warmup is how long the load runs, unrecorded, before the window.
	Warmup time.Duration
	// Timeout bounds each request, answer included; a request that takes
	// longer counts as ErrTimeout. Zero means DefaultTimeout.
	Timeout time.Duration
	// Probes is how many flood probe clients time refreshes, and as many
	// /healthz; zero means DefaultProbes.
	Probes int
	// FloodUnknown makes every flood signin use a new unknown login (a
	// credential-stuffing flood: each costs a hash and is answered 400 or
	// 503) instead of the correct password of one of FloodUsers accounts
	// (whose answers include the per-login throttle's 429s).
	FloodUnknown bool
	// FloodIPs, when positive, spreads the flood's signins over that many
	// client addresses, each in an IPv4 /24 of its own (10.x.y.1), sent as
	// X-Forwarded-For; the server must trust this machine as a proxy
	// (--trusted-proxies 127.0.0.1/32). The probes then also include
	// Probes real users, each from an address of its own (198.18.i.1),
	// signing in with their correct password every RealUserInterval: how
	// many of those succeed per second is what a flood leaves to real users.
	FloodIPs int
	// FloodOneSubnet puts the FloodIPs addresses in one /24 (203.0.113.x,
	// at most 254 of them) instead.
	FloodOneSubnet bool
	// NoFlood runs the flood scenario's probes (and real users) without
	// the flood itself: the baseline to compare a flood with.
	NoFlood bool
	// Progress, when not nil, receives one line per second while the load runs.
	Progress io.Writer
	// Rand supplies the run's user-name prefix and the seeds of the mixed
	// and timing scenarios' choices; nil means crypto/rand.
	Rand io.Reader
	// Server, when not nil, is measured: peak RSS and CPU per operation.
	Server Process
	// Database, when not nil, is the CPU time of the database's processes
	// on this machine (a local PostgreSQL), measured over the same window,
	// so that CPU per operation counts the whole system serving it.
	Database interface{ CPU() (time.Duration, error) }
	// Ceiling, when not nil, is the hashing ceiling signin and signup
	// throughput are compared to.
	Ceiling *Ceiling
	// SeededUsers, when positive, is how many seeded users the database
	// holds (SeedLogin(0) to SeedLogin(SeededUsers-1), password
	// SeedPassword): the signin scenario then signs in as one picked at
	// random for every request instead of as its own clients' users.
	SeededUsers int
}

// Latency summarises one set of latencies, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// OpResult is what one kind of request got in the measured window.
type OpResult struct {
	Name string `json:"name"`
	// Probe marks the flood's probes, which are not part of the totals.
	Probe     bool  `json:"probe,omitempty"`
	Requests  int64 `json:"requests"`
	Successes int64 `json:"successes"`
	// Statuses counts every HTTP answer by status code.
	Statuses map[string]int64 `json:"statuses"`
	// Errors counts every unsuccessful request by status code, or by
	// ErrTransport or ErrTimeout when no answer came.
	Errors map[string]int64 `json:"errors"`
	// PerSecond counts successful answers only; ErrorsPerSecond the rest.
	PerSecond       float64 `json:"ok_per_sec"`
	ErrorsPerSecond float64 `json:"errors_per_sec"`
	Latency         Latency `json:"latency_ms"`
}

// ServerStats measures a server on this machine.
type ServerStats struct {
	// PeakRSSBytes is the process's peak RSS in the window: its RSS when
	// the window opened or its highest after that.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// IdleRSSBytes is its RSS once ready, before any load; 0 if unknown.
	IdleRSSBytes int64 `json:"idle_rss_bytes,omitempty"`
	// StartToReadyMillis is the time from starting the process to its
	// first 200 from /readyz; 0 if unknown.
	StartToReadyMillis float64 `json:"start_to_ready_ms,omitempty"`
	// CPUSeconds is the CPU time the server used in the window.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUMillisPerOp is CPUSeconds per request answered in the window
	// (probes included).
	CPUMillisPerOp float64 `json:"cpu_ms_per_op"`
	// DatabaseCPUSeconds is the CPU time of the local database's processes
	// in the window, and DatabaseCPUMillisPerOp the same per request; both
	// 0 when the database is an embedded SQLite (counted in CPUSeconds) or
	// not on this machine.
	DatabaseCPUSeconds     float64 `json:"db_cpu_seconds,omitempty"`
	DatabaseCPUMillisPerOp float64 `json:"db_cpu_ms_per_op,omitempty"`
	// LoadCPUSeconds is the CPU time the load generator itself used in the
	// window, and LoadCPUMillisPerOp the same per request: on a machine
	// shared with the server, what the clients take from it.
	LoadCPUSeconds     float64 `json:"load_cpu_seconds,omitempty"`
	LoadCPUMillisPerOp float64 `json:"load_cpu_ms_per_op,omitempty"`
	// LogLevel is the log level of a server bench started; empty if unknown.
	LogLevel string `json:"log_level,omitempty"`
}

// TimingResult compares the three signins of the timing scenario, in
// milliseconds: each difference is of medians (P50) or of 90th percentiles.
type TimingResult struct {
	WrongMinusUnknownP50   float64 `json:"wrong_minus_unknown_p50_ms"`
	CorrectMinusUnknownP50 float64 `json:"correct_minus_unknown_p50_ms"`
	CorrectMinusWrongP50   float64 `json:"correct_minus_wrong_p50_ms"`
	WrongMinusUnknownP90   float64 `json:"wrong_minus_unknown_p90_ms"`
	CorrectMinusUnknownP90 float64 `json:"correct_minus_unknown_p90_ms"`
	CorrectMinusWrongP90   float64 `json:"correct_minus_wrong_p90_ms"`
}

// Result is the outcome of one run. The totals (Requests to Latency) cover
// every operation except probes.
type Result struct {
	Scenario        string           `json:"scenario"`
	URL             string           `json:"url"`
	Concurrency     int              `json:"concurrency"`
	DurationSeconds float64          `json:"duration_s"`
	Requests        int64            `json:"requests"`
	Successes       int64            `json:"successes"`
	Errors          map[string]int64 `json:"errors"`
	// PerSecond counts successful answers only (a 429 or a 503 is no
	// throughput); ErrorsPerSecond counts the rest.
	PerSecond       float64    `json:"ok_per_sec"`
	ErrorsPerSecond float64    `json:"errors_per_sec"`
	Latency         Latency    `json:"latency_ms"`
	Operations      []OpResult `json:"operations"`
	// ChainsBroken counts refresh chains that got a 401 and had to sign in
	// again; a correct server never breaks one.
	ChainsBroken int64    `json:"chains_broken"`
	Ceiling      *Ceiling `json:"hash_ceiling,omitempty"`
	// CeilingRatio is successes per second divided by Ceiling.PerSecond,
	// for the signin, signup and flood scenarios, whose every success
	// (a flood's 400 for an unknown login too) cost one hash. For mixed it
	// is the signups' and signins' successes per second over the ceiling:
	// with 6 hashes per 106 requests, hashing bounds the whole mix at
	// Ceiling.PerSecond × 106/6 requests per second.
	CeilingRatio float64       `json:"ceiling_ratio,omitempty"`
	Server       *ServerStats  `json:"server,omitempty"`
	Timing       *TimingResult `json:"timing,omitempty"`
}

// opStats accumulates one op's answers; safe for concurrent use.
type opStats struct {
	used     atomic.Bool
	hist     Histogram
	statuses [600]atomic.Int64
	failures [2]atomic.Int64 // transport, timeout
}

func (s *opStats) record(a answer) {
	s.used.Store(true)
	switch {
	case a.failure == ErrTimeout:
		s.failures[1].Add(1)
	case a.failure != "":
		s.failures[0].Add(1)
	case a.status >= 0 && a.status < len(s.statuses):
		s.statuses[a.status].Add(1)
	default:
		s.failures[0].Add(1)
	}
	s.hist.Record(a.latency)
}

// runner is the state of one Run.
type runner struct {
	cfg      Config
	prefix   string // distinguishes this run's users from earlier runs'
	password string
	seq      atomic.Int64

	start, measureStart, measureEnd time.Time

	ops          [numOps]opStats
	probe        [numOps]bool
	done, failed atomic.Int64
	chainsBroken atomic.Int64

	connsMu sync.Mutex
	conns   []*conn // of the clients newClient made, for closeConns
}

// scenario is one kind of load Run can drive: setup signs up the users it
// needs and returns its workers, each a virtual client that loads the
// server until the window ends.
type scenario struct {
	name string
	// concurrency is the number of virtual clients when Config leaves it
	// zero; for timing, always.
	concurrency int
	setup       func(ctx context.Context, r *runner, s *setupEnv) ([]func(context.Context), error)
}

// scenarios is the table of Run's scenarios.
func scenarios() []scenario {
	return []scenario{
		{Signup, DefaultConcurrency, setupSignup},
		{Signin, DefaultConcurrency, setupSignin},
		{Refresh, DefaultConcurrency, setupChains},
		{Mixed, DefaultConcurrency, setupChains},
		{Flood, DefaultFloodConcurrency, setupFlood},
		{Timing, 1, setupTiming},
	}
}

// setupEnv is what a scenario's setup works with.
type setupEnv struct {
	hc           *http.Client // shared by the load's clients
	seed1, seed2 uint64       // seeds of the random choices
	// closers are run by Run once the load is over.
	closers []func()
}

// newClient returns a virtual client of r's server: on a connection of its
// own for an http:// URL (closed when Run ends), else through hc.
func (r *runner) newClient(hc *http.Client) *client {
	c := &client{base: r.cfg.URL, http: hc, raw: newConn(r.cfg.URL, hc.Timeout)}
	if c.raw != nil {
		r.connsMu.Lock()
		r.conns = append(r.conns, c.raw)
		r.connsMu.Unlock()
	}
	return c
}

// closeConns closes the connections of every client newClient made. The
// clients must be done.
func (r *runner) closeConns() {
	r.connsMu.Lock()
	defer r.connsMu.Unlock()
	for _, c := range r.conns {
		c.close()
	}
	r.conns = nil
}

// Run drives cfg.URL with cfg.Scenario and returns what it measured. It
// fails if the configuration is invalid, if setting up the virtual clients
// fails (their signups must succeed, after retries while the server is
// busy), or if ctx ends.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	var seed [20]byte
	if _, err := io.ReadFull(cfg.Rand, seed[:]); err != nil {
		return nil, fmt.Errorf("bench: reading randomness: %w", err)
	}
	r := &runner{
		cfg:      cfg,
		prefix:   hex.EncodeToString(seed[:4]),
		password: "bench-" + hex.EncodeToString(seed[:4]) + "-Secret",
	}
	s := &setupEnv{
		hc:    newHTTPClient(cfg.Concurrency, cfg.Timeout),
		seed1: binary.LittleEndian.Uint64(seed[4:]),
		seed2: binary.LittleEndian.Uint64(seed[12:]),
	}
	s.closers = append(s.closers, s.hc.CloseIdleConnections, r.closeConns)
	defer func() {
		for _, c := range s.closers {
			c()
		}
	}()
	var workers []func(context.Context)
	for _, sc := range scenarios() {
		if sc.name == cfg.Scenario {
			var err error
			if workers, err = sc.setup(ctx, r, s); err != nil {
				return nil, err
			}
		}
	}
	use, err := r.load(ctx, workers)
	if err != nil {
		return nil, err
	}
	res := r.result()
	if cfg.Server != nil {
		var answered int64
		for _, o := range res.Operations {
			answered += o.Requests
		}
		res.Server = &ServerStats{PeakRSSBytes: use.peak, CPUSeconds: use.cpu.Seconds(), DatabaseCPUSeconds: use.dbCPU.Seconds(), LoadCPUSeconds: use.loadCPU.Seconds()}
		if answered > 0 {
			res.Server.CPUMillisPerOp = 1000 * res.Server.CPUSeconds / float64(answered)
			res.Server.DatabaseCPUMillisPerOp = 1000 * res.Server.DatabaseCPUSeconds / float64(answered)
			res.Server.LoadCPUMillisPerOp = 1000 * res.Server.LoadCPUSeconds / float64(answered)
		}
	}
	return res, nil
}

// serverUse is what the server used in the window.
type serverUse struct {
	cpu, dbCPU time.Duration
	loadCPU    time.Duration // this process's, the load generator's
	peak       int64
}

// load runs workers through the warm-up and the window, printing progress,
// and measures cfg.Server over the window when there is one.
func (r *runner) load(ctx context.Context, workers []func(context.Context)) (serverUse, error) {
	var (
		use        serverUse
		cpu0, cpu1 time.Duration
		db0, db1   time.Duration
		self0      time.Duration
		serverErr  error
		server     = r.cfg.Server
	)
	r.start = time.Now()
	r.measureStart = r.start.Add(r.cfg.Warmup)
	r.measureEnd = r.measureStart.Add(r.cfg.Duration)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w(ctx) })
	}
	stopProgress := r.progress(ctx)
	if sleepUntil(ctx, r.measureStart) && server != nil {
		self0 = selfCPU()
		serverErr = server.ResetPeakRSS()
		if serverErr == nil {
			cpu0, serverErr = server.CPU()
		}
		if serverErr == nil && r.cfg.Database != nil {
			db0, serverErr = r.cfg.Database.CPU()
		}
	}
	if sleepUntil(ctx, r.measureEnd) && server != nil && serverErr == nil {
		use.loadCPU = selfCPU() - self0
		cpu1, serverErr = server.CPU()
		if serverErr == nil && r.cfg.Database != nil {
			db1, serverErr = r.cfg.Database.CPU()
		}
		if serverErr == nil {
			use.peak, serverErr = server.PeakRSS()
		}
	}
	wg.Wait()
	stopProgress()
	if err := ctx.Err(); err != nil {
		return use, fmt.Errorf("bench: %w", err)
	}
	if serverErr != nil {
		return use, fmt.Errorf("bench: measuring the server: %w", serverErr)
	}
	use.cpu, use.dbCPU = cpu1-cpu0, db1-db0
	return use, nil
}

// setupSignup: every request of every client signs up a new user.
func setupSignup(_ context.Context, r *runner, s *setupEnv) ([]func(context.Context), error) {
	var workers []func(context.Context)
	for range r.cfg.Concurrency {
		c := r.newClient(s.hc)
		workers = append(workers, func(ctx context.Context) {
			for r.running(ctx) {
				r.record(opSignup, c.signup(ctx, r.newUser()))
			}
		})
	}
	return workers, nil
}

// setupSignin: each client signs up once, then signs in again and again;
// with SeededUsers, each signs in as a seeded user drawn at random instead.
func setupSignin(ctx context.Context, r *runner, s *setupEnv) ([]func(context.Context), error) {
	if n := r.cfg.SeededUsers; n > 0 {
		var workers []func(context.Context)
		for i := range r.cfg.Concurrency {
			c := r.newClient(s.hc)
			rng := mrand.New(mrand.NewPCG(s.seed1, s.seed2+uint64(i)))
			workers = append(workers, func(ctx context.Context) {
				for r.running(ctx) {
					r.record(opSignin, c.signin(ctx, SeedLogin(rng.IntN(n)), SeedPassword))
				}
			})
		}
		return workers, nil
	}
	users, err := r.setupUsers(ctx, s.hc, r.cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	var workers []func(context.Context)
	for _, u := range users {
		c := r.newClient(s.hc)
		workers = append(workers, func(ctx context.Context) {
			for r.running(ctx) {
				r.record(opSignin, c.signin(ctx, u.login, u.password))
			}
		})
	}
	return workers, nil
}

// setupChains: each client signs up once, then keeps its refresh chain;
// in the mixed scenario it also signs up and signs in now and then.
func setupChains(ctx context.Context, r *runner, s *setupEnv) ([]func(context.Context), error) {
	users, err := r.setupUsers(ctx, s.hc, r.cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	var workers []func(context.Context)
	for i, u := range users {
		c := r.newClient(s.hc)
		var rng *mrand.Rand
		if r.cfg.Scenario == Mixed {
			rng = mrand.New(mrand.NewPCG(s.seed1, s.seed2+uint64(i)))
		}
		workers = append(workers, func(ctx context.Context) { r.chain(ctx, c, u, rng) })
	}
	return workers, nil
}

// setupTiming: one client signs in with an unknown login, a wrong
// password and a correct one, in a random order each round.
func setupTiming(ctx context.Context, r *runner, s *setupEnv) ([]func(context.Context), error) {
	users, err := r.setupUsers(ctx, s.hc, TimingUsers)
	if err != nil {
		return nil, err
	}
	c := r.newClient(s.hc)
	rng := mrand.New(mrand.NewPCG(s.seed1, s.seed2))
	return []func(context.Context){func(ctx context.Context) { r.timing(ctx, c, users, rng) }}, nil
}

// setupFlood: Concurrency clients sign in at once (unless NoFlood), while
// probes time refreshes and /healthz and, with FloodIPs or NoFlood, real
// users sign in from addresses of their own.
func setupFlood(ctx context.Context, r *runner, s *setupEnv) ([]func(context.Context), error) {
	cfg := r.cfg
	users, err := r.setupUsers(ctx, s.hc, FloodUsers)
	if err != nil {
		return nil, err
	}
	var workers []func(context.Context)
	for i := range cfg.Concurrency {
		if cfg.NoFlood {
			break
		}
		c, u := r.newClient(s.hc), users[i%len(users)]
		if cfg.FloodIPs > 0 {
			c.forwardedFor = floodIP(i%cfg.FloodIPs, cfg.FloodOneSubnet)
		}
		workers = append(workers, func(ctx context.Context) {
			for r.running(ctx) {
				if cfg.FloodUnknown {
					r.record(opUnknownLogin, c.signin(ctx, r.unknownLogin(), u.password))
				} else {
					r.record(opSignin, c.signin(ctx, u.login, u.password))
				}
			}
		})
	}
	probes, err := r.probeWorkers(ctx, s)
	if err != nil {
		return nil, err
	}
	return append(workers, probes...), nil
}

// probeWorkers returns the flood's probes, on connections of their own:
// per probe user a refresh chain and a /healthz poller, and with FloodIPs
// or NoFlood a real user signing in every RealUserInterval.
func (r *runner) probeWorkers(ctx context.Context, s *setupEnv) ([]func(context.Context), error) {
	probeHC := newHTTPClient(2*r.cfg.Probes, r.cfg.Timeout)
	s.closers = append(s.closers, probeHC.CloseIdleConnections)
	probeUsers, err := r.setupUsers(ctx, probeHC, r.cfg.Probes)
	if err != nil {
		return nil, err
	}
	var workers []func(context.Context)
	r.probe[opRefresh], r.probe[opHealthz] = true, true
	if r.cfg.FloodIPs > 0 || r.cfg.NoFlood {
		r.probe[opRealSignin] = true
		for i, u := range probeUsers {
			c := r.newClient(probeHC)
			c.forwardedFor = fmt.Sprintf("198.18.%d.1", i%256)
			workers = append(workers, func(ctx context.Context) {
				for r.running(ctx) {
					r.record(opRealSignin, c.signin(ctx, u.login, u.password))
					pause(ctx, RealUserInterval)
				}
			})
		}
	}
	for _, u := range probeUsers {
		c, h := r.newClient(probeHC), r.newClient(probeHC)
		workers = append(workers,
			func(ctx context.Context) { r.refreshProbe(ctx, c, u) },
			func(ctx context.Context) {
				for r.running(ctx) {
					r.record(opHealthz, h.healthz(ctx))
					pause(ctx, ProbeInterval)
				}
			})
	}
	return workers, nil
}

// fill checks c and sets its defaults.
func (c *Config) fill() error {
	switch {
	case c.URL == "":
		return errors.New("bench: no server URL")
	case c.Duration <= 0:
		return errors.New("bench: the duration must be positive")
	case c.Warmup < 0:
		return errors.New("bench: the warm-up must not be negative")
	case c.Concurrency < 0:
		return errors.New("bench: the concurrency must not be negative")
	case c.Timeout < 0:
		return errors.New("bench: the timeout must not be negative")
	case c.Probes < 0:
		return errors.New("bench: the number of probes must not be negative")
	case c.SeededUsers < 0:
		return errors.New("bench: the number of seeded users must not be negative")
	case c.FloodIPs < 0 || (c.FloodOneSubnet && c.FloodIPs > 254):
		return errors.New("bench: FloodIPs must be 0..254 in one subnet, and not negative")
	}
	known := false
	for _, s := range Scenarios() {
		known = known || s == c.Scenario
	}
	if !known {
		return fmt.Errorf("bench: unknown scenario %q (want one of %s)", c.Scenario, strings.Join(Scenarios(), ", "))
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.Concurrency == 0 || c.Scenario == Timing {
		c.Concurrency = ScenarioConcurrency(c.Scenario)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Probes == 0 {
		c.Probes = DefaultProbes
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return nil
}

// running reports whether a client should start another request.
func (r *runner) running(ctx context.Context) bool {
	return ctx.Err() == nil && time.Now().Before(r.measureEnd)
}

// record counts a, and keeps it if it completed inside the window.
func (r *runner) record(o op, a answer) {
	r.done.Add(1)
	if a.status != expected[o] {
		r.failed.Add(1)
	}
	if now := time.Now(); !now.Before(r.measureStart) && now.Before(r.measureEnd) {
		r.ops[o].record(a)
	}
}

// newUser returns a user no earlier run has made (with high probability).
func (r *runner) newUser() user {
	return user{login: "b" + r.prefix + strconv.FormatInt(r.seq.Add(1), 10), password: r.password}
}

// unknownLogin returns a login no user holds and no earlier request used.
func (r *runner) unknownLogin() string {
	return "u" + r.prefix + strconv.FormatInt(r.seq.Add(1), 10)
}

// setupUsers signs up n new users, a few at a time, and returns them with
// their first refresh tokens. A busy or throttled signup is retried.
func (r *runner) setupUsers(ctx context.Context, hc *http.Client, n int) ([]userChain, error) {
	out := make([]userChain, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c := r.newClient(hc)
			defer c.close() // the load uses clients of its own
			u := r.newUser()
			rt, err := retryTokens(ctx, "signup", func() answer { return c.signup(ctx, u) })
			out[i], errs[i] = userChain{user: u, rt: rt}, err
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// userChain is a user with the current refresh token of one of its sessions.
type userChain struct {
	user
	rt string
}

// retryTokens sends a request until it is answered 200, and returns the
// answer's refresh token. A 429 or 503, or a transport failure, is retried
// for up to a minute; any other status fails at once.
func retryTokens(ctx context.Context, what string, send func() answer) (string, error) {
	deadline := time.Now().Add(time.Minute)
	wait := 50 * time.Millisecond
	for {
		a := send()
		switch {
		case a.status == http.StatusOK:
			return refreshTokenOf(a.body)
		case a.status != http.StatusTooManyRequests && a.status != http.StatusServiceUnavailable && a.failure == "":
			return "", fmt.Errorf("bench: setting up: %s answered %d", what, a.status)
		case time.Now().After(deadline):
			return "", fmt.Errorf("bench: setting up: %s still failing after a minute (last: %s)", what, a.describe())
		}
		if !pause(ctx, wait) {
			return "", fmt.Errorf("bench: setting up: %w", ctx.Err())
		}
		wait = min(2*wait, time.Second)
	}
}

func (a answer) describe() string {
	if a.failure != "" {
		return a.failure
	}
	return strconv.Itoa(a.status)
}

// chain is a refresh or mixed client: it keeps u's refresh chain, and in the
// mixed scenario (rng not nil) sometimes signs up a new user or signs in
// again, which replaces the chain.
func (r *runner) chain(ctx context.Context, c *client, u userChain, rng *mrand.Rand) {
	for r.running(ctx) {
		if rng != nil {
			switch x := rng.IntN(mixedTotal); {
			case x < mixedSignup:
				r.record(opSignup, c.signup(ctx, r.newUser()))
				continue
			case x < mixedSignin:
				a := c.signin(ctx, u.login, u.password)
				r.record(opSignin, a)
				if a.status == http.StatusOK {
					if rt, err := refreshTokenOf(a.body); err == nil {
						u.rt = rt
					}
				}
				continue
			}
		}
		u.rt = r.refreshOnce(ctx, c, u)
	}
}

// refreshOnce presents u's token and returns the chain's token after it.
// After a 401 the chain is broken: it is counted, and the client signs in
// again for a new one. After any other failure the same token is presented
// again, as a client retrying does; the grace window makes that safe.
func (r *runner) refreshOnce(ctx context.Context, c *client, u userChain) string {
	a := c.refresh(ctx, u.rt)
	r.record(opRefresh, a)
	switch a.status {
	case http.StatusOK:
		if rt, err := refreshTokenOf(a.body); err == nil {
			return rt
		}
	case http.StatusUnauthorized:
		r.chainsBroken.Add(1)
		rt, err := retryTokens(ctx, "signin", func() answer { return c.signin(ctx, u.login, u.password) })
		if err == nil {
			return rt
		}
	}
	return u.rt
}

// refreshProbe times one refresh chain at a steady pace.
func (r *runner) refreshProbe(ctx context.Context, c *client, u userChain) {
	for r.running(ctx) {
		u.rt = r.refreshOnce(ctx, c, u)
		pause(ctx, ProbeInterval)
	}
}

// timing sends the three kinds of signin in a random order each round,
// one at a time.
func (r *runner) timing(ctx context.Context, c *client, users []userChain, rng *mrand.Rand) {
	kinds := []op{opUnknownLogin, opWrongPassword, opCorrectPassword}
	for round := 0; r.running(ctx); round++ {
		u := users[round%len(users)]
		rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
		for _, k := range kinds {
			switch k {
			case opUnknownLogin:
				r.record(k, c.signin(ctx, r.unknownLogin(), u.password))
			case opWrongPassword:
				r.record(k, c.signin(ctx, u.login, u.password+"x"))
			case opCorrectPassword:
				r.record(k, c.signin(ctx, u.login, u.password))
			}
		}
	}
}

// progress prints one line a second to cfg.Progress until the returned
// function is called.
func (r *runner) progress(ctx context.Context) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				phase := "measure"
				switch {
				case now.Before(r.measureStart):
					phase = "warmup"
				case !now.Before(r.measureEnd):
					phase = "drain"
				}
				n := r.done.Load()
				fmt.Fprintf(r.cfg.Progress, "%6.1fs %-7s %10d requests %9.0f req/s %8d errors\n",
					now.Sub(r.start).Seconds(), phase, n, float64(n-last), r.failed.Load())
				last = n
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// sleepUntil waits until t; it reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	return pause(ctx, time.Until(t))
}

// pause waits for d; it reports false if ctx ended first.
func pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ms converts d to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func summarize(h *Histogram) Latency {
	return Latency{
		P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)), P99: ms(h.Quantile(0.99)),
		Max: ms(h.Max()), Mean: ms(h.Mean()),
	}
}

// result assembles the Result from the counters.
func (r *runner) result() *Result {
	secs := r.cfg.Duration.Seconds()
	res := &Result{
		Scenario:        r.cfg.Scenario,
		URL:             r.cfg.URL,
		Concurrency:     r.cfg.Concurrency,
		DurationSeconds: secs,
		Errors:          map[string]int64{},
		ChainsBroken:    r.chainsBroken.Load(),
		Ceiling:         r.cfg.Ceiling,
	}
	var total Histogram
	for o := range numOps {
		s := &r.ops[o]
		if !s.used.Load() {
			continue
		}
		or := OpResult{Name: opNames[o], Probe: r.probe[o], Statuses: map[string]int64{}, Errors: map[string]int64{}}
		for code := range s.statuses {
			n := s.statuses[code].Load()
			if n == 0 {
				continue
			}
			or.Statuses[strconv.Itoa(code)] = n
			or.Requests += n
			if code == expected[o] {
				or.Successes += n
			} else {
				or.Errors[strconv.Itoa(code)] += n
			}
		}
		for i, name := range []string{ErrTransport, ErrTimeout} {
			if n := s.failures[i].Load(); n > 0 {
				or.Errors[name] = n
				or.Requests += n
			}
		}
		or.PerSecond = float64(or.Successes) / secs
		or.ErrorsPerSecond = float64(or.Requests-or.Successes) / secs
		or.Latency = summarize(&s.hist)
		res.Operations = append(res.Operations, or)
		if or.Probe {
			continue
		}
		res.Requests += or.Requests
		res.Successes += or.Successes
		for k, n := range or.Errors {
			res.Errors[k] += n
		}
		total.Merge(&s.hist)
	}
	res.PerSecond = float64(res.Successes) / secs
	res.ErrorsPerSecond = float64(res.Requests-res.Successes) / secs
	res.Latency = summarize(&total)
	if r.cfg.Ceiling != nil && r.cfg.Ceiling.PerSecond > 0 {
		switch r.cfg.Scenario {
		case Signin, Signup, Flood:
			res.CeilingRatio = float64(res.Successes) / secs / r.cfg.Ceiling.PerSecond
		case Mixed:
			var hashed float64
			for _, or := range res.Operations {
				if or.Name == opNames[opSignup] || or.Name == opNames[opSignin] {
					hashed += float64(or.Successes)
				}
			}
			res.CeilingRatio = hashed / secs / r.cfg.Ceiling.PerSecond
		}
	}
	if r.cfg.Scenario == Timing {
		u, w, c := summarize(&r.ops[opUnknownLogin].hist), summarize(&r.ops[opWrongPassword].hist), summarize(&r.ops[opCorrectPassword].hist)
		res.Timing = &TimingResult{
			WrongMinusUnknownP50:   w.P50 - u.P50,
			CorrectMinusUnknownP50: c.P50 - u.P50,
			CorrectMinusWrongP50:   c.P50 - w.P50,
			WrongMinusUnknownP90:   w.P90 - u.P90,
			CorrectMinusUnknownP90: c.P90 - u.P90,
			CorrectMinusWrongP90:   c.P90 - w.P90,
		}
	}
	return res
}

// floodIP is the address of the flood's i-th client IP: 10.x.y.1, in a /24
// of its own, or 203.0.113.(i+1) when all share one /24.
func floodIP(i int, oneSubnet bool) string {
	if oneSubnet {
		return fmt.Sprintf("203.0.113.%d", i+1)
	}
	return fmt.Sprintf("10.%d.%d.1", (i>>8)&0xff, i&0xff)
}
