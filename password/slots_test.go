package password_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/password"
)

// gate is a Rand that blocks its first reader until opened, so a Hash can
// hold its slot for as long as a test needs.
type gate struct {
	entered chan struct{} // closed when the first Read starts
	open    chan struct{} // closed by the test to let Reads finish
	once    sync.Once
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}), open: make(chan struct{})}
}

func (g *gate) Read(p []byte) (int, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.open
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}

// holdSlot starts a Hash on h that takes a slot and blocks inside it until
// g opens; the returned channel yields its error.
func holdSlot(t *testing.T, h *password.Hasher, g *gate) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "holder")
		done <- err
	}()
	<-g.entered
	return done
}

// waitUntil polls cond; it does not measure time, it only gives up with a
// message instead of hanging until the test binary's timeout.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func wantBusy(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, auth.ErrBusy) || auth.ErrorKind(err) != auth.KindBusy {
		t.Fatalf("err = %v, want one wrapping auth.ErrBusy", err)
	}
}

func TestBusyNoQueue(t *testing.T) {
	t.Parallel()
	g := newGate()
	h := password.New(password.Options{Params: fast, Concurrency: 1, MaxQueue: -1, MaxWait: time.Hour, Rand: g})
	held := holdSlot(t, h, g)

	_, _, err := h.Verify(context.Background(), "", "pw")
	wantBusy(t, err)
	_, err = h.Hash(context.Background(), "pw")
	wantBusy(t, err)
	if s := h.Stats(); s != (password.Stats{Slots: 1, InFlight: 1, Waiting: 0, Rejected: 2}) {
		t.Fatalf("Stats = %+v", s)
	}

	close(g.open)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Verify(context.Background(), "", "pw"); err != nil {
		t.Fatalf("Verify after the slot freed: %v", err)
	}
	if s := h.Stats(); s != (password.Stats{Slots: 1, Rejected: 2}) {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestBusyQueueFull(t *testing.T) {
	t.Parallel()
	g := newGate()
	h := password.New(password.Options{Params: fast, Concurrency: 1, MaxQueue: 1, MaxWait: time.Hour, Rand: g})
	held := holdSlot(t, h, g)

	enc, err := password.New(password.Options{Params: fast}).Hash(context.Background(), "queued")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		ok  bool
		err error
	}
	queued := make(chan result, 1)
	go func() {
		ok, _, err := h.Verify(context.Background(), enc, "queued")
		queued <- result{ok, err}
	}()
	waitUntil(t, "one call waits", func() bool { return h.Stats().Waiting == 1 })

	_, _, err = h.Verify(context.Background(), enc, "queued")
	wantBusy(t, err)
	if s := h.Stats(); s.Rejected != 1 || s.Waiting != 1 || s.InFlight != 1 {
		t.Fatalf("Stats = %+v", s)
	}

	close(g.open)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if r := <-queued; !r.ok || r.err != nil {
		t.Fatalf("queued Verify = %v, %v; want true, nil", r.ok, r.err)
	}
}

func TestBusyMaxWait(t *testing.T) {
	t.Parallel()
	g := newGate()
	h := password.New(password.Options{Params: fast, Concurrency: 1, MaxWait: time.Millisecond, Rand: g})
	held := holdSlot(t, h, g)
	defer func() {
		close(g.open)
		<-held
	}()

	_, _, err := h.Verify(context.Background(), "", "pw")
	wantBusy(t, err)
	if s := h.Stats(); s.Rejected != 1 || s.Waiting != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	g := newGate()
	h := password.New(password.Options{Params: fast, Concurrency: 1, MaxWait: time.Hour, Rand: g})
	held := holdSlot(t, h, g)
	defer func() {
		close(g.open)
		<-held
	}()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := h.Verify(ctx, "", "pw")
		done <- err
	}()
	waitUntil(t, "one call waits", func() bool { return h.Stats().Waiting == 1 })
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || errors.Is(err, auth.ErrBusy) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if s := h.Stats(); s.Rejected != 0 || s.Waiting != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

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
	h := password.New(password.Options{Params: fast, Concurrency: 2, MaxWait: time.Hour})
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
	if s := h.Stats(); s != (password.Stats{Slots: 2}) {
		t.Fatalf("Stats after all calls = %+v", s)
	}
}
