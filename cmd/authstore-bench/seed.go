package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/bench"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/sqlstore"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the SQLite driver the server uses
)

// Seeding fills a benchmark database with many users and sessions, written
// as the server writes them (sqlstore's columns and auth's keys), so that
// tables and indexes have their real sizes. The schema comes from the
// server's own migrations (`authstore migrate up`); the rows are inserted
// here, in big transactions (SQLite) or with COPY (PostgreSQL). Every
// seeded user has the password bench.SeedPassword and shares one argon2id
// hash of it at the server's parameters: one hash for the whole table, not
// one per user, which is what makes a million users a matter of minutes.
// TestSeedMirrorsStore signs in as a seeded user through the real store, so
// that these columns cannot drift from the schema silently.

// seedSize is a database to seed: at least Users seeded users, and at
// least Sessions rows in the sessions table, spread over the seeded users.
type seedSize struct {
	Users    int `json:"users"`
	Sessions int `json:"sessions"`
}

// dbSize is the size of a database after seeding.
type dbSize struct {
	// Users and Sessions count the rows of the two tables (seeded and not).
	Users    int64 `json:"users"`
	Sessions int64 `json:"sessions"`
	// Bytes is the whole database: for SQLite the file and its -wal, for
	// PostgreSQL pg_database_size.
	Bytes int64 `json:"bytes"`
	// Relations is, for PostgreSQL, pg_total_relation_size of the users
	// and sessions tables (indexes and TOAST included).
	Relations map[string]int64 `json:"relations,omitempty"`
}

// seedBatch is how many rows one SQLite transaction or one COPY inserts.
const seedBatch = 10000

// seeder seeds one database.
type seeder struct {
	dsn string
	// migrate creates the schema, or brings it up to date.
	migrate func(ctx context.Context) error
	log     io.Writer
	now     time.Time
	rng     *mrand.Rand
}

// migrateWith returns a migrate function that runs `bin migrate up --db dsn`.
func migrateWith(bin, dsn string) func(context.Context) error {
	return func(ctx context.Context) error {
		out, err := exec.CommandContext(ctx, bin, "migrate", "up", "--db", dsn).CombinedOutput()
		if err != nil {
			return fmt.Errorf("seed: %s migrate up: %w\n%s", bin, err, out)
		}
		return nil
	}
}

