package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"sync"
)

// maxBatch bounds how many rotations one transaction commits.
const maxBatch = 64

// batcher is the group commit of RotateSession on a SQLite file. SQLite has
// one writer at a time and pays for each commit (WAL append, index update,
// locks), so under load rotations queue up anyway; the batcher runs every
// rotation waiting at that moment in one transaction and answers each only
// after the commit that holds it. A lone rotation is a batch of one and
// waits for nothing.
//
// Hand-written: database/sql has no group commit, and this is a loop of a
// few lines over its transactions.
type batcher struct {
	db   *DB
	reqs chan *rotation // bounded queue; senders wait (honouring ctx) when full
	quit chan struct{}
	done chan struct{}
	stop sync.Once
}

// rotation is one RotateSession waiting for its batch.
type rotation struct {
	ctx  context.Context
	args []any          // the rotateSession statement's arguments
	res  chan rotateRes // buffered: the batcher never blocks on it
}

type rotateRes struct {
	userID string
	amr    string // as stored
	err    error  // nil, sql.ErrNoRows (no such live session at that generation), or a failure
}

func newBatcher(db *DB) *batcher {
	b := &batcher{db: db, reqs: make(chan *rotation, 4*maxBatch), quit: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// close stops the batcher after the batch in progress; rotations still
// queued fail. Closing again does nothing.
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

// rotate queues one rotation and waits for its commit. When ctx ends first
// it returns ctx's error, and the rotation may still commit: the client
// then retries with its old token, which the grace window answers.
func (b *batcher) rotate(ctx context.Context, args []any) (userID, amr string, err error) {
	select {
	case <-b.quit: // closed: a send could still land in the buffer
		return "", "", sql.ErrConnDone
	default:
	}
	r := &rotation{ctx: ctx, args: args, res: make(chan rotateRes, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return "", "", ctx.Err()
	case <-b.quit:
		return "", "", sql.ErrConnDone
	}
	select {
	case res := <-r.res:
		return res.userID, res.amr, res.err
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
}

func (b *batcher) loop() {
	defer close(b.done)
	batch := make([]*rotation, 0, maxBatch)
	for {
		select {
		case r := <-b.reqs:
			batch = append(batch[:0], r)
		case <-b.quit:
			return
		}
		batch = b.fill(batch)
		// Under load (more than one waiting), let the requests already
		// running reach the queue once more before committing.
		if len(batch) > 1 && len(batch) < maxBatch {
			runtime.Gosched()
			batch = b.fill(batch)
		}
		b.run(batch)
		clear(batch)
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

// run commits batch in one transaction and answers each rotation. A
// failure of the transaction fails every rotation in it.
func (b *batcher) run(batch []*rotation) {
	ctx, cancel := b.db.call(context.Background())
	defer cancel()
	fail := func(err error) {
		if ctx.Err() != nil {
			err = unavailable("rotate session", err)
		}
		for _, r := range batch {
			r.res <- rotateRes{err: err}
		}
	}
	st, err := b.db.ws.get(ctx, b.db.q.rotateSession)
	if err != nil {
		fail(err)
		return
	}
	tx, err := b.db.write.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	txst := tx.StmtContext(ctx, st)
	res := make([]rotateRes, len(batch))
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			res[i].err = err // its caller is gone: do not rotate
			continue
		}
		err := txst.QueryRowContext(ctx, r.args...).Scan(&res[i].userID, &res[i].amr)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			tx.Rollback()
			fail(err)
			return
		}
		res[i].err = err
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	for i, r := range batch {
		r.res <- res[i]
	}
}
