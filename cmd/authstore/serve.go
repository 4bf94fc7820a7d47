package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/internal/cmdline"
	"github.com/authstore/auth/internal/logwriter"
	"github.com/authstore/auth/mail"
	"github.com/authstore/auth/metrics"
	"github.com/authstore/auth/passkey"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/sqlstore"
	"github.com/authstore/auth/token"
)

// shutdownWait bounds how long in-flight requests may finish after a signal.
const shutdownWait = 15 * time.Second

// serve runs the HTTP server until ctx is done, then drains it and closes
// the database: for --shutdown-delay /readyz answers 503 and every response
// closes its connection while requests are still served; then the listener
// closes and in-flight requests get up to shutdownWait to finish.
func serve(ctx context.Context, e cmdEnv, cfg serveConfig) error {
	// Log lines are written from a goroutine of their own, many to a
	// write under load; none is dropped, and the rest is written when
	// serve returns (this defer runs last). Audit events, warnings and
	// errors are written through before the call that logs them returns,
	// so a kill right after a request's answer cannot lose them.
	logOut := logwriter.New(e.stderr, 0)
	defer logOut.Close()
	log := cfg.logger(logOut)
	log = slog.New(logwriter.FlushOn(log.Handler(), logOut, mustWrite))
	setMemoryLimit(cfg.MemoryLimit, e.getenv, log)
	a, err := newApp(ctx, cfg, e.getenv, log)
	if err != nil {
		return err
	}
	defer a.close()
	handler := a.handler
	// Starting (migrations, the blocklist, the key ring) leaves garbage
	// several times the size of what stays live; give its pages back now
	// rather than holding them until the scavenger gets to them.
	debug.FreeOSMemory()

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
		"alg", cfg.SigningAlg, "kid", a.kid, "secret_key", a.secretSource, "version", version)
	fmt.Fprintf(e.stdout, "authstore listening on http://%s\n", ln.Addr())
	return serveUntilDone(ctx, srv, ln, a.svc.Drain, cfg.ShutdownDelay, log)
}

