package main

import (
	"flag"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authstore/auth/bench"
	"github.com/authstore/auth/internal/cmdline"
)

// config is everything authstore-bench can be told.
type config struct {
	URL         string
	ServerBin   string
	Scenario    string
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration
	Timeout     time.Duration
	Probes      int
	FloodLogins string
	FloodIPs    int
	FloodSubnet bool
	NoFlood     bool
	HashTime    time.Duration
	Sweep       string
	Plot        string
	JSON        bool
	ServerArgs  cmdline.StringList

	SeedUsers    int
	SeedSessions int
	SeedOnly     bool
	SeedSizes    string
	SeedDB       string

	sweep      []int
	plotFormat string
	// scenarios is --scenario split at commas, which only --seed-sizes allows.
	scenarios []string
	seedSizes []seedSize
}

// help is what --help prints before the flags.
const help = `Usage: authstore-bench [flags]

Drives an authstore server with a scenario and reports throughput, latency
percentiles and, for a server it starts itself, peak RSS and CPU time per
request. Without --url it starts ` + "`authstore serve`" + ` (--server-bin) as a child
process on 127.0.0.1 with a temporary SQLite database (per-IP rate limits off,
since all the load comes from one IP; logging at serve's default level, info,
unless --server-arg=--log-level=warn; --server-arg adds serve flags, e.g.
--server-arg=--db=/path/existing.db). Before the load it times argon2id
hashing at the server's parameters on every CPU, the ceiling that signin and
signup throughput are compared to.

Scenarios: signup, signin, refresh (each client keeps its own rotating chain),
mixed (1 signup : 5 signins : 100 refreshes), flood (--concurrency signins at
once, default 2000, while probes time refresh and /healthz), timing (unknown
login, wrong password and correct password, one at a time).

Progress goes to stderr; the report (a table, or one JSON object with --json)
to stdout. req/s counts successful answers only; errors are counted apart, and
more than 1% of 429s prints a warning (the server's rate limits bounded the run). Each flag can also be set by the environment variable shown.

Database size: --seed-users N and --seed-sessions M fill the server's database
(--server-arg=--db=FILE or postgres://…, created if missing) before the run
with at least N users and M sessions (spread over the seeded users), written
as the server writes them, after applying the server's migrations
(` + "`authstore migrate up`" + `); seeding is idempotent, so a later run with the same
flags reuses the rows. It is for benchmark databases only: every seeded user
has the login seed00000000, seed00000001, … and the same password and one
shared argon2id hash. The signin scenario then signs in as seeded users drawn
at random across the whole table. --seed-only seeds, prints the database's
size and exits. --seed-sizes 10000,100000,1000000 (USERS or USERS:SESSIONS,
sessions 5 per user by default) seeds one database per size, named by
--seed-db with {users} replaced (a file path or a postgres:// URL), starts a
server on each in turn and runs each scenario of --scenario (a comma-separated
list here, e.g. refresh,signin); --plot then draws throughput against the
number of users.

`

// declare defines the flags of authstore-bench on fs, bound to c.
func (c *config) declare(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "url", "", "base URL of a running server (default: start one, see above)")
	fs.StringVar(&c.ServerBin, "server-bin", "", "without --url: the authstore executable to start (default: authstore beside this executable, else on PATH)")
	fs.StringVar(&c.Scenario, "scenario", bench.Mixed, "one of "+strings.Join(bench.Scenarios(), ", "))
	fs.IntVar(&c.Concurrency, "concurrency", 0, "virtual clients, each with one request in flight (0: 2000 for flood, 1 for timing, else 32)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured time of each run")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "load before the measured time, not counted")
	fs.DurationVar(&c.Timeout, "timeout", bench.DefaultTimeout, "longest a request may take before it counts as a timeout")
	fs.IntVar(&c.Probes, "probes", bench.DefaultProbes, "flood: refresh probes, and as many /healthz probes")
	fs.StringVar(&c.FloodLogins, "flood-logins", "known", "flood: known (correct passwords of 16 accounts, so the per-login throttle answers too) or unknown (a new unknown login per signin)")
	fs.IntVar(&c.FloodIPs, "flood-ips", 0, "flood: spread the flood over this many client IPs, each in its own /24, sent as X-Forwarded-For (the server needs --trusted-proxies 127.0.0.1/32), and let --probes real users sign in once a second each from IPs of their own")
	fs.BoolVar(&c.FloodSubnet, "flood-one-subnet", false, "flood: put the --flood-ips addresses in one /24 (at most 254)")
	fs.BoolVar(&c.NoFlood, "no-flood", false, "flood: run only the probes and real users, the baseline for a flood")
	fs.DurationVar(&c.HashTime, "hash-time", 3*time.Second, "how long to time argon2id hashing for the ceiling (0: skip)")
	fs.StringVar(&c.Sweep, "sweep", "", "comma-separated concurrencies to run the scenario at in turn, e.g. 1,2,4,8,16,32")
	fs.StringVar(&c.Plot, "plot", "", "with --sweep: draw throughput and latency against concurrency into this .svg, .png or .pdf file")
	fs.BoolVar(&c.JSON, "json", false, "print one JSON object instead of the table")
	fs.Var(&c.ServerArgs, "server-arg", "a flag for the server this command starts (repeatable)")
	fs.IntVar(&c.SeedUsers, "seed-users", 0, "seed the server's --db with at least this many users (benchmark databases only: one shared password and hash) before the run; signin then signs in as them at random")
	fs.IntVar(&c.SeedSessions, "seed-sessions", 0, "seed the server's --db with at least this many sessions, spread over the seeded users")
	fs.BoolVar(&c.SeedOnly, "seed-only", false, "seed, print the database's size and exit without a load run")
	fs.StringVar(&c.SeedSizes, "seed-sizes", "", "comma-separated database sizes, USERS or USERS:SESSIONS (default 5 sessions per user), to seed and run the scenarios on in turn (needs --seed-db)")
	fs.StringVar(&c.SeedDB, "seed-db", "", "with --seed-sizes: the database of each size, {users} replaced by its number of users, e.g. /tmp/dbsize-{users}.db or postgres://…/dbsize_{users}")
}

