package sqlstore

import (
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// statements returns every statement of q by its field's name (a nested
// struct's fields as outer.inner).
func statements(q any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f, name := v.Field(i), prefix+v.Type().Field(i).Name
			switch f.Kind() {
			case reflect.String:
				out[name] = f.String()
			case reflect.Struct:
				walk(name+".", f)
			}
		}
	}
	walk("", reflect.ValueOf(q))
	return out
}

// planScans are the statements allowed to read a whole table, other than
// signing_keys (a handful of rows), with the reason.
var planScans = map[string]string{
	// No index on revoked_at or last_used_at: it would cost every refresh
	// an index update. DeleteSessions runs it on the read pool, never
	// holding SQLite's writer for it, once an hour.
	"deadSessions": "sessions",
}

var scanRE = regexp.MustCompile(`\bSCAN (\w+)`)

// Work per request must not grow with the database: every statement finds
// its rows by an index (SQLite's plan has SEARCH, not SCAN), except those
// of planScans. A new statement that scans users or sessions fails here
// rather than at a million users.
func TestPlans(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := statements(db.q)
	if len(stmts) < 50 {
		t.Fatalf("found %d statements, want every one of queries", len(stmts))
	}
	for name, q := range stmts {
		args := make([]any, strings.Count(q, "?"))
		rows, err := db.write.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var plan []string
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		for _, m := range scanRE.FindAllStringSubmatch(strings.Join(plan, "\n"), -1) {
			if table := m[1]; table != "CONSTANT" && table != "signing_keys" && planScans[name] != table {
				t.Errorf("%s reads the whole %s table:\n%s\n%s", name, table, q, strings.Join(plan, "\n"))
			}
		}
	}
}
