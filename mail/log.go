package mail

import (
	"context"
	"fmt"
	"log/slog"
)

// Log is the Transport without an SMTP server, for development: it writes
// each message to its logger at level info, plain-text body and link
// included, and never fails. Whoever reads the log can follow every link,
// so a deployment must set --smtp-url; cmd/authstore warns at start.
type Log struct {
	Logger *slog.Logger
}

var _ Transport = Log{}

// Send implements Transport.
func (l Log) Send(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("%w: %w", ErrNotAttempted, err)
			continue
		}
		l.Logger.Info("mail (not sent: no --smtp-url)", "id", m.ID, "to", m.To, "subject", m.Subject, "text", m.Text)
	}
	return errs
}
