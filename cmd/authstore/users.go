package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/sqlstore"
	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver, for import --from-postgres
)

// adminCtx is what an admin command works with once its flags are parsed.
type adminCtx struct {
	*auth.Admin
	db  *sqlstore.DB
	log *slog.Logger // the command's log, to stderr, as --log-level and --log-format say
}

// adminFlags parses the flags every admin command shares, refuses a
// database authstore has not migrated (creating nothing), and opens it and
// an auth.Admin logging audit events to stderr. The caller must close a.db.
func adminFlags(ctx context.Context, name, help string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (*adminCtx, []string, error) {
	var (
		c  dbConfig
		lc logConfig
	)
	fs := flag.NewFlagSet("authstore "+name, flag.ContinueOnError)
	c.addFlags(fs)
	lc.addFlags(fs)
	if extra != nil {
		extra(fs)
	}
	flagArgs, pos := splitArgs(fs, args)
	if err := parseFlags(fs, flagArgs, getenv, stderr, help); err != nil {
		return nil, nil, err
	}
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	log, err := lc.logger(stderr)
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(ctx, c, openExisting, log)
	if err != nil {
		return nil, nil, err
	}
	a, err := auth.NewAdmin(auth.AdminConfig{Store: db, Logger: log})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return &adminCtx{Admin: a, db: db, log: log}, pos, nil
}

// splitArgs separates the flags of fs (with their values) from positional
// arguments, which may come before, between or after them; everything after
// "--" is positional.
func splitArgs(fs *flag.FlagSet, args []string) (flags, pos []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return flags, append(pos, args[i+1:]...)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if needsValue(fs, a) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	return flags, pos
}

// needsValue reports whether arg is a flag of fs given without "=value",
// so that the next argument is its value.
func needsValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// usersCmd runs `authstore users list|show|disable|enable|delete`.
func usersCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const help = "Usage:\n  authstore users list [--after CURSOR] [--limit N]\n  authstore users show|disable|enable ID-OR-LOGIN\n  authstore users delete [--yes] ID-OR-LOGIN\n\nlist shows users by creation time and ends a full page with the cursor of the\nnext. A disabled user cannot sign in or refresh; disabling revokes its sessions.\ndelete asks for confirmation on a terminal; elsewhere it needs --yes.\n\n"
	if len(args) == 0 {
		return usageError{Msg: "users needs an action: list, show, disable, enable or delete"}
	}
	action, args := args[0], args[1:]
	var (
		after string
		limit int
		yes   bool
	)
	extra := func(fs *flag.FlagSet) {
		switch action {
		case "list":
			fs.StringVar(&after, "after", "", "list the users created after this cursor, which the previous page printed")
			fs.IntVar(&limit, "limit", 100, "most users to list (1 to 10000)")
		case "delete":
			fs.BoolVar(&yes, "yes", false, "delete without asking (needed when standard input is not a terminal)")
		}
	}
	switch action {
	case "list", "show", "disable", "enable", "delete":
	case "--help", "-h", "help":
		fmt.Fprint(stderr, help)
		return flag.ErrHelp
	default:
		return usageError{Msg: fmt.Sprintf("unknown users action %q", action)}
	}
	a, pos, err := adminFlags(ctx, "users "+action, help, args, getenv, stderr, extra)
	if err != nil {
		return err
	}
	defer a.db.Close()

	if action == "list" {
		if len(pos) > 0 {
			return usageError{Msg: fmt.Sprintf("unexpected argument %q", pos[0])}
		}
		if limit < 1 || limit > 10000 {
			return badFlag("limit", "must be between 1 and 10000")
		}
		at, id, err := parseCursor(after)
		if err != nil {
			return err
		}
		// One more than the page tells whether there is a next page.
		list, err := a.db.UsersByCreation(ctx, at, id, limit+1)
		if err != nil {
			return err
		}
		more := len(list) > limit
		list = list[:min(len(list), limit)]
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLOGIN\tEMAIL\tCREATED\tDISABLED")
		for _, u := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", termSafe(u.ID), termSafe(u.Login), termSafe(u.Email), rfc3339(u.CreatedAt), rfc3339(u.DisabledAt))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if more {
			last := list[len(list)-1]
			fmt.Fprintf(stdout, "next page: authstore users list --after %s\n", formatCursor(last.CreatedAt, last.ID))
		}
		return nil
	}
	if len(pos) != 1 {
		return usageError{Msg: fmt.Sprintf("users %s needs one user ID or login", action)}
	}
	var u *auth.User
	switch action {
	case "show":
		u, err = a.User(ctx, pos[0])
	case "disable":
		u, err = a.DisableUser(ctx, pos[0])
	case "enable":
		u, err = a.EnableUser(ctx, pos[0])
	case "delete":
		if err = confirmDelete(ctx, a, pos[0], yes, stderr); err == nil {
			u, err = a.DeleteUser(ctx, pos[0])
		}
	}
	if errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("no user with ID or login %q", pos[0])
	}
	if err != nil {
		return err
	}
	if action == "delete" {
		fmt.Fprintf(stdout, "deleted user %s (%s)\n", termSafe(u.ID), termSafe(u.Login))
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"id", termSafe(u.ID)}, {"login", termSafe(u.Login)}, {"email", termSafe(u.Email)},
		{"first name", termSafe(u.FirstName)}, {"last name", termSafe(u.LastName)},
		{"created", rfc3339(u.CreatedAt)}, {"updated", rfc3339(u.UpdatedAt)}, {"disabled", rfc3339(u.DisabledAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

// formatCursor is the --after cursor of the user created at createdAt with
// id: the creation time in Unix milliseconds, a dot, the ID.
func formatCursor(createdAt time.Time, id string) string {
	return strconv.FormatInt(createdAt.UnixMilli(), 10) + "." + id
}

// parseCursor reads a cursor of formatCursor; "" is the start.
func parseCursor(s string) (time.Time, string, error) {
	if s == "" {
		return time.Time{}, "", nil
	}
	ms, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", badFlag("after", "%q is not a cursor printed by users list (MILLIS.ID)", s)
	}
	return time.UnixMilli(n), id, nil
}

// stdinKey is the context key of the terminal standard input, which main
// sets when standard input is a terminal.
type stdinKey struct{}

// withTerminal returns ctx carrying r as the terminal to ask questions on.
func withTerminal(ctx context.Context, r io.Reader) context.Context {
	return context.WithValue(ctx, stdinKey{}, r)
}

// confirmDelete asks on the terminal whether to delete the user, unless yes;
// without a terminal and without yes it refuses.
func confirmDelete(ctx context.Context, a *adminCtx, idOrLogin string, yes bool, stderr io.Writer) error {
	if yes {
		return nil
	}
	in, _ := ctx.Value(stdinKey{}).(io.Reader)
	if in == nil {
		return usageError{Msg: "users delete: standard input is not a terminal to confirm on; pass --yes to delete without asking"}
	}
	u, err := a.User(ctx, idOrLogin)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Delete user %s (%s, %s) and all its sessions? This cannot be undone. [y/N] ", u.ID, u.Login, u.Email)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not deleted")
}

