package password_test

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// A Hasher holds no slots (the auth.Service bounds its hashing; see the
// root package's TestPasswordHashesBound): an ended context is refused
// before any work, and concurrent calls are safe.

func TestCancelledBeforeCall(t *testing.T) {
	t.Parallel()
	h := newFast(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash err = %v, want context.Canceled", err)
	}
	if _, _, err := h.Verify(ctx, "", "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify err = %v, want context.Canceled", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	h := newFast(t)
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			enc, err := h.Hash(context.Background(), "pw")
			if err != nil {
				errs <- err
				return
			}
			if ok, _, err := h.Verify(context.Background(), enc, "pw"); !ok || err != nil {
				errs <- errors.Join(errors.New("round trip failed"), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
