package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmts caches the prepared statements of one pool, by query text, so that
// a hot query is parsed once per connection instead of at every call (for
// SQLite, parsing was a fifth of a refresh's CPU time). database/sql keeps
// each *sql.Stmt prepared on the connections it has run on and prepares it
// again on new ones, so the cache survives broken connections.
type stmts struct {
	pool *sql.DB
	m    sync.Map // query string -> *sql.Stmt
	mu   sync.Mutex
}

func newStmts(pool *sql.DB) *stmts { return &stmts{pool: pool} }

// get returns the prepared statement of query, preparing it on first use.
// A failed preparation (the database is down) is not cached.
func (s *stmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.m.Store(query, st)
	return st, nil
}

// close closes every cached statement.
func (s *stmts) close() error {
	var errs []error
	s.m.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(errs...)
}

// run runs a statement that changes data on the write pool.
func (db *DB) run(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := db.ws.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// query runs a query on the read pool.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.rs.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs a one-row query on the read pool, or on the write pool if
// write (for statements that change data and return a row).
func (db *DB) queryRow(ctx context.Context, write bool, query string, args ...any) *sql.Row {
	pool, cache := db.read, db.rs
	if write {
		pool, cache = db.write, db.ws
	}
	st, err := cache.get(ctx, query)
	if err != nil {
		// The pool reports the same failure through a Row.
		return pool.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
