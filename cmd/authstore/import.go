package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/authstore/auth"
	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver, for import --from-postgres
)

// importSource yields users to import; next returns io.EOF at the end. A
// row that cannot be read at all is returned as an error wrapping
// errBadRow and counted as rejected.
type importSource interface {
	total() int // -1 if unknown
	next() (auth.ImportUser, error)
	close() error
}

var errBadRow = errors.New("unreadable row")

// jsonlSource reads JSON Lines: one ImportUser object per line.
type jsonlSource struct {
	f     *os.File
	sc    *bufio.Scanner
	lines int
}

func openJSONL(path string) (*jsonlSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// Count lines first for the progress bar.
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	sc = bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &jsonlSource{f: f, sc: sc, lines: n}, nil
}

func (s *jsonlSource) total() int { return s.lines }
func (s *jsonlSource) close() error {
	return s.f.Close()
}
func (s *jsonlSource) next() (auth.ImportUser, error) {
	for s.sc.Scan() {
		line := bytes.TrimSpace(s.sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var u auth.ImportUser
		if err := json.Unmarshal(line, &u); err != nil {
			return u, fmt.Errorf("%w: not a JSON object with string fields", errBadRow)
		}
		return u, nil
	}
	if err := s.sc.Err(); err != nil {
		return auth.ImportUser{}, err
	}
	return auth.ImportUser{}, io.EOF
}

// pgSource reads the original Fake Store API's "user" table.
type pgSource struct {
	db   *sql.DB
	rows *sql.Rows
	n    int
}

func openFakeStore(ctx context.Context, dsn string) (*pgSource, error) {
	// Every error names the source by describeDSN and has the DSN's
	// secrets taken out: pgx's errors may quote the DSN.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, redactErr(fmt.Errorf("source database %s: %w", describeDSN(dsn), err), dsn)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "user"`).Scan(&n); err != nil {
		db.Close()
		return nil, redactErr(fmt.Errorf("source database %s: %w", describeDSN(dsn), err), dsn)
	}
	rows, err := db.QueryContext(ctx, `SELECT uuid::text, first_name, last_name, login, email, password FROM "user" ORDER BY uuid`)
	if err != nil {
		db.Close()
		return nil, redactErr(fmt.Errorf("source database %s: %w", describeDSN(dsn), err), dsn)
	}
	return &pgSource{db: db, rows: rows, n: n}, nil
}

func (s *pgSource) total() int { return s.n }
func (s *pgSource) close() error {
	return errors.Join(s.rows.Close(), s.db.Close())
}
func (s *pgSource) next() (auth.ImportUser, error) {
	if !s.rows.Next() {
		if err := s.rows.Err(); err != nil {
			return auth.ImportUser{}, err
		}
		return auth.ImportUser{}, io.EOF
	}
	var (
		u                                 auth.ImportUser
		first, last, login, email, passwd sql.NullString
	)
	if err := s.rows.Scan(&u.ID, &first, &last, &login, &email, &passwd); err != nil {
		return u, fmt.Errorf("%w: %v", errBadRow, err)
	}
	u.FirstName, u.LastName, u.Login, u.Email, u.PasswordHash = first.String, last.String, login.String, email.String, passwd.String
	return u, nil
}

