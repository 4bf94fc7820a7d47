package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/sqlstore"
	"github.com/authstore/auth/token"
)

// shutdownWait bounds how long in-flight requests may finish after a signal.
const shutdownWait = 15 * time.Second

// serve runs the HTTP server until ctx is done, then drains it and closes
// the database.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := cfg.logger(stderr)

	// The database is opened first, so that a --db it refuses leaves no key
	// file behind.
	db, err := sqlstore.Open(ctx, cfg.DB, sqlstore.Options{Migrate: true})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	sec, secretSource, err := loadSecrets(getenv, cfg.DB)
	if err != nil {
		return err
	}

	sealer, err := token.NewSealer(sec.keySeal)
	if err != nil {
		return err
	}
	ring, err := token.LoadKeyRing(ctx, db, cfg.SigningAlg, sealer, rand.Reader, time.Now)
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	svc, err := auth.NewService(auth.Config{
		Store:             db,
		Signer:            ring,
		Hasher:            password.New(password.Options{Params: password.OWASP()}),
		RefreshKey:        sec.refreshMAC,
		Issuer:            cfg.Issuer,
		Audience:          cfg.Audience,
		AccessTTL:         cfg.AccessTTL,
		RefreshTTL:        cfg.RefreshTTL,
		RefreshGrace:      cfg.RefreshGrace,
		PasswordMaxLength: cfg.PasswordMaxLength,
		Logger:            log,
	})
	if err != nil {
		return err
	}
	handler := httpapi.NewServer(httpapi.Config{
		Logger:       log,
		CORSOrigins:  cfg.corsOrigins(),
		MaxBodyBytes: cfg.MaxBodyBytes,
		JWKS:         ring.JWKS,
	}, svc)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on --addr %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log.Info("authstore listening", "addr", ln.Addr().String(), "db", cfg.DB,
		"signing_alg", cfg.SigningAlg, "kid", ring.ActiveKID(), "secret_key", secretSource, "version", version)
	fmt.Fprintf(stdout, "authstore listening on http://%s\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "wait", shutdownWait.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running past the wait are cut off before the
		// database closes under them.
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
