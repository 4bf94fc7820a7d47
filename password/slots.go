package password

import (
	"context"
	"fmt"
	"time"

	"github.com/authstore/auth"
)

// Stats is a snapshot of a Hasher's concurrency limit.
type Stats struct {
	Slots    int    // hashes that may run at once
	InFlight int64  // hashes running now
	Waiting  int64  // calls waiting for a slot now
	Rejected uint64 // calls refused as busy since New
}

// Stats returns the current counters. They are read one by one, so a
// snapshot taken under load need not be consistent across fields.
func (h *Hasher) Stats() Stats {
	return Stats{
		Slots:    cap(h.slots),
		InFlight: h.inFlight.Load(),
		Waiting:  h.waiting.Load(),
		Rejected: h.rejected.Load(),
	}
}

// acquire takes a slot, waiting at most maxWait and only if fewer than
// maxQueue calls already wait. The returned func gives the slot back.
func (h *Hasher) acquire(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	select {
	case h.slots <- struct{}{}:
		return h.enter(), nil
	default:
	}
	if h.maxWait == 0 || h.maxQueue == 0 {
		h.rejected.Add(1)
		return nil, fmt.Errorf("password: every hashing slot is taken: %w", auth.ErrBusy)
	}
	if h.waiting.Add(1) > h.maxQueue {
		h.waiting.Add(-1)
		h.rejected.Add(1)
		return nil, fmt.Errorf("password: %d calls already wait for a hashing slot: %w", h.maxQueue, auth.ErrBusy)
	}
	defer h.waiting.Add(-1)
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return h.enter(), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	case <-timer.C:
		h.rejected.Add(1)
		return nil, fmt.Errorf("password: no hashing slot within %v: %w", h.maxWait, auth.ErrBusy)
	}
}

func (h *Hasher) enter() func() {
	h.inFlight.Add(1)
	return func() {
		h.inFlight.Add(-1)
		<-h.slots
	}
}

// Capacity is how many Hash and Verify calls the Hasher holds at once,
// running or queued; a call beyond it fails at once as busy.
func (h *Hasher) Capacity() int { return cap(h.slots) + int(h.maxQueue) }