// importUsers runs `authstore import FILE.jsonl` or `authstore import
// --from-postgres DSN`: every row is imported, skipped (its UUID exists) or
// rejected with a reason; the counts and the reasons are printed at the
// end, and rejected rows make it fail with rowsRejectedError.
func importUsers(ctx context.Context, e cmdEnv, c adminConfig, from string, pos []string) error {
	a, err := c.openAdmin(ctx, e.stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	var src importSource
	switch {
	case from != "" && len(pos) == 0:
		src, err = openFakeStore(ctx, from)
	case from == "" && len(pos) == 1:
		src, err = openJSONL(pos[0])
	default:
		return usageError{Msg: "import needs one JSON Lines file or --from-postgres DSN"}
	}
	if err != nil {
		return err
	}
	defer src.close()
	source := from
	if from == "" {
		source = pos[0]
	}
	// Rows are imported without an audit line each (100,000 rows would bury
	// the log and the progress bar); one summary line is logged at the end.
	quiet, err := auth.NewAdmin(auth.AdminConfig{Store: a.db})
	if err != nil {
		return err
	}
	t, err := importRows(ctx, quiet, src, newProgress(e.stderr, src.total()))
	if err != nil {
		return redactErr(err, from)
	}
	a.log.Info("audit", "event", "users_imported", "by", "admin", "source", describeDSN(source), "rows", t.rows,
		"imported", t.counts[auth.Imported], "skipped", t.counts[auth.Skipped], "rejected", t.counts[auth.Rejected])
	t.report(e.stdout)
	if n := t.counts[auth.Rejected]; n > 0 {
		return rowsRejectedError{n}
	}
	return nil
}

// importTally counts an import's rows by outcome, and its rejections by
// reason with the first row of each.
type importTally struct {
	rows    int
	counts  [3]int // by auth.ImportOutcome
	reasons map[string]int
	first   map[string]int
}

// reject counts the current row as rejected for reason.
func (t *importTally) reject(reason string) {
	t.counts[auth.Rejected]++
	t.reasons[reason]++
	if t.first[reason] == 0 {
		t.first[reason] = t.rows
	}
}

// importRows imports every row of src with a, drawing bar. An error that
// stops the import names its row.
func importRows(ctx context.Context, a *auth.Admin, src importSource, bar *progress) (*importTally, error) {
	t := &importTally{reasons: map[string]int{}, first: map[string]int{}}
	defer bar.done()
	for {
		u, err := src.next()
		if err == io.EOF {
			return t, nil
		}
		t.rows++
		if errors.Is(err, errBadRow) {
			t.reject(err.Error())
			bar.update(t.rows, t.counts)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("import stopped at row %d: %w", t.rows, err)
		}
		outcome, reason, err := a.Import(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("import stopped at row %d: %w", t.rows, err)
		}
		if outcome == auth.Rejected {
			t.reject(reason)
		} else {
			t.counts[outcome]++
		}
		bar.update(t.rows, t.counts)
	}
}

// report writes the counts to w, then the reasons for rejection, the most
// frequent first.
func (t *importTally) report(w io.Writer) {
	fmt.Fprintf(w, "rows: %d, imported: %d, skipped (already there): %d, rejected: %d\n",
		t.rows, t.counts[auth.Imported], t.counts[auth.Skipped], t.counts[auth.Rejected])
	keys := make([]string, 0, len(t.reasons))
	for r := range t.reasons {
		keys = append(keys, r)
	}
	sort.Slice(keys, func(i, j int) bool {
		if t.reasons[keys[i]] != t.reasons[keys[j]] {
			return t.reasons[keys[i]] > t.reasons[keys[j]]
		}
		return t.first[keys[i]] < t.first[keys[j]]
	})
	for _, r := range keys {
		fmt.Fprintf(w, "  rejected %d: %s (first at row %d)\n", t.reasons[r], termSafe(r), t.first[r])
	}
}

// rowsRejectedError ends an import that ran to its end but rejected rows;
// the process exits with status 3.
type rowsRejectedError struct{ n int }

func (e rowsRejectedError) Error() string {
	return fmt.Sprintf("import finished, but %d rows were rejected (reasons above)", e.n)
}

// progress draws a progress bar on a terminal and nothing otherwise. The
// bar redraws one line in place; done ends that line, and nothing else is
// written to the terminal between the first update and done.
type progress struct {
	w     io.Writer
	total int
	on    bool
	last  time.Time
}

func newProgress(w io.Writer, total int) *progress {
	on := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{w: w, total: total, on: on}
}

func (p *progress) update(row int, c [3]int) {
	if !p.on || (time.Since(p.last) < 100*time.Millisecond && row != p.total) {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := width
	if p.total > 0 {
		filled = min(width, row*width/p.total)
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d  imported %d  skipped %d  rejected %d ",
		strings.Repeat("#", filled), strings.Repeat(" ", width-filled), row, p.total, c[0], c[1], c[2])
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}
