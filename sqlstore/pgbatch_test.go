package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

// The tests here run batches through pgRotations.run directly, so that
// each batch holds exactly the rotations given; the tests in
// postgres_test.go go through RotateSession and the batcher.

// batchEpoch is when the test sessions were last rotated.
var batchEpoch = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// openBatchStore opens a migrated store on a new PostgreSQL database with
// opts, closed when t ends.
func openBatchStore(t *testing.T, dsn string, opts Options) *DB {
	t.Helper()
	opts.Migrate = true
	db, err := Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// seedSessions creates users users and n sessions spread over them, session
// i with an AMR of its own, and returns the sessions.
func seedSessions(t *testing.T, db *DB, users, n int) []*auth.Session {
	t.Helper()
	ctx := t.Context()
	for u := range users {
		err := db.CreateUser(ctx, &auth.User{
			ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", u), FirstName: "Ada", LastName: "Lovelace",
			Login: fmt.Sprintf("user%d", u), LoginKey: fmt.Sprintf("user%d", u), LoginSkeleton: fmt.Sprintf("user%d", u),
			Email: fmt.Sprintf("user%d@example.com", u), EmailKey: fmt.Sprintf("user%d@example.com", u),
			PasswordHash: "$argon2id$x", CreatedAt: batchEpoch, UpdatedAt: batchEpoch,
		})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
	}
	sessions := make([]*auth.Session, n)
	for i := range sessions {
		sessions[i] = &auth.Session{
			ID: fmt.Sprintf("10000000-0000-4000-8000-%012d", i), UserID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i%users),
			Generation: 1, RotatedAt: batchEpoch, CreatedAt: batchEpoch, LastUsedAt: batchEpoch,
			AMR: []string{auth.AMRPassword, fmt.Sprintf("x%d", i)},
		}
		if err := db.CreateSession(ctx, sessions[i]); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	return sessions
}

// newRotation is a rotation of session id from generation from, at a time
// after batchEpoch.
func newRotation(ctx context.Context, id string, from int64) *rotation {
	return &rotation{ctx: ctx, id: id, from: from, after: millis(batchEpoch.Add(-time.Hour)), at: millis(batchEpoch.Add(time.Minute)), res: make(chan rotateRes, 1)}
}

// runBatch runs rs as one batch on db's PostgreSQL batches, then what it
// held back as the next batches, as the batcher's loop does, and returns
// how many batches ran.
func runBatch(db *DB, rs ...*rotation) int {
	p := newPGRotations(db)
	n := 1
	for later := p.run(rs); len(later) > 0; n++ {
		later = p.run(append([]*rotation(nil), later...))
	}
	return n
}

// answer returns the answer of r, failing t if it has none.
func answer(t *testing.T, r *rotation) rotateRes {
	t.Helper()
	select {
	case res := <-r.res:
		return res
	default:
		t.Fatalf("rotation of %s at generation %d has no answer", r.id, r.from)
		return rotateRes{}
	}
}

// checkGeneration fails t unless session id is at generation want.
func checkGeneration(t *testing.T, db *DB, id string, want int64) {
	t.Helper()
	s, err := db.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session(%s): %v", id, err)
	}
	if s.Generation != want {
		t.Errorf("session %s at generation %d, want %d", id, s.Generation, want)
	}
}

func TestPostgresBatchDistinctSessions(t *testing.T) {
	t.Parallel()
	db := openBatchStore(t, pgtest.DSN(t), Options{})
	all := seedSessions(t, db, 5, maxBatch-1)
	sessions := all[1:]
	ctx := t.Context()
	var rs []*rotation
	for _, s := range sessions {
		rs = append(rs, newRotation(ctx, s.ID, 1))
	}
	wrongGen := newRotation(ctx, all[0].ID, 2)
	missing := newRotation(ctx, "20000000-0000-4000-8000-000000000000", 1)
	rs = append(rs, wrongGen, missing)
	if n := runBatch(db, rs...); n != 1 || len(rs) != maxBatch {
		t.Errorf("ran %d rotations in %d batches, want %d in 1", len(rs), n, maxBatch)
	}
	checkGeneration(t, db, all[0].ID, 1)
	for i, s := range sessions {
		res := answer(t, rs[i])
		if res.err != nil || res.userID != s.UserID || res.amr != joinAMR(s.AMR) {
			t.Errorf("rotation of session %d = %q, %q, %v; want %q, %q", i, res.userID, res.amr, res.err, s.UserID, joinAMR(s.AMR))
		}
		checkGeneration(t, db, s.ID, 2)
	}
	for _, r := range []*rotation{wrongGen, missing} {
		if res := answer(t, r); !errors.Is(res.err, sql.ErrNoRows) {
			t.Errorf("rotation of %s = %v, want sql.ErrNoRows", r.id, res.err)
		}
	}

	// The same rotations again are all stale.
	for i := range sessions {
		rs[i] = newRotation(ctx, sessions[i].ID, 1)
	}
	runBatch(db, rs[:len(sessions)]...)
	for i := range sessions {
		if res := answer(t, rs[i]); !errors.Is(res.err, sql.ErrNoRows) {
			t.Errorf("second rotation of session %d from generation 1 = %v, want sql.ErrNoRows", i, res.err)
		}
		checkGeneration(t, db, sessions[i].ID, 2)
	}
}

