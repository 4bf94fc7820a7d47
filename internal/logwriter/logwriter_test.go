package logwriter_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth/internal/logwriter"
)

// sink records what reaches the destination, each Write call apart.
type sink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	writes  int
	gate    chan struct{} // if set, each Write waits for a value
	entered chan struct{} // if set, each Write sends on it first
	err     error
}

func (s *sink) Write(p []byte) (int, error) {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.buf.Write(p)
	return len(p), s.err
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestEveryLineArrivesWholeAndInOrderPerWriter(t *testing.T) {
	out := &sink{}
	w := logwriter.New(out, 256) // small: writers block often
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "g=%d i=%d %s\n", g, i, strings.Repeat("x", i%40))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines arrived, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var g, i int
		f := strings.Fields(l)
		if len(f) < 2 || len(f) > 3 {
			t.Fatalf("torn line %q", l)
		}
		fmt.Sscanf(f[0], "g=%d", &g)
		fmt.Sscanf(f[1], "i=%d", &i)
		pad := ""
		if len(f) == 3 {
			pad = f[2]
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d arrived where %d was due", g, i, next[g])
		}
		if len(pad) != i%40 {
			t.Fatalf("torn line %q", l)
		}
		next[g]++
	}
}

func TestLinesAreBatchedWhileTheDestinationIsBusy(t *testing.T) {
	out := &sink{gate: make(chan struct{}), entered: make(chan struct{}, 2)}
	w := logwriter.New(out, 0)
	w.Write([]byte("first\n"))
	<-out.entered
	// The goroutine now waits in out.Write with "first"; these gather.
	for i := range 100 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	out.gate <- struct{}{} // "first"
	out.gate <- struct{}{} // the other 100, in one write
	w.Flush()
	close(out.gate)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.writes != 2 {
		t.Errorf("%d writes to the destination, want 2", out.writes)
	}
	if n := strings.Count(out.String(), "\n"); n != 101 {
		t.Errorf("%d lines, want 101", n)
	}
}

func TestWriteWaitsInsteadOfDroppingWhenFull(t *testing.T) {
	out := &sink{gate: make(chan struct{}), entered: make(chan struct{}, 2)}
	w := logwriter.New(out, 10)
	w.Write([]byte("0123456789"))
	<-out.entered                 // taken by the goroutine, which blocks in out
	w.Write([]byte("abcdefghij")) // fills the bound
	returned := make(chan struct{})
	go func() {
		w.Write([]byte("KLMNO")) // over the bound: must wait
		close(returned)
	}()
	select {
	case <-returned:
		t.Fatal("Write returned while the bound was exceeded")
	case <-time.After(50 * time.Millisecond):
	}
	close(out.gate)
	<-returned
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "0123456789abcdefghijKLMNO"; got != want {
		t.Errorf("destination got %q, want %q", got, want)
	}
}

func TestCloseWritesEverythingAndLaterWritesGoThrough(t *testing.T) {
	out := &sink{}
	w := logwriter.New(out, 0)
	log := slog.New(slog.NewTextHandler(w, nil))
	for i := range 1000 {
		log.Warn("audit", "event", "refresh_reuse", "n", i)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "event=refresh_reuse"); n != 1000 {
		t.Fatalf("%d of 1000 records arrived before Close returned", n)
	}
	log.Warn("after close")
	if !strings.Contains(out.String(), "after close") {
		t.Error("a record written after Close was lost")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseReportsTheDestinationsError(t *testing.T) {
	boom := errors.New("disk full")
	w := logwriter.New(&sink{err: boom}, 0)
	io.WriteString(w, "line\n")
	if err := w.Close(); !errors.Is(err, boom) {
		t.Errorf("Close = %v, want %v", err, boom)
	}
}

func TestFlushWaitsForTheDestination(t *testing.T) {
	out := &sink{}
	w := logwriter.New(out, 0)
	defer w.Close()
	io.WriteString(w, "one\n")
	w.Flush()
	if out.String() != "one\n" {
		t.Errorf("after Flush the destination has %q", out.String())
	}
}

// Flush waits for what was written before it, not for a quiet moment: it
// returns while other goroutines keep writing.
func TestFlushReturnsUnderContinuousWrites(t *testing.T) {
	out := &sink{}
	w := logwriter.New(out, 0)
	defer w.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					io.WriteString(w, "background line\n")
				}
			}
		})
	}
	for i := range 50 {
		fmt.Fprintf(w, "mine %d\n", i)
		w.Flush()
		if !strings.Contains(out.String(), fmt.Sprintf("mine %d\n", i)) {
			t.Fatalf("after Flush, line %d has not reached the destination", i)
		}
	}
	close(stop)
	wg.Wait()
}

// Records that must not wait reach the destination before their call
// returns; others are only queued.
func TestFlushOnWritesThroughTheRecordsThatMustNotWait(t *testing.T) {
	out := &sink{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	w := logwriter.New(out, 0)
	log := slog.New(logwriter.FlushOn(slog.NewTextHandler(w, nil), w, func(r slog.Record) bool { return r.Message == "audit" }))
	log.Info("request", "n", 1)
	<-out.entered // the goroutine holds "request n=1" and waits in the destination
	log.Info("request", "n", 2)
	done := make(chan struct{})
	go func() {
		log.With("k", "v").Info("audit", "event", "signin_ok")
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("an audit record's Info returned before it was written")
	case <-time.After(50 * time.Millisecond):
	}
	close(out.gate)
	<-done
	if got := out.String(); !strings.Contains(got, "event=signin_ok") || !strings.Contains(got, "n=2") {
		t.Errorf("after the audit record returned, the destination has %q", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
