package verify

import "time"

// StaleAt returns when the cached key set goes stale.
func (v *Verifier) StaleAt() time.Time { return v.keys.Load().staleAt }

// Fetching returns a channel closed when the fetch in progress has ended
// and updated the cache, or nil if no fetch is in progress.
func (v *Verifier) Fetching() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.flight == nil {
		return nil
	}
	return v.flight.done
}
