package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Readiness: an instance is ready when its database answers and takes
// writes. A database can answer reads and pings while every write fails (a
// full disk, a read-only file system, a replica promoted wrongly), so Ready
// also looks at the outcome of the Service's own writes, and when those do
// not show a recent success it makes a write of its own, the probe.
const (
	// readyWriteWindow is how recent a successful write must be for Ready
	// to trust it without a probe.
	readyWriteWindow = 10 * time.Second
	// readyProbeInterval is the least time between two probes; Ready
	// answers the last probe's outcome in between.
	readyProbeInterval = time.Second
	// readyProbeKey is the failed-signin record the probe writes. It is
	// not an HMAC (those are 43 base64url characters), so it never
	// collides with a real one, and PurgeLoginFailures removes it a day
	// after the last probe.
	readyProbeKey = "readiness write probe"
)

// writeHealth records the outcome of the Service's writes to the Store.
type writeHealth struct {
	mu     sync.Mutex
	lastOK time.Time // when the last write succeeded
	// lastErr is the outcome of the latest write: nil, or an error of
	// KindUnavailable.
	lastErr  error
	probedAt time.Time // when Ready last made a probe write
	// draining is set by Drain.
	draining atomic.Bool
}

// record notes the outcome of a write at now. Only success and
// unavailability count: a duplicate or a lost compare-and-swap says
// nothing about whether writes reach the disk, and a cancelled call is the
// caller's doing.
func (h *writeHealth) record(err error, now time.Time) {
	if err != nil && !IsKind(err, KindUnavailable) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastErr = err
	if err == nil {
		h.lastOK = now
	}
}

// Ready reports whether the instance should receive traffic: not while it
// drains (see Drain), and only when the database answers a ping and takes
// writes. Writes count as working when the Service's latest write
// succeeded less than 10 s ago; otherwise (no recent write, or the latest
// one failed as unavailable) Ready writes a probe record, at most once a
// second, and answers its outcome. Every refusal is an *Error of
// KindUnavailable.
func (s *Service) Ready(ctx context.Context) error {
	if s.writes.draining.Load() {
		return &Error{Kind: KindUnavailable, Message: "Shutting down", Op: "ready"}
	}
	if err := s.cfg.Store.Ping(ctx); err != nil {
		return &Error{Kind: KindUnavailable, Message: "Database unavailable", Op: "ready", Err: err}
	}
	if err := s.writable(ctx); err != nil {
		return &Error{Kind: KindUnavailable, Message: "Database unavailable", Op: "ready: write probe", Err: err}
	}
	return nil
}

// writable returns nil if writes to the Store have been seen to work
// recently, else the outcome of a probe write; within readyProbeInterval of
// the last probe, the outcome of the latest write instead.
func (s *Service) writable(ctx context.Context) error {
	h := &s.writes
	now := s.now()
	h.mu.Lock()
	if h.lastErr == nil && !h.lastOK.IsZero() && now.Sub(h.lastOK) < readyWriteWindow {
		h.mu.Unlock()
		return nil
	}
	if !h.probedAt.IsZero() && now.Sub(h.probedAt) < readyProbeInterval {
		err := h.lastErr // the latest evidence: the probe's, or a later write's
		h.mu.Unlock()
		return err
	}
	h.probedAt = now
	h.mu.Unlock()
	// The probe goes through watchedStore, which records its outcome.
	// forgetBefore = now: the record starts over at 1 every time.
	_, err := s.cfg.Store.AddLoginFailure(ctx, readyProbeKey, now, now)
	return err
}

// Drain marks the instance as shutting down: from now on Ready refuses, so
// that load balancers stop sending new traffic, and Draining reports true,
// so that the HTTP layer closes each connection after its current request.
// Requests are still served. It cannot be undone.
func (s *Service) Drain() { s.writes.draining.Store(true) }

// Draining reports whether Drain has been called.
func (s *Service) Draining() bool { return s.writes.draining.Load() }

// watchedStore is the Store the Service works on: cfg.Store, with the
// outcome of every write recorded for Ready.
type watchedStore struct {
	Store
	h   *writeHealth
	now func() time.Time
}

func (w watchedStore) done(err error) error {
	w.h.record(err, w.now())
	return err
}

func (w watchedStore) CreateUser(ctx context.Context, u *User) error {
	return w.done(w.Store.CreateUser(ctx, u))
}

func (w watchedStore) CreateUserWithSession(ctx context.Context, u *User, s *Session, mail *AccountMail) error {
	return w.done(w.Store.CreateUserWithSession(ctx, u, s, mail))
}

func (w watchedStore) SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error {
	return w.done(w.Store.SetPasswordHash(ctx, id, hash, at))
}

func (w watchedStore) SetUserDisabled(ctx context.Context, id string, at, now time.Time) error {
	return w.done(w.Store.SetUserDisabled(ctx, id, at, now))
}

func (w watchedStore) DeleteUser(ctx context.Context, id string) error {
	return w.done(w.Store.DeleteUser(ctx, id))
}

func (w watchedStore) CreateSession(ctx context.Context, s *Session) error {
	return w.done(w.Store.CreateSession(ctx, s))
}

func (w watchedStore) RotateSession(ctx context.Context, id string, from int64, issuedAfter, at time.Time) (string, []string, error) {
	userID, amr, err := w.Store.RotateSession(ctx, id, from, issuedAfter, at)
	return userID, amr, w.done(err)
}

func (w watchedStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return w.done(w.Store.RevokeSession(ctx, id, at))
}

func (w watchedStore) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int64, error) {
	n, err := w.Store.RevokeUserSessions(ctx, userID, except, at)
	return n, w.done(err)
}

func (w watchedStore) AddLoginFailure(ctx context.Context, loginKey string, at, forgetBefore time.Time) (LoginFailures, error) {
	rec, err := w.Store.AddLoginFailure(ctx, loginKey, at, forgetBefore)
	return rec, w.done(err)
}

func (w watchedStore) ClearLoginFailures(ctx context.Context, loginKey string) error {
	return w.done(w.Store.ClearLoginFailures(ctx, loginKey))
}
