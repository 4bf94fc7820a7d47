package mail

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/authstore/auth"
)

// Opener opens a sealed outbox payload; *token.Sealer is one.
type Opener interface {
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Config configures a Sender. Store, Opener, Transport, Templates and
// Owner are required; the rest have defaults.
type Config struct {
	Store     auth.OutboxStore
	Opener    Opener // opens Payload with the message ID as additional data
	Transport Transport
	Templates *Templates
	// Owner names this sender in the outbox leases; unique among the
	// instances sharing the store (hostname, pid and a random part).
	Owner string

	Now  func() time.Time // default time.Now
	Rand io.Reader        // jitter of the default Backoff; default crypto/rand.Reader

	Lease        time.Duration // how long a claimed batch is ours; default 1m
	Batch        int           // most messages claimed, and held, at once; default 32
	PollInterval time.Duration // wait between claims when the outbox is idle; default 1s
	MaxAttempts  int           // attempts before a message is given up; default DefaultMaxAttempts
	// Backoff returns the wait before attempt+1 after attempt failed
	// attempts (attempt >= 1). Default: 5s doubling per attempt up to 1h,
	// times a jitter from 0.75 to 1.25 drawn from Rand.
	Backoff func(attempt int) time.Duration
	Logger  *slog.Logger // default: discard
}

// Stats are a sender's counters since it was made, for the metrics.
type Stats struct {
	Sent    uint64 // messages the server accepted and MarkSent recorded
	Retried uint64 // failed attempts left for a later one
	Failed  uint64 // messages given up
}

// Sender delivers the outbox: it claims due messages in batches, renders
// and sends them, and records each outcome. Several senders, in one
// process or many, may share a store: the leases keep each message with
// one of them at a time. A Sender's methods are safe for concurrent use,
// but Run and SendBatch are meant to run in one goroutine.
type Sender struct {
	cfg  Config
	wake chan struct{} // capacity 1: one pending wake-up at most

	sent, retried, failed atomic.Uint64
}

// Defaults of Config.
const (
	DefaultLease        = time.Minute
	DefaultBatch        = 32
	DefaultPollInterval = time.Second
	DefaultMaxAttempts  = 30 // with the default backoff, given up about 20 h after the first attempt: a verification link lives 24 h
)

// markTimeout bounds each MarkSent, RetryLater and MarkFailed, which run
// even when Run's context has ended: a message sent must be recorded.
const markTimeout = 10 * time.Second

// NewSender checks cfg and fills in its defaults.
func NewSender(cfg Config) (*Sender, error) {
	switch {
	case cfg.Store == nil, cfg.Opener == nil, cfg.Transport == nil, cfg.Templates == nil:
		return nil, errors.New("mail: Store, Opener, Transport and Templates are required")
	case cfg.Owner == "":
		return nil, errors.New("mail: Owner is required")
	case cfg.Lease < 0, cfg.Batch < 0, cfg.PollInterval < 0, cfg.MaxAttempts < 0:
		return nil, errors.New("mail: Lease, Batch, PollInterval and MaxAttempts must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff == nil {
		cfg.Backoff = ExponentialBackoff(5*time.Second, time.Hour, cfg.Rand)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// ExponentialBackoff returns a Backoff: base after the first failed
// attempt, doubling after each further one up to limit, each wait times a
// jitter from 0.75 to 1.25 read from r (a read error means no jitter).
func ExponentialBackoff(base, limit time.Duration, r io.Reader) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < limit; i++ {
			d *= 2
		}
		d = min(d, limit)
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return d
		}
		f := float64(binary.BigEndian.Uint64(b[:])>>11) / (1 << 53) // [0, 1)
		return time.Duration(float64(d) * (0.75 + f/2))
	}
}

// Stats returns the counters so far.
func (s *Sender) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Retried: s.retried.Load(), Failed: s.failed.Load()}
}