// seedDatabase brings the database at dsn to at least size.Users seeded
// users and size.Sessions sessions, and returns its size.
func seedDatabase(ctx context.Context, dsn string, size seedSize, migrate func(context.Context) error, log io.Writer) (dbSize, error) {
	s := &seeder{dsn: dsn, migrate: migrate, log: log, now: time.Now(), rng: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 1))}
	if sqlstore.IsPostgres(dsn) {
		if err := createPostgresDatabase(ctx, dsn); err != nil {
			return dbSize{}, err
		}
	}
	if err := s.migrate(ctx); err != nil {
		return dbSize{}, err
	}
	var w seedWriter
	if sqlstore.IsPostgres(dsn) {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return dbSize{}, fmt.Errorf("seed: %w", err)
		}
		defer conn.Close(context.Background())
		w = &pgSeedWriter{conn: conn}
	} else {
		db, err := sql.Open("sqlite", dsn+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
		if err != nil {
			return dbSize{}, fmt.Errorf("seed: %w", err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		w = &sqliteSeedWriter{db: db, path: dsn}
	}
	if err := s.seed(ctx, w, size); err != nil {
		return dbSize{}, err
	}
	return w.size(ctx)
}

// seedWriter inserts rows into one kind of database.
type seedWriter interface {
	// query runs a query of one row, with "?" placeholders.
	query(ctx context.Context, q string, args []any, dest ...any) error
	// queryIDs returns the first column of every row of q.
	queryIDs(ctx context.Context, q string, args ...any) ([]string, error)
	// insert inserts rows into table's columns, in one transaction.
	insert(ctx context.Context, table string, columns []string, rows [][]any) error
	// finish makes the inserted rows count: a checkpoint, statistics.
	finish(ctx context.Context) error
	size(ctx context.Context) (dbSize, error)
}

// The columns seeding writes; sqlstore's queries.go names the same.
var (
	seedUserColumns    = []string{"id", "first_name", "last_name", "login", "login_key", "login_skeleton", "email", "email_key", "password_hash", "created_at", "updated_at", "disabled_at", "email_verified_at"}
	seedSessionColumns = []string{"id", "user_id", "generation", "rotated_at", "created_at", "last_used_at", "revoked_at", "user_agent", "ip", "amr"}
)

// seedUserAgents are the user agents of seeded sessions.
var seedUserAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"okhttp/4.12.0",
}

// seedLoginRange bounds the login keys of seeded users (a seeded login is
// its own key: lower-case ASCII letters and digits).
var seedLoginRange = [2]string{bench.SeedLogin(0), bench.SeedLoginPrefix + strings.Repeat("9", bench.SeedLoginDigits)}

func (s *seeder) seed(ctx context.Context, w seedWriter, size seedSize) error {
	// The seeded users are numbered from 0 without gaps: the highest
	// seeded login tells how many there are.
	var last sql.NullString
	if err := w.query(ctx, `SELECT max(login_key) FROM users WHERE login_key BETWEEN ? AND ?`, []any{seedLoginRange[0], seedLoginRange[1]}, &last); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	have := 0
	if last.Valid {
		n, ok := bench.SeedIndex(last.String)
		if !ok {
			return fmt.Errorf("seed: unexpected seeded login %q", last.String)
		}
		have = n + 1
	}
	if have < size.Users {
		if err := s.seedUsers(ctx, w, have, size.Users); err != nil {
			return err
		}
	}
	if size.Sessions > 0 {
		var sessions int
		if err := w.query(ctx, `SELECT count(*) FROM sessions`, nil, &sessions); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if sessions < size.Sessions {
			if err := s.seedSessions(ctx, w, sessions, size.Sessions); err != nil {
				return err
			}
		}
	}
	return w.finish(ctx)
}

// seedUsers inserts the seeded users from number from up to (not
// including) to.
func (s *seeder) seedUsers(ctx context.Context, w seedWriter, from, to int) error {
	// One hash at the server's parameters (serve uses password.OWASP), so
	// that signing in as a seeded user never rehashes.
	hash, err := password.New(password.Options{Params: password.OWASP()}).Hash(ctx, bench.SeedPassword)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(s.log, "seeding users %d to %d\n", from, to-1)
	return s.insertRows(ctx, w, "users", seedUserColumns, from, to, func(i int) []any {
		login, email := bench.SeedLogin(i), bench.SeedEmail(i)
		// Creation times one second apart, ending now.
		created := s.now.Add(-time.Duration(to-i) * time.Second).UnixMilli()
		return []any{
			uuid.NewString(), "Seed", fmt.Sprintf("User %d", i),
			login, auth.Fold(login), auth.Skeleton(login),
			email, auth.Fold(email), hash,
			created, created, nil, created,
		}
	})
}

// seedSessions inserts sessions number from up to to, the k-th for the
// seeded user k modulo the number of seeded users: live ones used in the
// last week, one in ten revoked, all younger than the refresh lifetime so
// that no purge removes them.
func (s *seeder) seedSessions(ctx context.Context, w seedWriter, from, to int) error {
	ids, err := w.queryIDs(ctx, `SELECT id FROM users WHERE login_key BETWEEN ? AND ? ORDER BY login_key`, seedLoginRange[0], seedLoginRange[1])
	if err != nil {
		return fmt.Errorf("seed: sessions: %w", err)
	}
	if len(ids) == 0 {
		return errors.New("seed: sessions need seeded users (--seed-users)")
	}
	fmt.Fprintf(s.log, "seeding sessions %d to %d over %d users\n", from, to-1, len(ids))
	const day = 24 * time.Hour
	return s.insertRows(ctx, w, "sessions", seedSessionColumns, from, to, func(k int) []any {
		used := s.now.Add(-time.Duration(s.rng.Int64N(int64(7 * day)))).UnixMilli()
		created := used - s.rng.Int64N(int64(20*day/time.Millisecond))
		var revoked any
		if s.rng.IntN(10) == 0 {
			revoked = used
		}
		ip := fmt.Sprintf("%d.%d.%d.%d", 1+s.rng.IntN(223), s.rng.IntN(256), s.rng.IntN(256), 1+s.rng.IntN(254))
		return []any{
			uuid.NewString(), ids[k%len(ids)], int64(1 + s.rng.IntN(50)),
			used, created, used, revoked,
			seedUserAgents[s.rng.IntN(len(seedUserAgents))], ip, auth.AMRPassword,
		}
	})
}

// insertRows inserts row(i) for i from from up to to into table, seedBatch
// rows at a time, and logs its progress.
func (s *seeder) insertRows(ctx context.Context, w seedWriter, table string, columns []string, from, to int, row func(i int) []any) error {
	start := time.Now()
	rows := make([][]any, 0, seedBatch)
	for i := from; i < to; i++ {
		rows = append(rows, row(i))
		if len(rows) < seedBatch && i < to-1 {
			continue
		}
		if err := w.insert(ctx, table, columns, rows); err != nil {
			return fmt.Errorf("seed: %s: %w", table, err)
		}
		rows = rows[:0]
		if n := i + 1 - from; n%(20*seedBatch) == 0 || i == to-1 {
			fmt.Fprintf(s.log, "  %d %s in %.1fs\n", n, table, time.Since(start).Seconds())
		}
	}
	return nil
}

// sqliteSeedWriter seeds a SQLite file.
type sqliteSeedWriter struct {
	db   *sql.DB
	path string
}

func (w *sqliteSeedWriter) query(ctx context.Context, q string, args []any, dest ...any) error {
	return w.db.QueryRowContext(ctx, q, args...).Scan(dest...)
}

func (w *sqliteSeedWriter) queryIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	return queryStrings(ctx, w.db, q, args...)
}

