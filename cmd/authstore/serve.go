package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/metrics"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/token"
)

// shutdownWait bounds how long in-flight requests may finish after a signal.
const shutdownWait = 15 * time.Second

// serve runs the HTTP server until ctx is done, then drains it and closes
// the database: for --shutdown-delay /readyz answers 503 and every response
// closes its connection while requests are still served; then the listener
// closes and in-flight requests get up to shutdownWait to finish.
func serve(ctx context.Context, e cmdEnv, cfg serveConfig) error {
	getenv, stdout := e.getenv, e.stdout
	log := cfg.logger(e.stderr)
	var err error
	setMemoryLimit(cfg.MemoryLimit, getenv, log)
	var (
		jwtSecret []byte
		jwtSource string
	)
	if cfg.SigningAlg == token.HS256 {
		if jwtSecret, jwtSource, err = loadJWTSecret(getenv, cfg.JWTSecretFile); err != nil {
			return err
		}
	}

	// A SQLite database is opened before its key file is made, so that a
	// --db it refuses leaves no key file behind. PostgreSQL makes no file:
	// its secret is checked first, so that a missing one migrates nothing.
	var (
		sec          secrets
		secretSource string
	)
	if isPostgres(cfg.db.DB) {
		if sec, secretSource, err = loadSecrets(getenv, cfg.db.DB, cfg.db.SecretKeyFile); err != nil {
			return err
		}
	}
	mode := openMigrate
	if cfg.NoMigrate {
		mode = openExisting
	}
	db, err := openDB(ctx, cfg.db, mode, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if !isPostgres(cfg.db.DB) {
		if sec, secretSource, err = loadSecrets(getenv, cfg.db.DB, cfg.db.SecretKeyFile); err != nil {
			return err
		}
	}

	keysCtx, stopKeys := context.WithCancel(ctx)
	defer stopKeys()
	var (
		signer auth.AccessTokenSigner
		jwks   func() []byte
		kid    string
	)
	if cfg.SigningAlg == token.HS256 {
		// The compatibility mode signs with the shared secret only: the
		// stored keys neither sign nor verify, and nothing rotates.
		h, err := token.NewHMAC(jwtSecret, nil)
		clear(jwtSecret)
		if err != nil {
			return usageError{Msg: err.Error()}
		}
		signer, jwks = h, h.JWKS
		log.Info("signing access tokens with HS256 and the shared secret; the JWKS is empty and keys do not rotate", "jwt_secret", jwtSource)
	} else {
		sealer, err := token.NewSealer(sec.keySeal)
		if err != nil {
			return err
		}
		keys, err := token.LoadKeys(ctx, token.KeysConfig{
			Store:           db,
			Sealer:          sealer,
			Algorithm:       cfg.SigningAlg,
			ActivationDelay: cfg.keys.ActivationDelay,
			Retention:       retention(cfg.AccessTTL, cfg.keys),
			Rotation:        cfg.keys.Rotation,
			Reload:          cfg.keys.Reload,
			Logger:          log,
		})
		if err != nil {
			return fmt.Errorf("signing keys: %w", err)
		}
		go keys.Run(keysCtx)
		signer, jwks, kid = keys, keys.JWKS, keys.ActiveKID()
	}

	var common auth.PasswordBlocklist
	if !cfg.AllowCommon {
		blocklist, err := loadBlocklist(cfg.PasswordBlocklist)
		if err != nil {
			return err
		}
		common = blocklist
	} else {
		log.Warn("the common-password check is off (--allow-common-passwords): signup accepts passwords such as 12345678")
	}
	hasher := password.New(password.Options{Params: password.OWASP()})
	m := metrics.New(metrics.Sources{
		Hashing: func() metrics.HashingStats {
			s := hasher.Stats()
			return metrics.HashingStats{Slots: s.Slots, InFlight: s.InFlight, Waiting: s.Waiting, Rejected: s.Rejected}
		},
		DB: db.Stats,
	})
	svc, err := auth.NewService(auth.Config{
		Store:             db,
		Signer:            signer,
		Hasher:            hasher,
		OnEvent:           m.Event,
		MaxPasswordChecks: hasher.Capacity(),
		// Suspect sources may hold two places per hashing slot: enough to
		// keep every CPU hashing when only they are left, and a clean
		// signin queues behind at most two of their hashes per slot.
		SuspectChecks:      2 * hasher.Stats().Slots,
		RefreshKey:         sec.refreshMAC,
		Issuer:             cfg.Issuer,
		Audience:           cfg.Audience,
		AccessTTL:          cfg.AccessTTL,
		RefreshTTL:         cfg.RefreshTTL,
		RefreshGrace:       cfg.RefreshGrace,
		PasswordMaxLength:  cfg.PasswordMaxLength,
		PasswordMinLength:  cfg.PasswordMinLength,
		CommonPasswords:    common,
		IPRateLimit:        cfg.IPRateLimit,
		IPRefreshRateLimit: cfg.IPRefreshLimit,
		SubnetRateLimit:    cfg.SubnetRateLimit,
		Logger:             log,
	})
	if err != nil {
		return err
	}
	go housekeeping(keysCtx, svc, log)
	proxies, _ := cfg.trustedProxies() // checked by parseServeFlags
	handler := httpapi.NewServer(httpapi.Config{
		TrustedProxies: proxies,
		Observe:        m.ObserveRequest,
		Metrics:        metricsHandler(cfg.Metrics, m),
		Logger:         log,
		CORSOrigins:    cfg.corsOrigins(),
		MaxBodyBytes:   cfg.MaxBodyBytes,
		JWKS:           jwks,
		Issuer:         cfg.Issuer,
		JWKSMaxAge:     cfg.keys.jwksMaxAge(),
	}, svc)

	if cfg.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
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
	log.Info("authstore listening", "addr", ln.Addr().String(), "db", describeDSN(cfg.db.DB),
		"alg", cfg.SigningAlg, "kid", kid, "secret_key", secretSource, "version", version)
	fmt.Fprintf(stdout, "authstore listening on http://%s\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if cfg.ShutdownDelay > 0 {
		// The drain: /readyz answers 503 so that load balancers stop
		// sending, while the listener stays open and every request is
		// still served, each keep-alive connection closing after its
		// next response. A second signal kills the process (see main).
		log.Info("draining", "delay", cfg.ShutdownDelay.String())
		svc.Drain()
		select {
		case <-time.After(cfg.ShutdownDelay):
		case err := <-served:
			return fmt.Errorf("serve: %w", err)
		}
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

// housekeepingInterval is how often serve purges dead rows.
const housekeepingInterval = time.Hour

// housekeeping deletes old failed-signin records and dead sessions every
// housekeepingInterval until ctx is done. Every instance does it; the
// deletes are idempotent.
func housekeeping(ctx context.Context, svc *auth.Service, log *slog.Logger) {
	t := time.NewTicker(housekeepingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := svc.PurgeLoginFailures(ctx); err != nil {
			log.Warn("purging login failures failed", "error", err.Error())
		} else if n > 0 {
			log.Info("purged login failures", "deleted", n)
		}
		if n, err := svc.PurgeSessions(ctx); err != nil {
			log.Warn("purging sessions failed", "error", err.Error())
		} else if n > 0 {
			log.Info("purged sessions", "deleted", n)
		}
	}
}

// loadBlocklist returns the built-in list of common passwords plus the
// ones in path, if set.
func loadBlocklist(path string) (*password.Blocklist, error) {
	if path == "" {
		return password.NewBlocklist()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--password-blocklist: %w", err)
	}
	defer f.Close()
	list, err := password.NewBlocklist(f)
	if err != nil {
		return nil, fmt.Errorf("--password-blocklist %s: %w", path, err)
	}
	return list, nil
}

// metricsHandler returns m's handler, or nil when metrics are off.
func metricsHandler(on bool, m *metrics.Metrics) http.Handler {
	if !on {
		return nil
	}
	return m.Handler()
}

// servePprof serves the net/http/pprof handlers on their own listener at
// addr, apart from the API, and returns a function that stops it.
func servePprof(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --pprof-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	// Not /debug/pprof/cmdline: the command line may hold --db's password.
	// pprof.Index, which serves every other path under /debug/pprof/, is
	// kept from answering it (its profile list never included it).
	mux.Handle("/debug/pprof/cmdline", http.NotFoundHandler())
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("pprof listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// setMemoryLimit sets the Go runtime's soft memory limit to limit bytes,
// unless GOMEMLIMIT is set (it wins) or limit is 0. Password hashing
// allocates 19 MiB per hash; with the default GOGC alone, a flood of signins
// lets the heap grow to twice its live size between collections.
func setMemoryLimit(limit int64, getenv func(string) string, log *slog.Logger) {
	if limit <= 0 || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(limit)
	log.Debug("memory limit set", "bytes", limit)
}