// Rotations of one session in one batch run one after another, as they
// would without batching: at the same generation the first wins and the
// others are stale; a chain of generations all succeed.
func TestPostgresBatchSameSession(t *testing.T) {
	t.Parallel()
	db := openBatchStore(t, pgtest.DSN(t), Options{})
	sessions := seedSessions(t, db, 1, 3)
	a, b, c := sessions[0].ID, sessions[1].ID, sessions[2].ID
	ctx := t.Context()

	rs := []*rotation{newRotation(ctx, a, 1), newRotation(ctx, b, 1), newRotation(ctx, a, 1), newRotation(ctx, a, 1)}
	if n := runBatch(db, rs...); n != 3 {
		t.Errorf("ran %d batches, want 3 (one per rotation of session a)", n)
	}
	for i, wantErr := range []error{nil, nil, sql.ErrNoRows, sql.ErrNoRows} {
		if res := answer(t, rs[i]); !errors.Is(res.err, wantErr) {
			t.Errorf("rotation %d = %v, want %v", i, res.err, wantErr)
		}
	}
	checkGeneration(t, db, a, 2)
	checkGeneration(t, db, b, 2)

	chain := []*rotation{newRotation(ctx, c, 1), newRotation(ctx, c, 2), newRotation(ctx, c, 3)}
	runBatch(db, chain...)
	for i, r := range chain {
		if res := answer(t, r); res.err != nil {
			t.Errorf("rotation of session c from generation %d: %v", i+1, res.err)
		}
	}
	checkGeneration(t, db, c, 4)
}

// A rotation whose caller is gone, or withdrew it, is not rotated; the
// others of its batch are.
func TestPostgresBatchGoneCaller(t *testing.T) {
	t.Parallel()
	db := openBatchStore(t, pgtest.DSN(t), Options{})
	sessions := seedSessions(t, db, 1, 3)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	gone := newRotation(cancelled, sessions[0].ID, 1)
	withdrawnRot := newRotation(cancelled, sessions[1].ID, 1)
	withdrawnRot.state.Store(withdrawn)
	live := newRotation(t.Context(), sessions[2].ID, 1)
	runBatch(db, gone, withdrawnRot, live)

	if res := answer(t, gone); !errors.Is(res.err, context.Canceled) {
		t.Errorf("rotation with a cancelled ctx = %v, want context.Canceled", res.err)
	}
	select {
	case res := <-withdrawnRot.res:
		t.Errorf("withdrawn rotation answered %+v", res)
	default:
	}
	if res := answer(t, live); res.err != nil {
		t.Errorf("rotation beside them: %v", res.err)
	}
	checkGeneration(t, db, sessions[0].ID, 1)
	checkGeneration(t, db, sessions[1].ID, 1)
	checkGeneration(t, db, sessions[2].ID, 2)
}

func TestPostgresBatchDisabledUser(t *testing.T) {
	t.Parallel()
	db := openBatchStore(t, pgtest.DSN(t), Options{})
	sessions := seedSessions(t, db, 2, 4) // sessions 0 and 2 of user 0, 1 and 3 of user 1
	if err := db.SetUserDisabled(t.Context(), sessions[0].UserID, batchEpoch, batchEpoch); err != nil {
		t.Fatalf("SetUserDisabled: %v", err)
	}
	var rs []*rotation
	for _, s := range sessions {
		rs = append(rs, newRotation(t.Context(), s.ID, 1))
	}
	runBatch(db, rs...)
	for i, s := range sessions {
		res := answer(t, rs[i])
		if s.UserID == sessions[0].UserID {
			if !errors.Is(res.err, sql.ErrNoRows) {
				t.Errorf("rotation of session %d of the disabled user = %v, want sql.ErrNoRows", i, res.err)
			}
			checkGeneration(t, db, s.ID, 1)
		} else {
			if res.err != nil {
				t.Errorf("rotation of session %d of the other user: %v", i, res.err)
			}
			checkGeneration(t, db, s.ID, 2)
		}
	}
}

// A statement that fails fails every rotation in it, and rotates none.
func TestPostgresBatchFailure(t *testing.T) {
	t.Parallel()
	db := openBatchStore(t, pgtest.DSN(t), Options{})
	sessions := seedSessions(t, db, 1, 3)
	var rs []*rotation
	for _, s := range sessions {
		rs = append(rs, newRotation(t.Context(), s.ID, 1))
	}
	rs = append(rs, newRotation(t.Context(), "nul\x00", 1)) // PostgreSQL text holds no NUL: the statement fails
	runBatch(db, rs...)
	for i, r := range rs {
		res := answer(t, r)
		if res.err == nil || errors.Is(res.err, sql.ErrNoRows) || auth.IsKind(res.err, auth.KindUnavailable) {
			t.Errorf("rotation %d of the failing batch = %v, want the statement's error", i, res.err)
		}
	}
	for _, s := range sessions {
		checkGeneration(t, db, s.ID, 1)
	}
}