// queryStrings returns the first column of every row of q on db.
func queryStrings(ctx context.Context, db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (w *sqliteSeedWriter) insert(ctx context.Context, table string, columns []string, rows [][]any) (err error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ")
	st, err := tx.PrepareContext(ctx, "INSERT INTO "+table+" ("+strings.Join(columns, ", ")+") VALUES ("+marks+")")
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// finish checkpoints the WAL into the file, so that the file's size is the
// database's. Statistics (ANALYZE) are left out: the server never gathers
// them either.
func (w *sqliteSeedWriter) finish(ctx context.Context) error {
	_, err := w.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

func (w *sqliteSeedWriter) size(ctx context.Context) (dbSize, error) {
	var d dbSize
	if err := w.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions)`).Scan(&d.Users, &d.Sessions); err != nil {
		return d, fmt.Errorf("seed: %w", err)
	}
	for _, p := range []string{w.path, w.path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			d.Bytes += fi.Size()
		}
	}
	return d, nil
}

// pgSeedWriter seeds a PostgreSQL database.
type pgSeedWriter struct {
	conn *pgx.Conn
}

// pgPlaceholders numbers the "?" placeholders of q ($1, $2, ...).
func pgPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (w *pgSeedWriter) query(ctx context.Context, q string, args []any, dest ...any) error {
	return w.conn.QueryRow(ctx, pgPlaceholders(q), args...).Scan(dest...)
}

func (w *pgSeedWriter) queryIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := w.conn.Query(ctx, pgPlaceholders(q), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (w *pgSeedWriter) insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	_, err := w.conn.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
	return err
}

// finish gathers the planner's statistics, as autovacuum would soon after
// a load this big.
func (w *pgSeedWriter) finish(ctx context.Context) error {
	_, err := w.conn.Exec(ctx, `ANALYZE users, sessions`)
	return err
}

func (w *pgSeedWriter) size(ctx context.Context) (dbSize, error) {
	d := dbSize{Relations: map[string]int64{}}
	var users, sessions int64
	err := w.conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions), pg_database_size(current_database()),
		pg_total_relation_size('users'), pg_total_relation_size('sessions')`).Scan(&d.Users, &d.Sessions, &d.Bytes, &users, &sessions)
	if err != nil {
		return d, fmt.Errorf("seed: %w", err)
	}
	d.Relations["users"], d.Relations["sessions"] = users, sessions
	return d, nil
}

// createPostgresDatabase creates the database dsn names if it does not
// exist, connecting to the postgres database of the same server.
func createPostgresDatabase(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" {
		return nil
	}
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	return nil
}