// sessionsCmd runs `authstore sessions list USER | revoke SESSION-ID`.
func sessionsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const help = "Usage:\n  authstore sessions list ID-OR-LOGIN\n  authstore sessions revoke SESSION-ID\n\n"
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
		fmt.Fprint(stderr, help)
		return flag.ErrHelp
	}
	if len(args) == 0 || (args[0] != "list" && args[0] != "revoke") {
		return usageError{Msg: "sessions needs an action: list or revoke"}
	}
	action := args[0]
	a, pos, err := adminFlags(ctx, "sessions "+action, help, args[1:], getenv, stderr, nil)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if len(pos) != 1 {
		return usageError{Msg: fmt.Sprintf("sessions %s needs one argument", action)}
	}
	if action == "revoke" {
		if err := a.RevokeSession(ctx, pos[0]); errors.Is(err, auth.ErrNotFound) {
			return fmt.Errorf("no session %q", pos[0])
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked session %s\n", termSafe(pos[0]))
		return nil
	}
	u, list, err := a.Sessions(ctx, pos[0])
	if errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("no user with ID or login %q", pos[0])
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SESSION\tCREATED\tLAST USED\tREVOKED\tIP\tUSER AGENT\t(user %s)\n", termSafe(u.Login))
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", termSafe(s.ID), rfc3339(s.CreatedAt), rfc3339(s.LastUsedAt), rfc3339(s.RevokedAt), termSafe(s.IP), termSafe(s.UserAgent))
	}
	return tw.Flush()
}

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

