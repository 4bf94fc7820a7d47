package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// maxBatch bounds how many rotations one commit holds.
const maxBatch = 64

// batcher is the group commit of RotateSession: it runs every rotation
// waiting at a moment as one batch, committed at once, and answers each only
// after the commit that holds it. A lone rotation is a batch of one and
// waits for nothing; under load, rotations queue while a batch commits and
// the next batch takes them all.
//
// On a SQLite file (see rotateSQLite) a batch is one transaction on the
// single writer, which pays for each commit (WAL append, index update,
// locks). On PostgreSQL (see pgRotations) it is one multi-row UPDATE, which
// pays the round trip, the statement's fixed cost and the WAL flush of its
// commit once for the whole batch.
//
// Hand-written: database/sql has no group commit, and this is a loop of a
// few lines over its statements and transactions.
type batcher struct {
	reqs chan *rotation // bounded queue; senders wait (honouring ctx) when full
	quit chan struct{}
	done chan struct{}
	stop sync.Once
	// run commits the rotations of batch (1 to maxBatch) that it takes (see
	// rotation.take) and answers each. It returns, in order, the rotations
	// it held back, not taken; they lead the next batch. Only the loop
	// calls it, so it may keep state between batches.
	run func(batch []*rotation) (later []*rotation)
}

// rotation is one RotateSession waiting for its batch.
type rotation struct {
	ctx context.Context
	id  string
	// from is the generation to rotate from; after, the cutoff that
	// rotated_at must exceed; at, the time to set: as stored.
	from, after, at int64
	// res gets at most one answer: the outcome of the statement that took
	// the rotation, ctx's error if a batch left it out, or
	// sql.ErrConnDone if the batcher closed first. Buffered: the batcher
	// never blocks on it.
	res chan rotateRes
	// state is queued until a batch takes the rotation into its statement
	// (taken) or its caller, whose ctx ended first, withdraws it
	// (withdrawn); at most one of the two happens, and a withdrawn
	// rotation never runs.
	state atomic.Int32
}

// The states of a rotation.
const (
	queued int32 = iota
	taken
	withdrawn
)

// take claims r for the statement of a batch, and reports whether it did.
// A rotation whose caller is gone is not taken: it is answered with ctx's
// error here unless its caller has withdrawn it already.
func (r *rotation) take() bool {
	if err := r.ctx.Err(); err != nil {
		if r.state.Load() == queued {
			r.res <- rotateRes{err: err}
		}
		return false
	}
	return r.state.CompareAndSwap(queued, taken)
}

type rotateRes struct {
	userID string
	amr    string // as stored
	err    error  // nil, sql.ErrNoRows (no such live session at that generation), or a failure
}

// newBatcher starts a batcher that commits each batch with run.
func newBatcher(run func(batch []*rotation) []*rotation) *batcher {
	b := &batcher{reqs: make(chan *rotation, 4*maxBatch), quit: make(chan struct{}), done: make(chan struct{}), run: run}
	go b.loop()
	return b
}

// close stops the batcher after the batch in progress and the rotations it
// held back; rotations still queued fail. Closing again does nothing.
func (b *batcher) close() {
	b.stop.Do(func() { close(b.quit) })
	<-b.done
	for {
		select {
		case r := <-b.reqs:
			r.res <- rotateRes{err: sql.ErrConnDone}
		default:
			return
		}
	}
}

// rotate queues one rotation and waits for its commit. When ctx ends first,
// a rotation that no batch has taken yet is withdrawn (it never runs) and
// rotate returns ctx's error; a rotation already in a running statement
// waits for that statement's end and returns its outcome, as a lone
// statement would: the statement is cancelled once none of its callers
// waits (see whileWaited), and may commit before that.
func (b *batcher) rotate(ctx context.Context, id string, from, after, at int64) (userID, amr string, err error) {
	select {
	case <-b.quit: // closed: a send could still land in the buffer
		return "", "", sql.ErrConnDone
	default:
	}
	r := &rotation{ctx: ctx, id: id, from: from, after: after, at: at, res: make(chan rotateRes, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return "", "", ctx.Err()
	case <-b.quit:
		return "", "", sql.ErrConnDone
	}
	var res rotateRes
	select {
	case res = <-r.res:
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, withdrawn) {
			return "", "", ctx.Err()
		}
		res = <-r.res
	}
	return res.userID, res.amr, res.err
}

