package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/authstore/auth"
)

// outageLogInterval is how often the cause of 503 Database unavailable
// answers is logged, per cause.
const outageLogInterval = 10 * time.Second

// maxOutageCauses bounds how many causes an outageLog tells apart; the
// rest share one entry.
const maxOutageCauses = 64

// outageLog logs why requests were answered 503 because a dependency is
// unavailable, without flooding the log during an outage: at most one line
// per cause every outageLogInterval, counting the answers it did not log.
// A cause is the operation that failed (the Op of the error, such as
// "sqlstore: create session").
type outageLog struct {
	logger *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	causes map[string]*outageCause
}

type outageCause struct {
	logged     time.Time // when the last line for this cause was written
	suppressed int       // answers since then that were not logged
}

func newOutageLog(logger *slog.Logger, now func() time.Time) *outageLog {
	return &outageLog{logger: logger, now: now, causes: map[string]*outageCause{}}
}

// record notes a 503 answered for err, an error of auth.KindUnavailable,
// and logs it unless its cause was logged less than outageLogInterval ago.
// An error carrying no cause of its own is not logged.
func (l *outageLog) record(ctx context.Context, err error, path string) {
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Err == nil {
		return
	}
	cause := ae.Op
	now := l.now()
	l.mu.Lock()
	c := l.causes[cause]
	if c == nil {
		if len(l.causes) >= maxOutageCauses {
			cause = "other"
			c = l.causes[cause]
		}
		if c == nil {
			c = &outageCause{}
			l.causes[cause] = c
		}
	}
	if !c.logged.IsZero() && now.Sub(c.logged) < outageLogInterval {
		c.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := c.suppressed
	c.logged, c.suppressed = now, 0
	l.mu.Unlock()
	l.logger.LogAttrs(ctx, slog.LevelWarn, "unavailable",
		slog.String("cause", cause),
		slog.String("error", err.Error()),
		slog.Int("suppressed", suppressed),
		slog.String("request_id", requestIDFrom(ctx)),
		slog.String("path", path))
}