// Wake makes Run claim at once instead of at its next poll, e.g. right
// after a commit that added to the outbox. It never blocks: wake-ups
// arriving while one is pending are merged into it.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers the outbox until ctx ends: it sends batch after batch while
// full ones come back, and otherwise waits for Wake or PollInterval. A
// message being sent when ctx ends is finished and recorded; the rest of
// its batch stays leased until the lease runs out, when any sender may
// claim it. Errors of the store are logged and retried at the next poll.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		n, err := s.SendBatch(ctx)
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("mail outbox: claiming failed", "error", err.Error())
		}
		if err == nil && n == s.cfg.Batch {
			if ctx.Err() != nil {
				return
			}
			continue // more may be due
		}
		t.Reset(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// SendBatch claims up to Batch due messages, sends them over one
// connection of the transport and records each outcome; it returns how
// many it claimed. Only the claim's error is returned; a failure to record
// an outcome is logged (the message's lease then runs out and it is
// claimed again). The transport gets a context that ends before the
// lease does, so that no message is sent after another sender may have
// claimed it.
func (s *Sender) SendBatch(ctx context.Context) (int, error) {
	claimedAt := s.cfg.Now()
	batch, err := s.cfg.Store.ClaimOutbox(ctx, s.cfg.Owner, claimedAt, s.cfg.Lease, s.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("mail: claim outbox: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	msgs := make([]Message, 0, len(batch))
	pending := make([]auth.OutboxMessage, 0, len(batch))
	for _, om := range batch {
		m, err := s.render(om)
		if err != nil {
			s.giveUp(ctx, om, err)
			continue
		}
		msgs = append(msgs, m)
		pending = append(pending, om)
	}
	// Stop sending at three quarters of the lease, measured from the claim.
	sendCtx, cancel := context.WithTimeout(ctx, s.cfg.Lease*3/4-s.cfg.Now().Sub(claimedAt))
	errs := s.cfg.Transport.Send(sendCtx, msgs)
	cancel()
	for i, om := range pending {
		s.record(ctx, om, errs[i])
	}
	return len(batch), nil
}

// render opens om's payload and renders its template; every error is
// permanent.
func (s *Sender) render(om auth.OutboxMessage) (Message, error) {
	plain, err := s.cfg.Opener.Open(om.Payload, []byte(om.ID))
	if err != nil {
		return Message{}, fmt.Errorf("payload cannot be opened: %w", err)
	}
	var d auth.MailData
	err = json.Unmarshal(plain, &d)
	clear(plain)
	if err != nil {
		// Not %w: a JSON error may quote the payload, link included.
		return Message{}, errors.New("payload is not MailData JSON")
	}
	m, err := s.cfg.Templates.Render(om.Template, d)
	if err != nil {
		return Message{}, err
	}
	m.ID, m.To = om.ID, om.To
	return m, nil
}

// record stores the outcome of one attempt: sent, retried or given up.
func (s *Sender) record(ctx context.Context, om auth.OutboxMessage, sendErr error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	log := s.cfg.Logger.With("id", om.ID, "template", om.Template)
	now := s.cfg.Now()
	switch {
	case sendErr == nil:
		if err := s.cfg.Store.MarkSent(ctx, om.ID, s.cfg.Owner, now); err != nil {
			// Sent, but another sender may send it again once the lease
			// runs out: at least once.
			log.Error("mail sent but not recorded as sent: it may be sent again", "error", err.Error())
			return
		}
		s.sent.Add(1)
		log.Info("mail sent", "attempt", om.Attempts+1)
	case errors.Is(sendErr, ErrNotAttempted):
		log.Info("mail not attempted before the lease's deadline or shutdown; left for a later claim")
	case IsPermanent(sendErr) || om.Attempts+1 >= s.cfg.MaxAttempts:
		s.giveUp(ctx, om, sendErr)
	default:
		attempt := om.Attempts + 1
		next := now.Add(s.cfg.Backoff(attempt))
		if err := s.cfg.Store.RetryLater(ctx, om.ID, s.cfg.Owner, next, sendErr.Error()); err != nil {
			log.Error("mail attempt failed and could not be recorded", "error", err.Error(), "send_error", sendErr.Error())
			return
		}
		s.retried.Add(1)
		log.Warn("mail attempt failed; will retry", "attempt", attempt, "next_attempt", next.UTC().Format(time.RFC3339), "error", sendErr.Error())
	}
}

// giveUp marks om failed for good because of cause.
func (s *Sender) giveUp(ctx context.Context, om auth.OutboxMessage, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	log := s.cfg.Logger.With("id", om.ID, "template", om.Template)
	if err := s.cfg.Store.MarkFailed(ctx, om.ID, s.cfg.Owner, s.cfg.Now(), cause.Error()); err != nil {
		log.Error("mail failed and could not be recorded as failed", "error", err.Error(), "cause", cause.Error())
		return
	}
	s.failed.Add(1)
	log.Error("mail given up", "attempts", om.Attempts+1, "error", cause.Error())
}
