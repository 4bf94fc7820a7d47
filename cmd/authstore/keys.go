package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/internal/cmdline"
	"github.com/authstore/auth/token"
)

// keysList runs `authstore keys list`: the signing keys and their state.
func keysList(ctx context.Context, e cmdEnv, c keysListConfig) error {
	db, _, err := c.open(ctx, openExisting, e.stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.SigningKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SERIAL\tKID\tALG\tCREATED\tACTIVATES\tSTATE\tRETIRED\tREMOVED\tTOKENS REFUSED\n")
	for _, st := range token.States(list, time.Now(), retention(c.accessTTL, c.keys)) {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Key.Serial, termSafe(st.Key.ID), termSafe(st.Key.Algorithm),
			rfc3339(st.Key.CreatedAt), rfc3339(st.Key.ActivatesAt), st.State, rfc3339(st.RetiredAt),
			rfc3339(st.Key.RemovedAt), rfc3339(st.Key.RefusedAt))
	}
	return tw.Flush()
}

// keysRotate runs `authstore keys rotate`: it creates the next signing key,
// published at once and signing after c.activateIn.
func keysRotate(ctx context.Context, e cmdEnv, c keysRotateConfig) error {
	if c.activateIn < 0 {
		return cmdline.BadFlag("activate-in", "must not be negative")
	}
	db, _, err := c.open(ctx, openExisting, e.stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	sec, _, err := loadSecrets(e.getenv, c.db.DB, c.db.SecretKeyFile)
	if err != nil {
		return err
	}
	sealer, err := token.NewSealer(sec.keySeal)
	if err != nil {
		return err
	}
	keys, err := token.NewKeys(token.KeysConfig{Store: db, Sealer: sealer, Algorithm: c.alg})
	if err != nil {
		return usageError{Msg: err.Error()}
	}
	// Loading first checks that this secret key opens the keys in use:
	// a key sealed under another secret would be refused by every
	// instance.
	if err := keys.Load(ctx); err != nil {
		return err
	}
	nk, err := keys.Rotate(ctx, c.alg, c.activateIn)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created key %s (%s, serial %d): in the JWKS within %s, signing from %s\n",
		termSafe(nk.ID), termSafe(nk.Algorithm), nk.Serial, c.keys.Reload, rfc3339(nk.ActivatesAt))
	return nil
}

// keysRetire runs `authstore keys retire KID [--now] [flags]`. It acts on
// the database only: each instance applies it at its next key reload.
func keysRetire(ctx context.Context, e cmdEnv, c keysRetireConfig, kid string) error {
	if kid == "" {
		return usageError{Msg: "keys retire needs the KID of the key (authstore keys list shows them)"}
	}
	db, _, err := c.open(ctx, openExisting, e.stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	k, err := token.Retire(ctx, db, kid, c.now, time.Now())
	if errors.Is(err, auth.ErrNotFound) {
		return usageError{Msg: fmt.Sprintf("no signing key %q (authstore keys list shows them)", kid)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed key %s (%s, serial %d): out of every instance's JWKS within %s\n", k.ID, k.Algorithm, k.Serial, c.reload)
	if c.now {
		fmt.Fprintf(e.stdout, "its tokens are refused by every instance within %s; verifiers elsewhere drop it when they refetch the JWKS\n", c.reload)
	} else {
		fmt.Fprintf(e.stdout, "its tokens still pass authstore's own checks until they expire; add --now to refuse them too\n")
	}
	return nil
}
