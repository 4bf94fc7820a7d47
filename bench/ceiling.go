package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/authstore/auth/password"
)

// Ceiling is the bare password-hashing rate of this machine: the most
// signins or signups per second any server could answer, since each costs
// one hash.
type Ceiling struct {
	// CPUs is the number of goroutines that hashed at once (GOMAXPROCS).
	CPUs int `json:"cpus"`
	// Params names the argon2id parameters, as in a PHC string.
	Params string `json:"params"`
	// Hashes is how many hashes were timed.
	Hashes int `json:"hashes"`
	// HashMillis is the mean time of one hash while every CPU hashes.
	HashMillis float64 `json:"hash_ms"`
	// PerSecond is CPUs / HashMillis, in hashes per second.
	PerSecond float64 `json:"per_sec"`
}

// MeasureCeiling hashes with p on GOMAXPROCS goroutines for about d, after
// one untimed hash each, and returns the rate. It uses the password package's
// Hasher, so it costs what the server's hashing costs.
func MeasureCeiling(ctx context.Context, p password.Params, d time.Duration) (*Ceiling, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if d <= 0 {
		return nil, fmt.Errorf("bench: hashing time must be positive")
	}
	cpus := runtime.GOMAXPROCS(0)
	h := password.New(password.Options{Params: p})
	counts := make([]int, cpus)
	spent := make([]time.Duration, cpus)
	errs := make([]error, cpus)
	var ready, wg sync.WaitGroup
	ready.Add(cpus)
	start := make(chan time.Time)
	for i := range cpus {
		wg.Go(func() {
			_, errs[i] = h.Hash(ctx, "bench warm-up password")
			ready.Done()
			end := (<-start).Add(d)
			for errs[i] == nil && time.Now().Before(end) {
				t := time.Now()
				_, errs[i] = h.Hash(ctx, "bench password")
				spent[i] += time.Since(t)
				counts[i]++
			}
		})
	}
	ready.Wait()
	now := time.Now()
	for range cpus {
		start <- now
	}
	wg.Wait()
	var n int
	var total time.Duration
	for i := range cpus {
		if errs[i] != nil {
			return nil, fmt.Errorf("bench: hashing: %w", errs[i])
		}
		n += counts[i]
		total += spent[i]
	}
	if n == 0 {
		return nil, fmt.Errorf("bench: no hash finished in %v", d)
	}
	mean := total / time.Duration(n)
	return &Ceiling{
		CPUs:       cpus,
		Params:     fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads),
		Hashes:     n,
		HashMillis: ms(mean),
		PerSecond:  float64(cpus) / mean.Seconds(),
	}, nil
}
