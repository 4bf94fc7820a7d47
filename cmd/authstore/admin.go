package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/token"
)

// migrateCmd runs `authstore migrate [up|status] [flags]`.
func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	action := "up"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		action, args = args[0], args[1:]
	}
	if action != "up" && action != "status" {
		return usageError{Msg: fmt.Sprintf("unknown migrate action %q (want up or status)", action)}
	}
	var (
		c  dbConfig
		lc logConfig
	)
	fs := flag.NewFlagSet("authstore migrate", flag.ContinueOnError)
	c.addFlags(fs)
	lc.addFlags(fs)
	if err := parseFlags(fs, args, getenv, stderr,
		"Usage: authstore migrate [up|status] [flags]\n\nup applies pending migrations, creating a SQLite database if there is none\n(serve does this at start unless --no-migrate); status lists them. Safe while\nother instances run or start.\n\n"); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	log, err := lc.logger(stderr)
	if err != nil {
		return err
	}
	mode := openExisting
	if action == "up" {
		mode = openCreate
	}
	db, err := openDB(ctx, c, mode, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if action == "up" {
		if _, err := db.Migrate(ctx); err != nil {
			return err
		}
	}
	list, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "VERSION\tNAME\tAPPLIED\n")
	for _, m := range list {
		applied := "pending"
		if m.Applied {
			applied = rfc3339(m.AppliedAt)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, applied)
	}
	return tw.Flush()
}

// keysHelp is the help of `authstore keys`.
const keysHelp = `Usage: authstore keys list|rotate|retire [flags]

list shows the signing keys and their state; rotate creates the next key,
published at once and signing after --activate-in (EdDSA, ES256 and RS256
only: HS256's shared secret is not a stored key).

retire KID [--now] takes a key out of every instance's JWKS at its next
reload (--key-reload), e.g. after a leak; the row stays and list shows it
as removed. Its tokens still pass authstore's own checks until they expire,
unless --now: then every instance refuses them from its next reload too.
The active key can be retired only once a newer key exists, which then
signs at once (authstore keys rotate --activate-in 0 first).

`

// keysCmd runs `authstore keys list|rotate|retire [flags]`.
func keysCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const help = keysHelp + secretHelp
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate" && args[0] != "retire") {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
			fmt.Fprint(stderr, help)
			return flag.ErrHelp
		}
		return usageError{Msg: "keys needs an action: list, rotate or retire"}
	}
	action := args[0]
	if action == "retire" {
		return keysRetire(ctx, args[1:], getenv, stdout, stderr)
	}
	var (
		c          dbConfig
		lc         logConfig
		k          keysConfig
		alg        string
		activateIn time.Duration
		accessTTL  time.Duration
	)
	fs := flag.NewFlagSet("authstore keys "+action, flag.ContinueOnError)
	c.addFlags(fs)
	lc.addFlags(fs)
	fs.DurationVar(&accessTTL, "access-ttl", 20*time.Minute, "access token lifetime, as serve has it (decides when a retired key expires)")
	fs.DurationVar(&k.Reload, "key-reload", time.Minute, "how often instances re-read the keys, as serve has it")
	if action == "rotate" {
		fs.StringVar(&alg, "signing-alg", "EdDSA", "algorithm of the new key: EdDSA, ES256 or RS256")
		fs.DurationVar(&activateIn, "activate-in", 10*time.Minute, "delay before the new key signs; keep it at serve's --key-activation-delay (0 signs at the next reload: verifiers caching the JWKS may refuse its tokens until they refetch)")
	}
	if err := parseFlags(fs, args[1:], getenv, stderr, help); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	if activateIn < 0 {
		return badFlag("activate-in", "must not be negative")
	}
	log, err := lc.logger(stderr)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, c, openExisting, log)
	if err != nil {
		return err
	}
	defer db.Close()

	if action == "rotate" {
		sec, _, err := loadSecrets(getenv, c.DB, c.SecretKeyFile)
		if err != nil {
			return err
		}
		sealer, err := token.NewSealer(sec.keySeal)
		if err != nil {
			return err
		}
		keys, err := token.NewKeys(token.KeysConfig{Store: db, Sealer: sealer, Algorithm: alg})
		if err != nil {
			return usageError{Msg: err.Error()}
		}
		// Loading first checks that this secret key opens the keys in use:
		// a key sealed under another secret would be refused by every
		// instance.
		if err := keys.Load(ctx); err != nil {
			return err
		}
		nk, err := keys.Rotate(ctx, alg, activateIn)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created key %s (%s, serial %d): in the JWKS within %s, signing from %s\n",
			termSafe(nk.ID), termSafe(nk.Algorithm), nk.Serial, k.Reload, rfc3339(nk.ActivatesAt))
		return nil
	}

	list, err := db.SigningKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SERIAL\tKID\tALG\tCREATED\tACTIVATES\tSTATE\tRETIRED\tREMOVED\tTOKENS REFUSED\n")
	for _, st := range token.States(list, time.Now(), retention(accessTTL, k)) {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Key.Serial, termSafe(st.Key.ID), termSafe(st.Key.Algorithm),
			rfc3339(st.Key.CreatedAt), rfc3339(st.Key.ActivatesAt), st.State, rfc3339(st.RetiredAt),
			rfc3339(st.Key.RemovedAt), rfc3339(st.Key.RefusedAt))
	}
	return tw.Flush()
}

// keysRetire runs `authstore keys retire KID [--now] [flags]`. It acts on
// the database only: each instance applies it at its next key reload.
func keysRetire(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var kid string
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		kid, args = args[0], args[1:]
	}
	var (
		c      dbConfig
		lc     logConfig
		now    bool
		reload time.Duration
	)
	fs := flag.NewFlagSet("authstore keys retire", flag.ContinueOnError)
	c.addFlags(fs)
	lc.addFlags(fs)
	fs.BoolVar(&now, "now", false, "also make every instance refuse the key's tokens, from its next reload")
	fs.DurationVar(&reload, "key-reload", time.Minute, "how often instances re-read the keys, as serve has it (for the message only)")
	if err := parseFlags(fs, args, getenv, stderr, keysHelp+secretHelp); err != nil {
		return err
	}
	if kid == "" {
		return usageError{Msg: "keys retire needs the KID of the key (authstore keys list shows them)"}
	}
	if err := c.check(); err != nil {
		return err
	}
	log, err := lc.logger(stderr)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, c, openExisting, log)
	if err != nil {
		return err
	}
	defer db.Close()
	k, err := token.Retire(ctx, db, kid, now, time.Now())
	if errors.Is(err, auth.ErrNotFound) {
		return usageError{Msg: fmt.Sprintf("no signing key %q (authstore keys list shows them)", kid)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed key %s (%s, serial %d): out of every instance's JWKS within %s\n", k.ID, k.Algorithm, k.Serial, reload)
	if now {
		fmt.Fprintf(stdout, "its tokens are refused by every instance within %s; verifiers elsewhere drop it when they refetch the JWKS\n", reload)
	} else {
		fmt.Fprintf(stdout, "its tokens still pass authstore's own checks until they expire; add --now to refuse them too\n")
	}
	return nil
}