// A batch that outlives the call timeout fails every rotation in it as an
// outage, and rotates none.
func TestPostgresBatchTimeout(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	db := openBatchStore(t, dsn, Options{Timeout: 500 * time.Millisecond})
	sessions := seedSessions(t, db, 1, 2)
	holder, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { holder.Close(context.Background()) })
	tx, err := holder.Begin(t.Context())
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(t.Context(), `SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE`, sessions[1].ID); err != nil {
		t.Fatalf("lock the session row: %v", err)
	}
	rs := []*rotation{newRotation(t.Context(), sessions[0].ID, 1), newRotation(t.Context(), sessions[1].ID, 1)}
	runBatch(db, rs...)
	for i, r := range rs {
		if res := answer(t, r); !auth.IsKind(res.err, auth.KindUnavailable) {
			t.Errorf("rotation %d of a batch past the timeout = %v, want KindUnavailable", i, res.err)
		}
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	for _, s := range sessions {
		checkGeneration(t, db, s.ID, 1)
	}
}

// The rotations of a batch chosen as a deadlock's victim run again, each
// alone.
func TestPostgresBatchDeadlock(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	db := openBatchStore(t, dsn, Options{})
	sessions := seedSessions(t, db, 1, 2)
	a, b := sessions[0].ID, sessions[1].ID
	ctx := t.Context()
	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { holder.Close(context.Background()) })
	monitor, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { monitor.Close(context.Background()) })
	// The holder detects no deadlock itself: the batch, waiting longer,
	// does and is the victim.
	if _, err := holder.Exec(ctx, `SET deadlock_timeout = '1min'`); err != nil {
		t.Fatalf("SET deadlock_timeout: %v", err)
	}
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE`, b); err != nil {
		t.Fatalf("lock session b: %v", err)
	}
	// The batch locks a, then waits for b.
	rs := []*rotation{newRotation(ctx, a, 1), newRotation(ctx, b, 1)}
	done := make(chan struct{})
	go func() { runBatch(db, rs...); close(done) }()
	for {
		var waiting bool
		err := monitor.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'authstore' AND wait_event_type = 'Lock')`).Scan(&waiting)
		if err != nil {
			t.Fatalf("pg_stat_activity: %v", err)
		}
		if waiting {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The holder waits for a: a deadlock, which aborts the batch; its
	// second run waits for the holder, which then gives both locks up.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE`, a); err != nil {
		t.Fatalf("lock session a: %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	<-done
	for i, r := range rs {
		if res := answer(t, r); res.err != nil {
			t.Errorf("rotation %d of the deadlocked batch: %v", i, res.err)
		}
	}
	checkGeneration(t, db, a, 2)
	checkGeneration(t, db, b, 2)
}

// The tests below go through RotateSession and the batcher, many callers at
// once.

func TestPostgresConcurrentRotations(t *testing.T) {
	t.Parallel()
	db := openBatchStore(t, pgtest.DSN(t), Options{})
	sessions := seedSessions(t, db, 10, 300)
	errs := make(chan error, len(sessions))
	for _, s := range sessions {
		go func() {
			userID, amr, err := db.RotateSession(t.Context(), s.ID, 1, batchEpoch.Add(-time.Hour), batchEpoch.Add(time.Minute))
			if err == nil && (userID != s.UserID || joinAMR(amr) != joinAMR(s.AMR)) {
				err = fmt.Errorf("session %s rotated for user %q with AMR %q, want %q, %q", s.ID, userID, amr, s.UserID, s.AMR)
			}
			errs <- err
		}()
	}
	for range sessions {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, s := range sessions {
		checkGeneration(t, db, s.ID, 2)
	}
}

func TestPostgresConcurrentRotationsOfOneSession(t *testing.T) {
	t.Parallel()
	db := openBatchStore(t, pgtest.DSN(t), Options{})
	id := seedSessions(t, db, 1, 1)[0].ID
	const n = 100
	errs := make(chan error, n)
	for range n {
		go func() {
			_, _, err := db.RotateSession(t.Context(), id, 1, batchEpoch.Add(-time.Hour), batchEpoch.Add(time.Minute))
			errs <- err
		}()
	}
	won := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, auth.ErrStale):
			t.Errorf("RotateSession: %v, want success or ErrStale", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent rotations at one generation won, want 1", won, n)
	}
	checkGeneration(t, db, id, 2)
}

func TestPostgresRotateCancelled(t *testing.T) {
	t.Parallel()
	db := openBatchStore(t, pgtest.DSN(t), Options{})
	id := seedSessions(t, db, 1, 1)[0].ID
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := db.RotateSession(ctx, id, 1, batchEpoch.Add(-time.Hour), batchEpoch.Add(time.Minute))
	if !errors.Is(err, context.Canceled) || auth.IsKind(err, auth.KindUnavailable) {
		t.Errorf("RotateSession with a cancelled ctx = %v, want a plain context.Canceled", err)
	}
	checkGeneration(t, db, id, 1)
}
