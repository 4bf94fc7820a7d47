package auth

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// DefaultChecksPerHash is how many signups and signins Config.MaxPasswordChecks
// admits per running hash when it is 0: one hashing and 64 waiting for a
// hash, so a flood is turned away before it queues on the database.
const DefaultChecksPerHash = 65

// HashingStats is a snapshot of a Service's password work.
type HashingStats struct {
	Slots    int    // hashes that may run at once (Config.PasswordHashes)
	InFlight int64  // hashes running now
	Waiting  int64  // admitted signups and signins waiting for a hash now
	Rejected uint64 // signups and signins refused with ErrBusy since NewService
}

// gate is the one bound on password work. It admits a signup or signin
// into one of its places, of which suspect ones may hold only a share,
// and lets at most hashes of the admitted ones compute a password hash at
// once, the others waiting for their turn: each argon2id hash holds its
// memory while it runs, so memory stays bounded by hashes. A nil places
// admits everything.
type gate struct {
	wait                  time.Duration // for a place
	places, suspectPlaces chan struct{}
	hashes                chan struct{}

	inFlight, waiting atomic.Int64
	rejected          atomic.Uint64
}

// newGate returns a gate letting hashes hashes run at once; with places > 0
// it admits at most places signups and signins, suspect ones at most
// suspect of them, waiting up to wait for a place.
func newGate(hashes, places, suspect int, wait time.Duration) *gate {
	g := &gate{wait: wait, hashes: make(chan struct{}, hashes)}
	if places > 0 {
		g.places = make(chan struct{}, places)
		g.suspectPlaces = make(chan struct{}, min(suspect, places))
	}
	return g
}

// stats returns the gate's counters. They are read one by one, so a
// snapshot taken under load need not be consistent across fields.
func (g *gate) stats() HashingStats {
	return HashingStats{Slots: cap(g.hashes), InFlight: g.inFlight.Load(), Waiting: g.waiting.Load(), Rejected: g.rejected.Load()}
}

// enter admits one signup or signin, waiting up to the gate's wait while
// every place is taken (or, for a suspect one, while every suspect place
// is), or returns ErrBusy (or ctx's error); the caller calls the returned
// leave. The answer does not depend on the login asked for.
func (g *gate) enter(ctx context.Context, suspect bool) (leave func(), err error) {
	if g.places == nil {
		return func() {}, nil
	}
	var t *time.Timer // one wait for both places
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	take := func(places chan struct{}) error {
		select {
		case places <- struct{}{}:
			return nil
		default:
		}
		if t == nil {
			t = time.NewTimer(g.wait)
		}
		select {
		case places <- struct{}{}:
			return nil
		case <-t.C:
			g.rejected.Add(1)
			return ErrBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !suspect {
		if err := take(g.places); err != nil {
			return nil, err
		}
		return func() { <-g.places }, nil
	}
	if err := take(g.suspectPlaces); err != nil {
		return nil, err
	}
	if err := take(g.places); err != nil {
		<-g.suspectPlaces
		return nil, err
	}
	return func() { <-g.places; <-g.suspectPlaces }, nil
}

// hash runs f, which computes one password hash, once fewer than the
// gate's hashes are running, waiting for that as long as ctx lasts: the
// places bound how many wait. It returns ctx's error, wrapped, if ctx ends
// first.
func (g *gate) hash(ctx context.Context, f func()) error {
	select {
	case g.hashes <- struct{}{}:
	default:
		g.waiting.Add(1)
		select {
		case g.hashes <- struct{}{}:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			return fmt.Errorf("waiting to hash: %w", ctx.Err())
		}
	}
	g.inFlight.Add(1)
	defer func() {
		g.inFlight.Add(-1)
		<-g.hashes
	}()
	f()
	return nil
}
