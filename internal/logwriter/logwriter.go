// Package logwriter moves the writing of log lines off the goroutines that
// log them.
//
// A Writer takes each Write (one log record: slog's handlers write a whole
// line per call) into a buffer and returns; one goroutine of its own writes
// what has gathered to the destination, so that under load many lines go
// out in one write(2) instead of one each, and a slow destination delays
// no request. Nothing is ever dropped: when more than the bound is waiting,
// Write waits for the writer goroutine to catch up. Close writes everything
// still waiting.
//
// Hand-written: the standard library has bufio.Writer (synchronous, flushed
// by the caller) and slog writes synchronously; no well-kept library does
// this without dropping lines under pressure.
package logwriter

import (
	"context"
	"io"
	"log/slog"
	"sync"
)

// DefaultMaxPending is the bound on bytes waiting to be written before
// Write blocks.
const DefaultMaxPending = 1 << 20

// Writer is an io.Writer that writes to its destination from a goroutine of
// its own. It is safe for concurrent use.
type Writer struct {
	out        io.Writer
	maxPending int

	mu      sync.Mutex
	cond    *sync.Cond // signalled when pending empties, when it fills, and at close
	pending []byte     // written by Write, not yet handed to out
	queued  uint64     // bytes taken by Write, ever
	written uint64     // bytes out has returned from, ever; queued once idle
	closed  bool
	err     error // the first error of out, reported by Close
	done    chan struct{}
}

// New returns a Writer that writes to out, letting up to maxPending bytes
// wait (DefaultMaxPending if maxPending <= 0; a single Write larger than
// that is taken whole). The caller must Close it to write what is left.
func New(out io.Writer, maxPending int) *Writer {
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	w := &Writer{out: out, maxPending: maxPending, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// Write queues a copy of p. It blocks while more than the bound is waiting.
// After Close it writes p to the destination itself. It returns len(p) and
// no error: a failure of the destination is reported by Close.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for !w.closed && len(w.pending) > 0 && len(w.pending)+len(p) > w.maxPending {
		w.cond.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		<-w.done // after what was queued before Close
		return w.out.Write(p)
	}
	wake := w.written == w.queued // the goroutine waits for work
	w.pending = append(w.pending, p...)
	w.queued += uint64(len(p))
	w.mu.Unlock()
	if wake {
		w.cond.Broadcast()
	}
	return len(p), nil
}

// Flush returns once everything written before it has reached the
// destination, however much is written after it meanwhile.
func (w *Writer) Flush() {
	w.mu.Lock()
	target := w.queued
	for !w.closed && w.written < target {
		w.cond.Wait()
	}
	closed := w.closed
	w.mu.Unlock()
	if closed {
		<-w.done // Close writes everything
	}
}

// Close writes everything waiting, stops the goroutine and returns the
// first error the destination returned, if any. Writes after Close go to
// the destination directly. Closing again returns the same error.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		w.cond.Broadcast()
	}
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// loop hands batches to out until Close, then writes the rest.
func (w *Writer) loop() {
	defer close(w.done)
	var batch []byte
	w.mu.Lock()
	for {
		for len(w.pending) == 0 && !w.closed {
			w.cond.Wait()
		}
		if len(w.pending) == 0 { // closed and nothing left
			w.mu.Unlock()
			return
		}
		batch, w.pending = w.pending, batch[:0]
		w.mu.Unlock()
		w.cond.Broadcast() // room for blocked writers
		_, err := w.out.Write(batch)
		w.mu.Lock()
		w.written += uint64(len(batch))
		if err != nil && w.err == nil {
			w.err = err
		}
		if cap(batch) > 4*w.maxPending { // one huge burst: let it go
			batch = nil
		}
		w.cond.Broadcast() // for Flush
	}
}

// FlushOn returns h, writing to w, with every record that must not wait
// (must reports true) written through to w's destination before its
// Handle returns, together with every line queued before it. Other records
// are queued as usual. Use it for records that a crash right after their
// request must not lose, such as audit events.
func FlushOn(h slog.Handler, w *Writer, must func(slog.Record) bool) slog.Handler {
	return &flushHandler{Handler: h, w: w, must: must}
}

type flushHandler struct {
	slog.Handler
	w    *Writer
	must func(slog.Record) bool
}

func (f *flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := f.Handler.Handle(ctx, r)
	if f.must(r) {
		f.w.Flush()
	}
	return err
}

func (f *flushHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &flushHandler{Handler: f.Handler.WithAttrs(attrs), w: f.w, must: f.must}
}

func (f *flushHandler) WithGroup(name string) slog.Handler {
	return &flushHandler{Handler: f.Handler.WithGroup(name), w: f.w, must: f.must}
}