func (b *batcher) loop() {
	defer close(b.done)
	batch := make([]*rotation, 0, maxBatch)
	for {
		if len(batch) == 0 {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			case <-b.quit:
				return
			}
		}
		batch = b.fill(batch)
		// Under load (more than one waiting), let the requests already
		// running reach the queue once more before committing.
		if len(batch) > 1 && len(batch) < maxBatch {
			runtime.Gosched()
			batch = b.fill(batch)
		}
		later := b.run(batch)
		n := copy(batch, later)
		clear(batch[n:])
		batch = batch[:n]
	}
}

// fill adds the rotations waiting now to batch, up to maxBatch.
func (b *batcher) fill(batch []*rotation) []*rotation {
	for len(batch) < maxBatch {
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// failAll answers every rotation of stmt with the failure err of its
// statement under ctx.
func failAll(ctx context.Context, stmt []*rotation, err error) {
	err = failure(ctx, err)
	for _, r := range stmt {
		r.res <- rotateRes{err: err}
	}
}

// failure is err, the failure of a statement under ctx, as its rotations
// get it: an outage if ctx, bounded by the call timeout, has expired.
func failure(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return unavailable("rotate session", err)
	}
	return err
}

// whileWaited returns ctx, also cancelled once the caller of every rotation
// in stmt has gone, so that a statement nobody waits for is cancelled (say,
// while it waits for a row lock), as a lone statement is when its caller's
// ctx ends. While one caller waits, the statement runs for all. stop
// releases it.
func whileWaited(ctx context.Context, stmt []*rotation) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var left atomic.Int32
	left.Store(int32(len(stmt)))
	gone := func() {
		if left.Add(-1) == 0 {
			cancel()
		}
	}
	stops := make([]func() bool, len(stmt))
	for i, r := range stmt {
		stops[i] = context.AfterFunc(r.ctx, gone)
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel()
	}
}

// rotateSQLite commits the rotations of batch it takes in one transaction
// on the SQLite writer, one rotateSession statement per rotation in order,
// so rotations of one session see each other as if they ran one after
// another; it holds none back. A failure of the transaction fails every
// rotation in it.
func (db *DB) rotateSQLite(batch []*rotation) []*rotation {
	stmt := make([]*rotation, 0, len(batch))
	for _, r := range batch {
		if r.take() {
			stmt = append(stmt, r)
		}
	}
	if len(stmt) == 0 {
		return nil
	}
	ctx, cancel := db.call(context.Background())
	defer cancel()
	ctx, stop := whileWaited(ctx, stmt)
	defer stop()
	st, err := db.ws.get(ctx, db.q.rotateSession)
	if err != nil {
		failAll(ctx, stmt, err)
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		failAll(ctx, stmt, err)
		return nil
	}
	// Only BEGIN can wait (for the write lock of another process, up to
	// the busy timeout), so only it and COMMIT watch ctx. The statements
	// run under a context that is never done: each is a few microseconds
	// of one index search, and modernc.org/sqlite starts a goroutine to
	// watch every statement whose context can end.
	rowCtx := context.WithoutCancel(ctx)
	txst := tx.StmtContext(rowCtx, st)
	res := make([]rotateRes, len(stmt))
	for i, r := range stmt {
		err := txst.QueryRowContext(rowCtx, r.at, r.at, r.id, r.from, r.after).Scan(&res[i].userID, &res[i].amr)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			tx.Rollback()
			failAll(ctx, stmt, err)
			return nil
		}
		res[i].err = err
	}
	if err := tx.Commit(); err != nil {
		failAll(ctx, stmt, err)
		return nil
	}
	for i, r := range stmt {
		r.res <- res[i]
	}
	return nil
}