// serveUntilDone serves ln with srv until ctx is done, then drains: for
// delay, drain has been called (/readyz answers 503, connections close
// after each response) and requests are still served; then srv shuts down,
// giving in-flight requests up to shutdownWait.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, drain func(), delay time.Duration, log *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if delay > 0 {
		// The drain: /readyz answers 503 so that load balancers stop
		// sending, while the listener stays open and every request is
		// still served, each keep-alive connection closing after its
		// next response. A second signal kills the process (see main).
		log.Info("draining", "delay", delay.String())
		drain()
		select {
		case <-time.After(delay):
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

// app is the authstore server, built and ready to serve.
type app struct {
	handler      http.Handler
	svc          *auth.Service // drained at shutdown
	kid          string        // the active signing key, for the start log
	secretSource string        // where the secret key came from, for the start log
	// mailer delivers the outbox; nil until the store keeps one (see
	// startMailer). Its Wake is for the service, after a commit that mails.
	mailer  *mail.Sender
	closers []func() // close runs them last first
}

// close stops the app's background work and closes its database.
func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// newApp opens the database (migrating it unless --no-migrate), loads the
// secrets and the signing keys, starts the key reloads, the mail sender and
// the housekeeping, and builds the service and its HTTP handler. The caller
// must close the app once its handler is no longer served; on error,
// everything opened is closed already. At about 90 lines it is over the
// usual 80: most of it is the auth.Config and httpapi.Config literals, one
// field a line, kept whole so that the service's wiring reads in one place.
func newApp(ctx context.Context, cfg serveConfig, getenv func(string) string, log *slog.Logger) (_ *app, err error) {
	a := &app{}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	// The HS256 secret is checked before the database is opened, so that a
	// missing one migrates nothing.
	var (
		jwtSecret []byte
		jwtSource string
	)
	if cfg.SigningAlg == token.HS256 {
		if jwtSecret, jwtSource, err = loadJWTSecret(getenv, cfg.JWTSecretFile); err != nil {
			return nil, err
		}
	}
	db, sec, err := openStore(ctx, cfg, getenv, log, a)
	if err != nil {
		return nil, err
	}
	keysCtx, stopKeys := context.WithCancel(ctx)
	a.closers = append(a.closers, stopKeys)
	signer, jwks, kid, err := newSigner(ctx, keysCtx, cfg, db, sec, jwtSecret, jwtSource, log)
	if err != nil {
		return nil, err
	}

	common, err := commonPasswords(cfg, log)
	if err != nil {
		return nil, err
	}
	// Outbox payloads hold raw link tokens until delivery: they are sealed
	// under a key of their own, derived from the secret key; the service
	// seals, the mail sender opens.
	outboxSealer, err := token.NewSealer(sec.outboxSeal)
	if err != nil {
		return nil, err
	}
	if a.mailer, err = startMailer(ctx, cfg, db, outboxSealer, log, a); err != nil {
		return nil, err
	}
	var svc *auth.Service // read by the metrics at each scrape, once set
	m := metrics.New(metrics.Sources{
		Hashing: func() metrics.HashingStats {
			s := svc.HashingStats()
			return metrics.HashingStats{Slots: s.Slots, InFlight: s.InFlight, Waiting: s.Waiting, Rejected: s.Rejected}
		},
		DB:   db.Stats,
		Mail: mailStats(a.mailer),
	})
	// TOTP secrets are sealed under a key of their own too.
	mfaSealer, err := token.NewSealer(sec.mfaSeal)
	if err != nil {
		return nil, err
	}
	rp, _ := cfg.webAuthn() // checked by serveConfig.check
	webAuthn, err := passkey.New(rp)
	if err != nil {
		return nil, cmdline.BadFlag("webauthn-rp-id", "%v", err)
	}
	hashes := runtime.NumCPU() // one password hash per CPU at once
	svc, err = auth.NewService(auth.Config{
		Store:          db,
		Signer:         signer,
		Hasher:         password.New(password.Options{Params: password.OWASP()}),
		OnEvent:        m.Event,
		PasswordHashes: hashes,
		// Suspect sources may hold two places per running hash: enough to
		// keep every CPU hashing when only they are left, and a clean
		// signin queues behind at most two of their hashes per CPU.
		SuspectChecks:     2 * hashes,
		RefreshKey:        sec.refreshMAC,
		Issuer:            cfg.Issuer,
		Audience:          cfg.Audience,
		AccessTTL:         cfg.AccessTTL,
		RefreshTTL:        cfg.RefreshTTL,
		RefreshGrace:      cfg.RefreshGrace,
		PasswordMaxLength: cfg.PasswordMaxLength,
		PasswordMinLength: cfg.PasswordMinLength,
		CommonPasswords:   common,
		Logger:            log,
		MailSealer:        outboxSealer,
		MFASealer:         mfaSealer,
		TOTPIssuer:        totpIssuer(cfg.Issuer),
		ResetURL:          cfg.ResetURL,
		VerifyURL:         cfg.VerifyURL,
		ResetTTL:          cfg.ResetTTL,
		VerifyTTL:         cfg.VerifyTTL,
		// Signup always stores a verification mail: with --smtp-url the
		// sender delivers it, without it the log mailer (development).
		SendVerification:     true,
		RequireVerifiedEmail: cfg.RequireVerifiedEmail,
		ForgotFloor:          forgotFloor,
		WebAuthn:             webAuthn,
	})
	if err != nil {
		return nil, err
	}
	go housekeeping(keysCtx, svc, log)
	proxies, _ := cfg.trustedProxies() // checked by serveConfig.check
	a.handler = httpapi.NewServer(httpapi.Config{
		TrustedProxies: proxies,
		Observe:        m.ObserveRequest,
		Metrics:        metricsHandler(cfg.Metrics, m),
		Logger:         log,
		CORSOrigins:    cfg.corsOrigins(),
		MaxBodyBytes:   cfg.MaxBodyBytes,
		JWKS:           jwks,
		Issuer:         cfg.Issuer,
		JWKSMaxAge:     cfg.keys.jwksMaxAge(),

		IPRateLimit:        cfg.IPRateLimit,
		IPRefreshRateLimit: cfg.IPRefreshLimit,
		SubnetRateLimit:    cfg.SubnetRateLimit,
		MailRateLimit:      cfg.MailRateLimit,
	}, svc)
	a.svc, a.kid = svc, kid
	return a, nil
}

// openStore loads the secrets and opens the database, migrating it unless
// --no-migrate; a.closers gets the database's Close and a.secretSource
// where the secret key came from. A SQLite database is opened before its
// key file is made, so that a --db it refuses leaves no key file behind.
// PostgreSQL makes no file: its secret is checked first, so that a missing
// one migrates nothing.
func openStore(ctx context.Context, cfg serveConfig, getenv func(string) string, log *slog.Logger, a *app) (*sqlstore.DB, secrets, error) {
	var (
		sec secrets
		err error
	)
	if sqlstore.IsPostgres(cfg.db.DB) {
		if sec, a.secretSource, err = loadSecrets(getenv, cfg.db.DB, cfg.db.SecretKeyFile); err != nil {
			return nil, sec, err
		}
	}
	mode := openMigrate
	if cfg.NoMigrate {
		mode = openExisting
	}
	db, err := openDB(ctx, cfg.db, mode, log)
	if err != nil {
		return nil, sec, err
	}
	a.closers = append(a.closers, func() { db.Close() })
	if !sqlstore.IsPostgres(cfg.db.DB) {
		if sec, a.secretSource, err = loadSecrets(getenv, cfg.db.DB, cfg.db.SecretKeyFile); err != nil {
			return nil, sec, err
		}
	}
	return db, sec, nil
}

// newSigner returns what signs access tokens, the JWKS and the active key
// ID: with HS256 the shared secret jwtSecret (cleared), else the stored
// keys, reloaded and rotated until keysCtx is done.
func newSigner(ctx, keysCtx context.Context, cfg serveConfig, db *sqlstore.DB, sec secrets, jwtSecret []byte, jwtSource string, log *slog.Logger) (signer auth.AccessTokenSigner, jwks func() []byte, kid string, err error) {
	if cfg.SigningAlg == token.HS256 {
		// The compatibility mode signs with the shared secret only: the
		// stored keys neither sign nor verify, and nothing rotates.
		h, err := token.NewHMAC(jwtSecret, nil)
		clear(jwtSecret)
		if err != nil {
			return nil, nil, "", usageError{Msg: err.Error()}
		}
		signer, jwks = h, h.JWKS
		log.Info("signing access tokens with HS256 and the shared secret; the JWKS is empty and keys do not rotate", "jwt_secret", jwtSource)
	} else {
		sealer, err := token.NewSealer(sec.keySeal)
		if err != nil {
			return nil, nil, "", err
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
			return nil, nil, "", fmt.Errorf("signing keys: %w", err)
		}
		go keys.Run(keysCtx)
		signer, jwks, kid = keys, keys.JWKS, keys.ActiveKID()
	}
	return signer, jwks, kid, nil
}

// forgotFloor is the least time a forgot-password request takes, so that
// an address with an account (whose request stores a token and a message)
// is answered no later than one without: well above that work's usual
// time (under a millisecond on SQLite, a few on PostgreSQL).
const forgotFloor = 250 * time.Millisecond

// startMailer loads the mail templates (refusing broken ones), builds the
// transport (SMTP with --smtp-url, else the log, with a warning) and, when
// the store keeps an outbox, starts the sender, which runs until the app
// closes: after the HTTP drain, so that requests served while draining
// still have their mail sent, and before the database closes. It returns
// the sender, or nil when none runs.
func startMailer(ctx context.Context, cfg serveConfig, db *sqlstore.DB, opener *token.Sealer, log *slog.Logger, a *app) (*mail.Sender, error) {
	templates, err := mail.LoadTemplates(cfg.MailTemplates)
	if err != nil {
		return nil, fmt.Errorf("--mail-templates: %w", err)
	}
	var tr mail.Transport
	if cfg.SMTPURL == "" {
		log.Warn("no --smtp-url: mail is written to the log, links included; for development only")
		tr = mail.Log{Logger: log}
	} else {
		o, _ := mail.ParseSMTPURL(cfg.SMTPURL) // checked by serveConfig.check
		from, _ := mail.ParseFrom(cfg.MailFrom)
		smtp, err := mail.NewSMTP(o, from)
		if err != nil {
			return nil, err
		}
		tlsMode := "starttls " + o.StartTLS
		if o.ImplicitTLS {
			tlsMode = "implicit"
		}
		// host:port only: the URL may hold the password.
		log.Info("mail goes through SMTP", "server", o.Server(), "tls", tlsMode, "auth", o.Username != "", "from", from.Address)
		tr = smtp
	}
	var outbox auth.OutboxStore = db
	owner, err := senderOwner()
	if err != nil {
		return nil, err
	}
	s, err := mail.NewSender(mail.Config{
		Store: outbox, Opener: opener, Transport: tr, Templates: templates, Owner: owner, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(sctx)
	}()
	a.closers = append(a.closers, func() { stop(); <-done })
	return s, nil
}

// senderOwner names this instance in the outbox leases: hostname, pid and
// 32 random bits, so that two processes never share a name.
func senderOwner() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s-%d-%x", host, os.Getpid(), r), nil
}

// mailStats returns the metrics' view of s's counters, or nil without s.
func mailStats(s *mail.Sender) func() metrics.MailStats {
	if s == nil {
		return nil
	}
	return func() metrics.MailStats {
		st := s.Stats()
		return metrics.MailStats{Sent: st.Sent, Retried: st.Retried, Failed: st.Failed}
	}
}

// housekeepingInterval is how often serve purges dead rows.
const housekeepingInterval = time.Hour

// housekeeping deletes old failed-signin records, dead sessions, expired
// account tokens, old mail throttle records and expired mfa tokens every
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
		if n, err := svc.PurgeCeremonies(ctx); err != nil {
			log.Warn("purging passkey ceremonies failed", "error", err.Error())
		} else if n > 0 {
			log.Info("purged expired passkey ceremonies", "deleted", n)
		}
		if n, err := svc.PurgeAccountTokens(ctx); err != nil {
			log.Warn("purging account tokens failed", "error", err.Error())
		} else if n > 0 {
			log.Info("purged account tokens and mail throttle records", "deleted", n)
		}
		if n, err := svc.PurgeMFATokens(ctx); err != nil {
			log.Warn("purging mfa tokens failed", "error", err.Error())
		} else if n > 0 {
			log.Info("purged mfa tokens", "deleted", n)
		}
	}
}

// totpIssuer is the issuer label authenticator apps show for --issuer: its
// host when it is a URL (the service's public URL), else itself.
func totpIssuer(issuer string) string {
	if u, err := url.Parse(issuer); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		return u.Hostname()
	}
	return issuer
}

// commonPasswords returns the passwords signup refuses as too common: the
// built-in list plus --password-blocklist, or none with
// --allow-common-passwords (logged as a warning).
func commonPasswords(cfg serveConfig, log *slog.Logger) (auth.PasswordBlocklist, error) {
	if cfg.AllowCommon {
		log.Warn("the common-password check is off (--allow-common-passwords): signup accepts passwords such as 12345678")
		return nil, nil
	}
	return loadBlocklist(cfg.PasswordBlocklist)
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

// mustWrite reports whether serve writes r through at once: audit events
// (message "audit"), warnings and errors.
func mustWrite(r slog.Record) bool {
	return r.Level >= slog.LevelWarn || r.Message == "audit"
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
