package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// LoginThrottle slows down password guessing against one login. The first
// Free consecutive failures are free; after that each attempt must wait,
// from the last failure, Delay doubled for every failure beyond Free, at
// most MaxDelay, and is refused with KindTooManyRequests until then. A
// record whose last failure is older than Window is forgotten, and a
// successful signin clears it. Nothing ever locks a login for longer than
// MaxDelay after its last failure.
type LoginThrottle struct {
	Free     int
	Delay    time.Duration
	MaxDelay time.Duration
	Window   time.Duration
}

// DefaultLoginThrottle is the LoginThrottle whose values replace the zero
// fields of Config.LoginThrottle. With it at most 86 consecutive failed
// signins of one login fit in any 24 hours (5 free, 11 growing delays from
// 1 s to 1024 s, then one every 20 minutes), under the ceiling of 100 of
// NIST SP 800-63B section 5.2.2.
var DefaultLoginThrottle = LoginThrottle{Free: 5, Delay: time.Second, MaxDelay: 20 * time.Minute, Window: 24 * time.Hour}

// delay is how long after the last of count consecutive failures the next
// attempt must wait.
func (t LoginThrottle) delay(count int64) time.Duration {
	if count < int64(t.Free) {
		return 0
	}
	d := t.Delay
	for i := int64(t.Free); i < count && d < t.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.MaxDelay)
}

// checkThrottle checks the throttling settings of cfg and fills in the
// defaults of its LoginThrottle.
func checkThrottle(cfg *Config) error {
	t := &cfg.LoginThrottle
	switch {
	case cfg.SuspectChecks < 0:
		return errors.New("auth: SuspectChecks must not be negative")
	case t.Free < 0 || t.Delay < 0 || t.MaxDelay < 0 || t.Window < 0:
		return errors.New("auth: LoginThrottle values must not be negative")
	}
	d := DefaultLoginThrottle
	if t.Free == 0 {
		t.Free = d.Free
	}
	if t.Delay == 0 {
		t.Delay = d.Delay
	}
	if t.MaxDelay == 0 {
		t.MaxDelay = d.MaxDelay
	}
	if t.Window == 0 {
		t.Window = d.Window
	}
	if t.MaxDelay < t.Delay || t.Window <= t.MaxDelay {
		return errors.New("auth: LoginThrottle needs Delay <= MaxDelay < Window")
	}
	return nil
}

// tooMany is the refusal of a throttle: ErrTooManyRequests's wording with
// the time to wait.
func tooMany(op string, wait time.Duration) *Error {
	return &Error{Kind: KindTooManyRequests, Message: ErrTooManyRequests.Message, Op: op, RetryAfter: wait}
}

// reserveSignin counts a signin attempt for loginKey as a failure before
// its password is checked, so that concurrent guesses cannot all pass the
// check on one stale count; a successful signin clears it afterwards. It
// refuses the attempt when the login must wait, and the attempt that finds
// it has raced another one past Free: of concurrent attempts, only the one
// that reserves the count following the one both read may go on.
//
// The same store calls are made whether or not a user holds loginKey.
func (s *Service) reserveSignin(ctx context.Context, loginKey string, now time.Time) error {
	return s.reserveAttempt(ctx, "signin", loginKey, now)
}

// reserveAttempt is reserveSignin for any throttle key of the
// LoginFailureStore: the attempts of operation op (a signin, or a second
// factor's code, see mfaThrottleKey) are throttled as signins are.
func (s *Service) reserveAttempt(ctx context.Context, op, key string, now time.Time) error {
	t := s.cfg.LoginThrottle
	loginKey := key
	rec, err := s.cfg.Store.LoginFailures(ctx, loginKey)
	if err != nil {
		return fmt.Errorf("%s: login failures: %w", op, err)
	}
	forget := now.Add(-t.Window)
	if rec.Count > 0 && rec.Last.Before(forget) {
		// Forgotten: AddLoginFailure below starts it over in the same
		// statement, which cannot lose a concurrent, newer failure.
		rec = LoginFailures{}
	}
	if rec.Count >= int64(t.Free) {
		if wait := rec.Last.Add(t.delay(rec.Count)).Sub(now); wait > 0 {
			return tooMany(op, wait)
		}
	}
	after, err := s.cfg.Store.AddLoginFailure(ctx, loginKey, now, forget)
	if err != nil {
		return fmt.Errorf("%s: add login failure: %w", op, err)
	}
	if after.Count > int64(t.Free) && after.Count != rec.Count+1 {
		return tooMany(op, t.delay(after.Count))
	}
	return nil
}

// clearSignin clears the failures of loginKey after a successful signin. A
// failure is logged and does not fail the signin.
func (s *Service) clearSignin(ctx context.Context, loginKey, userID string) {
	if err := s.cfg.Store.ClearLoginFailures(ctx, loginKey); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "clear login failures failed", slog.String("user", userID), slog.Any("error", err))
	}
}

// PurgeLoginFailures deletes the failed-signin records that
// Config.LoginThrottle.Window has made irrelevant, and returns how many it
// deleted. Signin ignores such records anyway; call it periodically to keep
// the table small.
func (s *Service) PurgeLoginFailures(ctx context.Context) (int64, error) {
	n, err := s.cfg.Store.DeleteLoginFailures(ctx, s.now().Add(-s.cfg.LoginThrottle.Window))
	if err != nil {
		return 0, fmt.Errorf("purge login failures: %w", err)
	}
	return n, nil
}
