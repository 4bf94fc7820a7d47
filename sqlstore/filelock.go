package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// migrateLockWait bounds how long Migrate waits for another process's
// migration lock.
const migrateLockWait = 5 * time.Minute

// fileLocker is the goose session locker of a SQLite file: an exclusive
// flock(2) on a lock file beside the database, so that processes (and Opens
// within one process) migrating one file take turns. The kernel releases the
// lock when its holder exits, however it exits.
//
// The lock file is never removed: removing it while another process waits
// on it would let a third process lock a new file at the same path.
type fileLocker struct {
	path string
	// mu guards f, the open lock file while the lock is held.
	mu sync.Mutex
	f  *os.File
}

// SessionLock takes the lock, polling until it is free, ctx is done or
// migrateLockWait has passed. conn is not used.
func (l *fileLocker) SessionLock(ctx context.Context, _ *sql.Conn) error {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, migrateLockWait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := tryLockFile(f)
		if err != nil {
			return errors.Join(fmt.Errorf("migration lock: %w", err), f.Close())
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("migration lock %s: %w", l.path, ctx.Err()), f.Close())
		case <-tick.C:
		}
	}
	l.mu.Lock()
	l.f = f
	l.mu.Unlock()
	return nil
}

// SessionUnlock releases the lock taken by SessionLock.
func (l *fileLocker) SessionUnlock(context.Context, *sql.Conn) error {
	l.mu.Lock()
	f := l.f
	l.f = nil
	l.mu.Unlock()
	if f == nil {
		return errors.New("migration lock: not held")
	}
	// Closing the file releases the flock.
	if err := f.Close(); err != nil {
		return fmt.Errorf("migration unlock: %w", err)
	}
	return nil
}