// parseFlags reads the flags from args, with AUTHSTORE_* variables as
// defaults, and checks them.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("authstore-bench", flag.ContinueOnError)
	c.declare(fs)
	if err := cmdline.Parse(fs, args, getenv, stderr, help); err != nil {
		return c, err
	}
	return c, c.check()
}

// check refuses values bench could not run with, and parses the sweep.
func (c *config) check() error {
	badFlag := cmdline.BadFlag
	c.scenarios = []string{c.Scenario}
	if c.SeedSizes != "" {
		c.scenarios = strings.Split(c.Scenario, ",")
	}
	for i, sc := range c.scenarios {
		c.scenarios[i] = strings.TrimSpace(sc)
		if !slices.Contains(bench.Scenarios(), c.scenarios[i]) {
			return badFlag("scenario", "%q is not one of %s", sc, strings.Join(bench.Scenarios(), ", "))
		}
	}
	if err := c.checkSeed(); err != nil {
		return err
	}
	switch {
	case c.Concurrency < 0:
		return badFlag("concurrency", "must not be negative")
	case c.Scenario == bench.Timing && c.Concurrency > 1:
		return badFlag("concurrency", "the timing scenario runs one request at a time")
	case c.Duration <= 0:
		return badFlag("duration", "must be positive")
	case c.Warmup < 0:
		return badFlag("warmup", "must not be negative")
	case c.Timeout <= 0:
		return badFlag("timeout", "must be positive")
	case c.Probes < 1:
		return badFlag("probes", "must be at least 1")
	case c.FloodLogins != "known" && c.FloodLogins != "unknown":
		return badFlag("flood-logins", "%q is not known or unknown", c.FloodLogins)
	case c.FloodIPs < 0 || (c.FloodSubnet && c.FloodIPs > 254):
		return badFlag("flood-ips", "must be 0 or more, and at most 254 with --flood-one-subnet")
	case c.HashTime < 0:
		return badFlag("hash-time", "must not be negative")
	case c.URL != "" && len(c.ServerArgs) > 0:
		return badFlag("server-arg", "applies only to a server bench starts (no --url)")
	case c.URL != "" && !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://"):
		return badFlag("url", "%q is not an http:// or https:// URL", c.URL)
	}
	if c.Sweep != "" {
		if c.Scenario == bench.Timing {
			return badFlag("sweep", "the timing scenario runs one request at a time")
		}
		for s := range strings.SplitSeq(c.Sweep, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 1 {
				return badFlag("sweep", "%q is not a positive number", s)
			}
			c.sweep = append(c.sweep, n)
		}
	}
	if c.Plot != "" {
		if len(c.sweep) == 0 && len(c.seedSizes) == 0 {
			return badFlag("plot", "needs --sweep or --seed-sizes")
		}
		f, err := bench.PlotFormat(c.Plot)
		if err != nil {
			return badFlag("plot", "%q: want a .svg, .png or .pdf file", c.Plot)
		}
		c.plotFormat = f
	}
	return nil
}

// checkSeed checks the seeding flags and parses --seed-sizes.
func (c *config) checkSeed() error {
	badFlag := cmdline.BadFlag
	seeding := c.SeedUsers > 0 || c.SeedSessions > 0
	switch {
	case c.SeedUsers < 0:
		return badFlag("seed-users", "must not be negative")
	case c.SeedSessions < 0:
		return badFlag("seed-sessions", "must not be negative")
	case c.SeedSessions > 0 && c.SeedUsers == 0:
		return badFlag("seed-sessions", "needs --seed-users: sessions belong to seeded users")
	case c.SeedOnly && !seeding:
		return badFlag("seed-only", "needs --seed-users")
	case seeding && c.URL != "":
		return badFlag("seed-users", "seeds the database of a server bench starts (no --url)")
	case seeding && serverDSN(c.ServerArgs) == "":
		return badFlag("seed-users", "needs the server's database: --server-arg=--db=FILE or postgres://…")
	case c.SeedSizes == "" && c.SeedDB != "":
		return badFlag("seed-db", "applies only with --seed-sizes")
	case c.SeedSizes == "":
		return nil
	case seeding:
		return badFlag("seed-sizes", "replaces --seed-users and --seed-sessions")
	case c.Sweep != "":
		return badFlag("seed-sizes", "cannot be combined with --sweep")
	case c.URL != "":
		return badFlag("seed-sizes", "starts its own servers (no --url)")
	case !strings.Contains(c.SeedDB, "{users}"):
		return badFlag("seed-db", "must contain {users}, e.g. /tmp/dbsize-{users}.db")
	}
	for s := range strings.SplitSeq(c.SeedSizes, ",") {
		u, sess, hasSess := strings.Cut(strings.TrimSpace(s), ":")
		users, err := strconv.Atoi(u)
		if err != nil || users < 1 {
			return badFlag("seed-sizes", "%q is not USERS or USERS:SESSIONS", s)
		}
		size := seedSize{Users: users, Sessions: 5 * users}
		if hasSess {
			if size.Sessions, err = strconv.Atoi(sess); err != nil || size.Sessions < 0 {
				return badFlag("seed-sizes", "%q is not USERS or USERS:SESSIONS", s)
			}
		}
		c.seedSizes = append(c.seedSizes, size)
	}
	return nil
}
