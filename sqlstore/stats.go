package sqlstore

import "database/sql"

// Stats returns the connection pool statistics: for SQLite the writer and
// the readers added together, for PostgreSQL its one pool.
func (db *DB) Stats() sql.DBStats {
	s := db.write.Stats()
	if db.read == db.write {
		return s
	}
	r := db.read.Stats()
	s.MaxOpenConnections += r.MaxOpenConnections
	s.OpenConnections += r.OpenConnections
	s.InUse += r.InUse
	s.Idle += r.Idle
	s.WaitCount += r.WaitCount
	s.WaitDuration += r.WaitDuration
	s.MaxIdleClosed += r.MaxIdleClosed
	s.MaxIdleTimeClosed += r.MaxIdleTimeClosed
	s.MaxLifetimeClosed += r.MaxLifetimeClosed
	return s
}