// importCmd runs `authstore import FILE.jsonl` or `authstore import
// --from-postgres DSN`.
func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const help = `Usage:
  authstore import [flags] FILE.jsonl
  authstore import [flags] --from-postgres postgres://...   (the Fake Store API's "user" table)

Each JSON line is {"uuid","firstName","lastName","login","email","password"} with
password an argon2id PHC string or a bcrypt hash. Users keep their UUID and hash
(upgraded at their first signin). A user whose UUID exists is skipped, so an import
can be re-run; an invalid one is rejected with its reason.

`
	var from string
	a, pos, err := adminFlags(ctx, "import", help, args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from-postgres", "", "DSN of the original Fake Store API database to import from")
	})
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
	source = describeDSN(source)
	// Rows are imported without an audit line each (100,000 rows would bury
	// the log and the progress bar); one summary line is logged at the end.
	quiet, err := auth.NewAdmin(auth.AdminConfig{Store: a.db})
	if err != nil {
		return err
	}

	bar := newProgress(stderr, src.total())
	var (
		row     int
		counts  [3]int
		reasons = map[string]int{}
		first   = map[string]int{}
	)
	for {
		u, err := src.next()
		if err == io.EOF {
			break
		}
		row++
		if errors.Is(err, errBadRow) {
			counts[auth.Rejected]++
			reasons[err.Error()]++
			if first[err.Error()] == 0 {
				first[err.Error()] = row
			}
			bar.update(row, counts)
			continue
		}
		if err != nil {
			bar.done()
			return redactErr(fmt.Errorf("import stopped at row %d: %w", row, err), from)
		}
		outcome, reason, err := quiet.Import(ctx, u)
		if err != nil {
			bar.done()
			return fmt.Errorf("import stopped at row %d: %w", row, err)
		}
		counts[outcome]++
		if outcome == auth.Rejected {
			reasons[reason]++
			if first[reason] == 0 {
				first[reason] = row
			}
		}
		bar.update(row, counts)
	}
	bar.done()
	a.log.Info("audit", "event", "users_imported", "by", "admin", "source", source, "rows", row,
		"imported", counts[auth.Imported], "skipped", counts[auth.Skipped], "rejected", counts[auth.Rejected])
	fmt.Fprintf(stdout, "rows: %d, imported: %d, skipped (already there): %d, rejected: %d\n",
		row, counts[auth.Imported], counts[auth.Skipped], counts[auth.Rejected])
	keys := make([]string, 0, len(reasons))
	for r := range reasons {
		keys = append(keys, r)
	}
	sort.Slice(keys, func(i, j int) bool {
		if reasons[keys[i]] != reasons[keys[j]] {
			return reasons[keys[i]] > reasons[keys[j]]
		}
		return first[keys[i]] < first[keys[j]]
	})
	for _, r := range keys {
		fmt.Fprintf(stdout, "  rejected %d: %s (first at row %d)\n", reasons[r], termSafe(r), first[r])
	}
	if n := counts[auth.Rejected]; n > 0 {
		return rowsRejectedError{n}
	}
	return nil
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
