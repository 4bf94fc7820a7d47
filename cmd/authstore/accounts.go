package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/authstore/auth"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/token"
)

func verifyUserEmail(ctx context.Context, a *adminCtx, idOrLogin string) (*auth.User, error) {
	return a.VerifyEmail(ctx, idOrLogin)
}

// usersSetPassword runs `authstore users set-password ID-OR-LOGIN`: the new
// password is read from the terminal without echo (asked twice) or from the
// first line of standard input, checked against signup's password rules
// (min and max characters, the built-in common-password list) and set;
// every session of the user is revoked. The password is never printed nor
// logged.
func usersSetPassword(ctx context.Context, e cmdEnv, c adminConfig, min, max int, pos []string) error {
	if min < 8 || max < 64 || max > 4096 || min > max {
		return usageError{Msg: "--password-min-length must be at least 8 and --password-max-length between 64 and 4096, not below it"}
	}
	a, idOrLogin, err := openForUser(ctx, e, c, pos)
	if err != nil {
		return err
	}
	defer a.db.Close()
	u, err := a.User(ctx, idOrLogin)
	if errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("no user with ID or login %q", idOrLogin)
	}
	if err != nil {
		return err
	}
	common, err := loadBlocklist("")
	if err != nil {
		return err
	}
	admin, err := auth.NewAdmin(auth.AdminConfig{
		Store: a.db, Logger: a.log,
		Hasher:            password.New(password.Options{Params: password.OWASP()}),
		PasswordMinLength: min, PasswordMaxLength: max, CommonPasswords: common,
	})
	if err != nil {
		return err
	}
	pw, err := readNewPassword(ctx, e.stderr, fmt.Sprintf("New password for %s: ", termSafe(u.Login)))
	if err != nil {
		return err
	}
	if _, err := admin.SetPassword(ctx, u.ID, pw); err != nil {
		if msgs := auth.ErrorMessages(err); len(msgs) > 0 {
			return fmt.Errorf("password refused: %s", strings.Join(msgs, "; "))
		}
		return err
	}
	fmt.Fprintf(e.stdout, "password set for user %s (%s); its sessions are revoked\n", termSafe(u.ID), termSafe(u.Login))
	return nil
}

// usersSendReset runs `authstore users send-reset ID-OR-LOGIN`: a reset
// link to the user's address goes into the outbox, sealed with the key
// derived from the secret key, for a running server to deliver.
func usersSendReset(ctx context.Context, e cmdEnv, c adminConfig, resetURL string, ttl time.Duration, pos []string) error {
	if err := auth.CheckLinkTemplate(resetURL); err != nil {
		return usageError{Msg: fmt.Sprintf("--reset-url %q %v", resetURL, err)}
	}
	if ttl < time.Minute {
		return usageError{Msg: "--reset-ttl must be at least 1m"}
	}
	a, idOrLogin, err := openForUser(ctx, e, c, pos)
	if err != nil {
		return err
	}
	defer a.db.Close()
	sec, _, err := loadSecrets(e.getenv, c.db.DB, c.db.SecretKeyFile)
	if err != nil {
		return err
	}
	sealer, err := token.NewSealer(sec.outboxSeal)
	if err != nil {
		return err
	}
	admin, err := auth.NewAdmin(auth.AdminConfig{Store: a.db, Logger: a.log, MailSealer: sealer, ResetURL: resetURL, ResetTTL: ttl})
	if err != nil {
		return err
	}
	u, err := admin.SendReset(ctx, idOrLogin)
	if errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("no user with ID or login %q", idOrLogin)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "reset link for user %s (%s) queued to %s\n", termSafe(u.ID), termSafe(u.Login), termSafe(u.Email))
	return nil
}

// inputKey is the context key of standard input when it is not a
// terminal, which main sets.
type inputKey struct{}

// withInput returns ctx carrying r as the (non-terminal) standard input.
func withInput(ctx context.Context, r io.Reader) context.Context {
	return context.WithValue(ctx, inputKey{}, r)
}

// maxPasswordLine bounds the line a password is read from.
const maxPasswordLine = 16 << 10

// readNewPassword reads a password: on the terminal (see withTerminal)
// without echo, after prompt on stderr, twice, the two having to match;
// otherwise the first line of standard input (see withInput), without its
// line break.
func readNewPassword(ctx context.Context, stderr io.Writer, prompt string) (string, error) {
	if tty, _ := ctx.Value(stdinKey{}).(io.Reader); tty != nil {
		br := bufio.NewReader(tty)
		ask := func(p string) (string, error) {
			fmt.Fprint(stderr, p)
			defer fmt.Fprintln(stderr)
			if f, ok := tty.(*os.File); ok {
				b, err := term.ReadPassword(int(f.Fd()))
				return string(b), err
			}
			return readLine(br)
		}
		pw, err := ask(prompt)
		if err != nil {
			return "", err
		}
		again, err := ask("Again: ")
		if err != nil {
			return "", err
		}
		if pw != again {
			return "", errors.New("the two passwords differ; nothing changed")
		}
		return pw, nil
	}
	in, _ := ctx.Value(inputKey{}).(io.Reader)
	if in == nil {
		return "", usageError{Msg: "set-password reads the password from a terminal or from standard input"}
	}
	pw, err := readLine(bufio.NewReader(in))
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

// readLine reads one line of at most maxPasswordLine bytes from br, without
// its line break; end of input ends the line.
func readLine(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		c, err := br.ReadByte()
		if errors.Is(err, io.EOF) || c == '\n' {
			break
		}
		if err != nil {
			return "", err
		}
		if b.Len() >= maxPasswordLine {
			return "", errors.New("the password line is too long")
		}
		b.WriteByte(c)
	}
	return strings.TrimSuffix(b.String(), "\r"), nil
}
