package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// pgRotations commits the batches of RotateSession on PostgreSQL: each batch
// is one multi-row compare-and-swap UPDATE (rotateSessionsQuery), one
// statement in its own implicit transaction, so one round trip and one WAL
// flush for the whole batch. Only the batcher's loop uses it.
//
// A multi-row UPDATE changes a row at most once, however many rows of its
// VALUES list match it, so two rotations of one session cannot share a
// statement: the first of each session id runs, and the others are held
// back to the next batch (in order), where they see the first one's
// commit exactly as they would have run one after another without
// batching (at the same generation, they get ErrStale).
type pgRotations struct {
	db *DB
	// queries[n] is rotateSessionsQuery(n), built on first use.
	queries [maxBatch + 1]string
	// Scratch space of one batch, kept between batches.
	stmt  []*rotation    // the rotations in the statement, one per session id
	later []*rotation    // the rotations held back
	index map[string]int // session id -> its position in stmt
	args  []any
	res   []rotateRes
}

func newPGRotations(db *DB) *pgRotations {
	return &pgRotations{db: db, index: make(map[string]int, maxBatch)}
}

// run is the batcher's run: it holds back the second and later rotations
// of a session id, and runs the rotations it takes as one statement. A
// failure of the statement fails every rotation in it.
func (p *pgRotations) run(batch []*rotation) []*rotation {
	p.stmt, p.later = p.stmt[:0], p.later[:0]
	clear(p.index)
	for _, r := range batch {
		if _, dup := p.index[r.id]; dup {
			p.later = append(p.later, r)
			continue
		}
		if r.take() {
			p.index[r.id] = len(p.stmt)
			p.stmt = append(p.stmt, r)
		}
	}
	if len(p.stmt) > 0 {
		p.commit()
	}
	clear(p.stmt)
	return p.later
}

// commit runs p.stmt as one statement and answers each of its rotations:
// its row returned is a success, no row is sql.ErrNoRows.
func (p *pgRotations) commit() {
	ctx, cancel := p.db.call(context.Background())
	defer cancel()
	ctx, stop := whileWaited(ctx, p.stmt)
	defer stop()
	p.args = p.args[:0]
	for _, r := range p.stmt {
		p.args = append(p.args, r.id, r.from, r.after, r.at)
	}
	p.resetResults()
	err := p.query(ctx, p.args)
	if postgresDeadlock(err) {
		// Chosen as a deadlock's victim, the statement changed nothing. A
		// lone rotation takes one row lock and cannot be in a deadlock; a
		// batch takes several, in an order of its own, and can be, with
		// another statement that locks several sessions (such as
		// revokeUserSessions). Its rotations are owed what they would
		// have got alone: each runs alone, one after another (running the
		// batch again could meet the same deadlock again).
		p.resetResults()
		for i := range p.stmt {
			if err := p.query(ctx, p.args[4*i:4*i+4]); err != nil {
				p.res[i] = rotateRes{err: failure(ctx, err)}
			}
		}
		err = nil
	}
	clear(p.args)
	if err != nil {
		failAll(ctx, p.stmt, err)
		return
	}
	for i, r := range p.stmt {
		r.res <- p.res[i]
		p.res[i] = rotateRes{}
	}
}

// resetResults sets the result of every rotation in p.stmt to no row.
func (p *pgRotations) resetResults() {
	p.res = p.res[:0]
	for range p.stmt {
		p.res = append(p.res, rotateRes{err: sql.ErrNoRows})
	}
}

// query runs the statement that rotates the sessions of args (four a
// rotation, as in p.args) and records each returned row in p.res. It
// returns once the statement's implicit transaction has committed, or with
// the error that kept it from committing.
func (p *pgRotations) query(ctx context.Context, args []any) error {
	n := len(args) / 4
	if p.queries[n] == "" {
		p.queries[n] = rotateSessionsQuery(n)
	}
	st, err := p.db.ws.get(ctx, p.queries[n])
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var id sql.RawBytes
	for rows.Next() {
		var r rotateRes
		if err := rows.Scan(&id, &r.userID, &r.amr); err != nil {
			return err
		}
		i, ok := p.index[string(id)]
		if !ok {
			return fmt.Errorf("rotated session %q that no rotation asked for", id)
		}
		p.res[i] = r
	}
	// rows.Err reports an error up to the end of the statement, its
	// commit included.
	return rows.Err()
}
