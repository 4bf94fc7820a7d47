package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/authstore/auth"
)

// sessions runs `authstore sessions list|revoke ARG`: do with the one
// positional argument.
func sessions(ctx context.Context, e cmdEnv, c adminConfig, do func(context.Context, cmdEnv, *adminCtx, string) error, pos []string) error {
	a, err := c.openAdmin(ctx, e.stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if len(pos) != 1 {
		return usageError{Msg: fmt.Sprintf("%s needs one argument", e.name)}
	}
	return do(ctx, e, a, pos[0])
}

// sessionsRevoke revokes the session with ID id.
func sessionsRevoke(ctx context.Context, e cmdEnv, a *adminCtx, id string) error {
	if err := a.RevokeSession(ctx, id); errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("no session %q", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked session %s\n", termSafe(id))
	return nil
}

// sessionsList lists the sessions of the user with an ID or login.
func sessionsList(ctx context.Context, e cmdEnv, a *adminCtx, idOrLogin string) error {
	u, list, err := a.Sessions(ctx, idOrLogin)
	if errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("no user with ID or login %q", idOrLogin)
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SESSION\tCREATED\tLAST USED\tREVOKED\tIP\tUSER AGENT\t(user %s)\n", termSafe(u.Login))
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", termSafe(s.ID), rfc3339(s.CreatedAt), rfc3339(s.LastUsedAt), rfc3339(s.RevokedAt), termSafe(s.IP), termSafe(s.UserAgent))
	}
	return tw.Flush()
}
