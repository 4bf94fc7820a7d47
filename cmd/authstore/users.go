package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/internal/cmdline"
)

// usersList runs `authstore users list [--after CURSOR] [--limit N]`: a
// page of users by creation time, ended by the cursor of the next page
// when it is full.
func usersList(ctx context.Context, e cmdEnv, c adminConfig, after string, limit int, pos []string) error {
	a, err := c.openAdmin(ctx, e.stderr)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if len(pos) > 0 {
		return usageError{Msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if limit < 1 || limit > 10000 {
		return cmdline.BadFlag("limit", "must be between 1 and 10000")
	}
	at, id, err := parseCursor(after)
	if err != nil {
		return err
	}
	// One more than the page tells whether there is a next page.
	list, err := a.Users(ctx, at, id, limit+1)
	if err != nil {
		return err
	}
	more := len(list) > limit
	list = list[:min(len(list), limit)]
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLOGIN\tEMAIL\tCREATED\tDISABLED")
	for _, u := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", termSafe(u.ID), termSafe(u.Login), termSafe(u.Email), rfc3339(u.CreatedAt), rfc3339(u.DisabledAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if more {
		last := list[len(list)-1]
		fmt.Fprintf(e.stdout, "next page: authstore users list --after %s\n", formatCursor(last.CreatedAt, last.ID))
	}
	return nil
}

// userAction is what `authstore users show|disable|enable` does to the
// user with an ID or login.
type userAction func(ctx context.Context, a *adminCtx, idOrLogin string) (*auth.User, error)

func showUser(ctx context.Context, a *adminCtx, idOrLogin string) (*auth.User, error) {
	return a.User(ctx, idOrLogin)
}

func disableUser(ctx context.Context, a *adminCtx, idOrLogin string) (*auth.User, error) {
	return a.DisableUser(ctx, idOrLogin)
}

func enableUser(ctx context.Context, a *adminCtx, idOrLogin string) (*auth.User, error) {
	return a.EnableUser(ctx, idOrLogin)
}

// usersChange runs `authstore users show|disable|enable ID-OR-LOGIN`: do,
// then the user as it is after.
func usersChange(ctx context.Context, e cmdEnv, c adminConfig, do userAction, pos []string) error {
	a, idOrLogin, err := openForUser(ctx, e, c, pos)
	if err != nil {
		return err
	}
	defer a.db.Close()
	u, err := do(ctx, a, idOrLogin)
	if errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("no user with ID or login %q", idOrLogin)
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"id", termSafe(u.ID)}, {"login", termSafe(u.Login)}, {"email", termSafe(u.Email)},
		{"first name", termSafe(u.FirstName)}, {"last name", termSafe(u.LastName)},
		{"created", rfc3339(u.CreatedAt)}, {"updated", rfc3339(u.UpdatedAt)}, {"disabled", rfc3339(u.DisabledAt)},
		{"email verified", rfc3339(u.EmailVerifiedAt)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	return tw.Flush()
}

// usersDelete runs `authstore users delete [--yes] ID-OR-LOGIN`, asking
// first on a terminal unless yes.
func usersDelete(ctx context.Context, e cmdEnv, c adminConfig, yes bool, pos []string) error {
	a, idOrLogin, err := openForUser(ctx, e, c, pos)
	if err != nil {
		return err
	}
	defer a.db.Close()
	var u *auth.User
	if err = confirmDelete(ctx, a, idOrLogin, yes, e.stderr); err == nil {
		u, err = a.DeleteUser(ctx, idOrLogin)
	}
	if errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("no user with ID or login %q", idOrLogin)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted user %s (%s)\n", termSafe(u.ID), termSafe(u.Login))
	return nil
}

// openForUser opens the admin context of a users command that takes one
// user ID or login, pos[0]. The caller must close a.db.
func openForUser(ctx context.Context, e cmdEnv, c adminConfig, pos []string) (a *adminCtx, idOrLogin string, err error) {
	a, err = c.openAdmin(ctx, e.stderr)
	if err != nil {
		return nil, "", err
	}
	if len(pos) != 1 {
		a.db.Close()
		return nil, "", usageError{Msg: fmt.Sprintf("%s needs one user ID or login", e.name)}
	}
	return a, pos[0], nil
}

// formatCursor is the --after cursor of the user created at createdAt with
// id: the creation time in Unix milliseconds, a dot, the ID.
func formatCursor(createdAt time.Time, id string) string {
	return strconv.FormatInt(createdAt.UnixMilli(), 10) + "." + id
}

// parseCursor reads a cursor of formatCursor; "" is the start.
func parseCursor(s string) (time.Time, string, error) {
	if s == "" {
		return time.Time{}, "", nil
	}
	ms, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", cmdline.BadFlag("after", "%q is not a cursor printed by users list (MILLIS.ID)", s)
	}
	return time.UnixMilli(n), id, nil
}

// stdinKey is the context key of the terminal standard input, which main
// sets when standard input is a terminal.
type stdinKey struct{}

// withTerminal returns ctx carrying r as the terminal to ask questions on.
func withTerminal(ctx context.Context, r io.Reader) context.Context {
	return context.WithValue(ctx, stdinKey{}, r)
}

// confirmDelete asks on the terminal whether to delete the user, unless yes;
// without a terminal and without yes it refuses.
func confirmDelete(ctx context.Context, a *adminCtx, idOrLogin string, yes bool, stderr io.Writer) error {
	if yes {
		return nil
	}
	in, _ := ctx.Value(stdinKey{}).(io.Reader)
	if in == nil {
		return usageError{Msg: "users delete: standard input is not a terminal to confirm on; pass --yes to delete without asking"}
	}
	u, err := a.User(ctx, idOrLogin)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Delete user %s (%s, %s) and all its sessions? This cannot be undone. [y/N] ", u.ID, u.Login, u.Email)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not deleted")
}

// usersMFAReset runs `authstore users mfa-reset ID-OR-LOGIN`: removes the
// user's TOTP and recovery codes (auth.Admin.ResetMFA), audited.
func usersMFAReset(ctx context.Context, e cmdEnv, c adminConfig, pos []string) error {
	a, idOrLogin, err := openForUser(ctx, e, c, pos)
	if err != nil {
		return err
	}
	defer a.db.Close()
	u, removed, err := a.ResetMFA(ctx, idOrLogin)
	if errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("no user with ID or login %q", idOrLogin)
	}
	if err != nil {
		return err
	}
	if !removed {
		fmt.Fprintf(e.stdout, "user %s (%s) has no TOTP; nothing to reset\n", termSafe(u.ID), termSafe(u.Login))
		return nil
	}
	fmt.Fprintf(e.stdout, "removed the TOTP and recovery codes of user %s (%s)\n", termSafe(u.ID), termSafe(u.Login))
	return nil
}
