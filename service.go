package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"
)

// Config holds the Service's dependencies and settings.
type Config struct {
	Store  Store
	Signer AccessTokenSigner
	Hasher PasswordHasher
	// Verifier checks the bearer tokens of the session endpoints (Me,
	// Sessions, RevokeSession, LogoutAll). Nil means Signer, if it
	// implements AccessTokenVerifier; otherwise those endpoints fail.
	Verifier AccessTokenVerifier
	// RefreshKey is the MAC key of refresh tokens, at least 32 bytes. It
	// must not be stored in the database.
	RefreshKey []byte

	Issuer   string
	Audience string // optional
	// AccessTTL is the lifetime of access tokens (default 20m).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of a refresh token from its issue (default 720h).
	RefreshTTL time.Duration
	// RefreshGrace is how long after a rotation the predecessor token still
	// returns the current tokens instead of counting as reuse. Zero disables it.
	RefreshGrace time.Duration
	// PasswordMaxLength is the longest password signup accepts, in code
	// points (default 128; at least 64).
	PasswordMaxLength int
	// PasswordMinLength is the shortest password signup accepts, in code
	// points (default 8, the original's; at least 8, the floor of NIST SP
	// 800-63B, and at most PasswordMaxLength). Signin applies no length rule.
	PasswordMinLength int
	// CommonPasswords, when not nil, makes signup refuse a password it
	// contains with the validation message "password is too common". It is
	// consulted only for a password that passes the length rules, and never
	// at signin, so users who chose such a password before still sign in.
	CommonPasswords PasswordBlocklist

	// WebAuthn, when set, enables passkeys (passkeys.go): it checks the
	// ceremonies' cryptography. Nil answers every passkey endpoint with
	// ErrPasskeysDisabled.
	WebAuthn WebAuthn

	// LoginThrottle slows down failed signins per login, in the Store, so
	// across instances; its zero fields take DefaultLoginThrottle's values.
	LoginThrottle LoginThrottle

	Now    func() time.Time // default time.Now
	Rand   io.Reader        // default crypto/rand.Reader
	Logger *slog.Logger     // audit events; default discards
	// PasswordHashes bounds how many password hashes the Service computes
	// at once (default runtime.NumCPU()). Each holds the Hasher's memory
	// while it runs (19 MiB with password.OWASP), so this bounds the memory
	// of hashing; the Hasher itself computes at once.
	PasswordHashes int
	// MaxPasswordChecks bounds how many signups and signins the Service
	// works on at once, from their first database call to the end of
	// hashing, running a hash or waiting for one of PasswordHashes; one
	// more waits up to PasswordCheckWait for a place and is then refused
	// with ErrBusy, before it touches the database, so that a flood is
	// turned away instead of queueing on the database. 0 means
	// PasswordHashes × DefaultChecksPerHash; a negative value means no
	// bound (hashes still run at most PasswordHashes at once).
	MaxPasswordChecks int
	// SuspectChecks bounds how many of the MaxPasswordChecks places the
	// signups and signins of suspect clients (Client.Suspect) may hold
	// together; they wait for one as for any place. 0 means
	// MaxPasswordChecks/8, at least 1. It is ignored when MaxPasswordChecks
	// is negative.
	SuspectChecks int
	// PasswordCheckWait is how long a signup or signin waits for a place
	// under MaxPasswordChecks (default 1s). Waiting is cheap, and it slows
	// a client that retries at once on 503, leaving the CPUs to hashing.
	PasswordCheckWait time.Duration
	// OnEvent, if set, is called with the name of every audit event
	// (signup, signin, signin_failed, signin_throttled, signin_unverified,
	// refresh_reuse, logout, session_revoked, logout_all, and those of
	// recovery.go and totp.go), for metrics. It must not block.
	OnEvent func(event string)

	// MailSealer seals the payloads of outbox messages, whose links hold
	// raw tokens, with a key that is not in the database (token.Sealer
	// under its own key). Nil means no mail can be sent: the endpoints
	// that send mail fail, and SendVerification must be false.
	MailSealer MailSealer
	// ResetURL and VerifyURL are the templates of the links mailed for a
	// password reset and for an email verification or change: "{token}" is
	// replaced by the URL-escaped token. Defaults DefaultResetURL and
	// DefaultVerifyURL.
	ResetURL, VerifyURL string
	// ResetTTL is the lifetime of a reset link (default 30m); VerifyTTL
	// that of a verification or email change link (default 24h).
	ResetTTL, VerifyTTL time.Duration
	// MailThrottle bounds the mails requested per address; its zero fields
	// take DefaultMailThrottle's values.
	MailThrottle MailThrottle
	// SendVerification makes signup mail a verification link, stored with
	// the new user.
	SendVerification bool
	// RequireVerifiedEmail refuses the signin of an unverified account
	// with ErrEmailNotVerified, after its password is found correct.
	RequireVerifiedEmail bool
	// MFASealer seals the TOTP secrets of users (token.Sealer under its
	// own key, not in the database). Nil means TOTP cannot be enrolled or
	// used: EnrollTOTP fails, and so does the signin of a user who has it.
	MFASealer MFASealer
	// TOTPIssuer is the issuer label of the otpauth URLs of EnrollTOTP,
	// which authenticator apps show beside the login (default
	// DefaultTOTPIssuer).
	TOTPIssuer string

	// ForgotFloor is the least time ForgotPassword takes, by the wall
	// clock, from its call to its answer, so that the answer for an
	// address with an account (which stores a token and a message) comes
	// no later than for one without (see recovery.go); 0 means none. Set
	// it above the slowest ForgotPassword expected (cmd/authstore: 250ms).
	ForgotFloor time.Duration
}

// Service holds every rule of authstore. It is safe for concurrent use.
type Service struct {
	cfg     Config
	refresh refreshCodec
	log     *slog.Logger
	// gate admits signups and signins and bounds their hashing.
	gate *gate
	// throttleMAC keys throttleKey; mailMAC keys mailKey; recoveryMAC
	// keys recoveryHash.
	throttleMAC, mailMAC, recoveryMAC []byte
	// mail builds account tokens and their messages.
	mail mailer
	// writes is the outcome of recent writes, for Ready.
	writes writeHealth
}

// NewService checks cfg, fills in defaults, and returns a Service.
func NewService(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil || cfg.Signer == nil || cfg.Hasher == nil:
		return nil, errors.New("auth: Config needs Store, Signer and Hasher")
	case len(cfg.RefreshKey) < 32:
		return nil, errors.New("auth: RefreshKey must be at least 32 bytes")
	case cfg.AccessTTL < 0 || cfg.RefreshTTL < 0 || cfg.RefreshGrace < 0:
		return nil, errors.New("auth: durations must not be negative")
	case cfg.PasswordMaxLength != 0 && cfg.PasswordMaxLength < 64:
		return nil, errors.New("auth: PasswordMaxLength must be at least 64")
	case cfg.PasswordMinLength != 0 && cfg.PasswordMinLength < 8:
		return nil, errors.New("auth: PasswordMinLength must be at least 8")
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = 20 * time.Minute
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = 720 * time.Hour
	}
	if cfg.RefreshGrace >= cfg.RefreshTTL {
		return nil, errors.New("auth: RefreshGrace must be shorter than RefreshTTL")
	}
	if cfg.PasswordMaxLength == 0 {
		cfg.PasswordMaxLength = 128
	}
	if cfg.PasswordMinLength == 0 {
		cfg.PasswordMinLength = 8
	}
	if cfg.PasswordMinLength > cfg.PasswordMaxLength {
		return nil, errors.New("auth: PasswordMinLength must not exceed PasswordMaxLength")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := checkThrottle(&cfg); err != nil {
		return nil, err
	}
	if err := checkMail(&cfg); err != nil {
		return nil, err
	}
	svc := &Service{cfg: cfg, refresh: newRefreshCodec(cfg.RefreshKey), log: log}
	svc.cfg.Store = watchedStore{Store: cfg.Store, h: &svc.writes, now: svc.now}
	km := hmac.New(sha256.New, cfg.RefreshKey)
	km.Write([]byte("authstore login throttle key v1"))
	svc.throttleMAC = km.Sum(nil)
	mm := hmac.New(sha256.New, cfg.RefreshKey)
	mm.Write([]byte("authstore mail throttle key v1"))
	svc.mailMAC = mm.Sum(nil)
	rm := hmac.New(sha256.New, cfg.RefreshKey)
	rm.Write([]byte("authstore recovery code key v1"))
	svc.recoveryMAC = rm.Sum(nil)
	if svc.cfg.TOTPIssuer == "" {
		svc.cfg.TOTPIssuer = DefaultTOTPIssuer
	}
	svc.mail = mailer{
		sealer: cfg.MailSealer, rand: cfg.Rand,
		resetURL: cfg.ResetURL, verifyURL: cfg.VerifyURL,
		resetTTL: cfg.ResetTTL, verifyTTL: cfg.VerifyTTL,
	}
	if svc.cfg.PasswordHashes <= 0 {
		svc.cfg.PasswordHashes = runtime.NumCPU()
	}
	if svc.cfg.MaxPasswordChecks == 0 {
		svc.cfg.MaxPasswordChecks = svc.cfg.PasswordHashes * DefaultChecksPerHash
	}
	if svc.cfg.PasswordCheckWait <= 0 {
		svc.cfg.PasswordCheckWait = time.Second
	}
	suspect := cfg.SuspectChecks
	if suspect <= 0 {
		suspect = max(svc.cfg.MaxPasswordChecks/8, 1)
	}
	svc.gate = newGate(svc.cfg.PasswordHashes, svc.cfg.MaxPasswordChecks, suspect, svc.cfg.PasswordCheckWait)
	return svc, nil
}

// Signup creates a user and opens a session for it.
//
// It returns a KindInvalid error listing every field message (with
// "password is too common" for a password on Config.CommonPasswords),
// ErrLoginUsed, ErrEmailUsed or ErrLoginAndEmailUsed if the login or email
// is taken in any case (also when a concurrent signup takes it first), or
// ErrBusy if password hashing is saturated.
func (s *Service) Signup(ctx context.Context, r SignupRequest, c Client) (Tokens, error) {
	policy := passwordPolicy{min: s.cfg.PasswordMinLength, max: s.cfg.PasswordMaxLength, common: s.cfg.CommonPasswords}
	if err := validateSignup(&r, policy); err != nil {
		return Tokens{}, err
	}
	leave, err := s.gate.enter(ctx, c.Suspect)
	if err != nil {
		return Tokens{}, err
	}
	defer leave()
	id, err := newUUID(s.cfg.Rand)
	if err != nil {
		return Tokens{}, fmt.Errorf("signup: %w", err)
	}
	now := s.now()
	u := newUser(id, &r, "", now)
	if err := taken(ctx, s.cfg.Store, u); err != nil {
		return Tokens{}, err
	}
	if u.PasswordHash, err = s.hash(ctx, r.Password.Str); err != nil {
		return Tokens{}, fmt.Errorf("signup: hash: %w", err)
	}
	// The user and its first session are stored in one transaction, so a
	// failed signup leaves nothing behind and can be retried as it was.
	sess, err := s.newSession(u.ID, c, now, []string{AMRPassword})
	if err != nil {
		return Tokens{}, fmt.Errorf("signup: %w", err)
	}
	// The verification mail is stored with the user, so that no user is
	// left without one and no mail goes to a user that was not created.
	var mail *AccountMail
	if s.cfg.SendVerification {
		if mail, err = s.mail.verifyMail(u, now); err != nil {
			return Tokens{}, fmt.Errorf("signup: %w", err)
		}
	}
	if err := s.cfg.Store.CreateUserWithSession(ctx, u, sess, mail); err != nil {
		if errors.Is(err, ErrDuplicate) {
			if terr := taken(ctx, s.cfg.Store, u); terr != nil {
				return Tokens{}, terr
			}
			return Tokens{}, ErrLoginUsed
		}
		return Tokens{}, fmt.Errorf("signup: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "signup", slog.String("user", u.ID), ipAttr(c))
	return s.tokens(ctx, u.ID, sess.ID, 1, now, sess.AMR)
}

// Signin checks a login (any case) and password and opens a session. For
// an account with a second factor (see secondFactors) it opens none: once
// the password is found correct it answers a Challenge, which VerifyMFA
// completes; the answer to every other account is unchanged.
//
// It returns ErrBadCredentials for an unknown login or a wrong password,
// after the same hashing work and store calls in both cases, and ErrBusy if
// password hashing is saturated. A correct password stored with other
// parameters is re-hashed.
//
// Failures are counted per login, known or not (see LoginThrottle); an
// attempt the count holds back is refused with an *Error of
// KindTooManyRequests carrying RetryAfter, before any password is checked.
// Each attempt counts as a failure until its password is found correct.
//
// ErrBadCredentials and a KindTooManyRequests error are the only answers to
// a failed or held-back attempt, for known and unknown logins alike, so a
// caller may rank the client's later requests by them (Client.Suspect)
// without that ranking telling which logins exist.
func (s *Service) Signin(ctx context.Context, r SigninRequest, c Client) (SigninResult, error) {
	if err := validateSignin(&r, s.cfg.PasswordMaxLength); err != nil {
		return SigninResult{}, err
	}
	leave, err := s.gate.enter(ctx, c.Suspect)
	if err != nil {
		return SigninResult{}, err
	}
	defer leave()
	key := Fold(r.Login.Str)
	tkey := s.throttleKey(key)
	var u *User
	// A login signup could never have accepted (too long, control
	// characters) holds no account: it gets the same hashing work and
	// answer, but never reaches the store.
	if possibleLogin(r.Login.Str) {
		if err := s.reserveSignin(ctx, tkey, s.now()); err != nil {
			if IsKind(err, KindTooManyRequests) {
				s.audit(ctx, slog.LevelInfo, "signin_throttled", ipAttr(c))
			}
			return SigninResult{}, err
		}
		u, err = s.cfg.Store.UserByLoginKey(ctx, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return SigninResult{}, fmt.Errorf("signin: %w", err)
		}
	}
	encoded := ""
	if u != nil {
		encoded = u.PasswordHash
	}
	// With encoded empty, Verify spends one hash of work and fails.
	var ok, rehash bool
	if gerr := s.gate.hash(ctx, func() { ok, rehash, err = s.cfg.Hasher.Verify(ctx, encoded, r.Password.Str) }); gerr != nil {
		err = gerr
	}
	if err != nil {
		return SigninResult{}, fmt.Errorf("signin: verify: %w", err)
	}
	// A disabled user is answered as a wrong password, after the same work.
	if !ok || u == nil || u.Disabled() {
		s.audit(ctx, slog.LevelInfo, "signin_failed", slog.Bool("known_login", u != nil), ipAttr(c))
		return SigninResult{}, ErrBadCredentials
	}
	s.clearSignin(ctx, tkey, u.ID)
	if s.cfg.RequireVerifiedEmail && !u.EmailVerified() {
		s.audit(ctx, slog.LevelInfo, "signin_unverified", slog.String("user", u.ID), ipAttr(c))
		return SigninResult{}, ErrEmailNotVerified
	}
	now := s.now()
	if rehash {
		s.rehash(ctx, u.ID, r.Password.Str, now)
	}
	amr := []string{AMRPassword}
	methods, err := s.secondFactors(ctx, u.ID)
	if err != nil {
		return SigninResult{}, fmt.Errorf("signin: second factors: %w", err)
	}
	if len(methods) > 0 {
		ch, err := s.challenge(ctx, u.ID, amr, methods, now)
		if err != nil {
			return SigninResult{}, fmt.Errorf("signin: %w", err)
		}
		s.audit(ctx, slog.LevelInfo, "signin_mfa_required", slog.String("user", u.ID), ipAttr(c))
		return SigninResult{Challenge: ch}, nil
	}
	s.audit(ctx, slog.LevelInfo, "signin", slog.String("user", u.ID), ipAttr(c))
	t, err := s.openSession(ctx, u.ID, c, now, amr)
	return SigninResult{Tokens: t}, err
}

// rehash stores password under the current hashing parameters. A failure is
// logged and does not fail the signin: the old hash still works.
func (s *Service) rehash(ctx context.Context, userID, password string, now time.Time) {
	hash, err := s.hash(ctx, password)
	if err == nil {
		err = s.cfg.Store.SetPasswordHash(ctx, userID, hash, now)
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "password rehash failed", slog.String("user", userID), slog.Any("error", err))
	}
}

// Refresh exchanges a refresh token for new tokens.
//
// The current token of a live session rotates it: the answer carries the next
// generation's refresh token, and the presented one becomes its predecessor.
// The predecessor, presented within RefreshGrace of that rotation, returns the
// current refresh token again, unchanged, with a new access token. Any other
// superseded token revokes the session. It returns ErrEmptyRefresh for a blank
// token, ErrInvalidToken for a malformed, unknown, revoked or reused one, and
// ErrTokenExpired for a current token older than RefreshTTL.
func (s *Service) Refresh(ctx context.Context, token string, c Client) (Tokens, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return Tokens{}, ErrEmptyRefresh
	}
	id, gen, ok := s.refresh.decode(token)
	if !ok {
		return Tokens{}, ErrInvalidToken
	}
	// The common case, the current token of a live session, is one
	// compare-and-swap that also checks expiry and returns the user. When
	// it fails, the session is read to tell why: gone, revoked, expired, a
	// grace replay, reuse, or a rotation that another request made in
	// between (then the next round is a grace replay; only the current
	// token can rotate).
	now := s.now()
	for range 3 {
		userID, amr, err := s.cfg.Store.RotateSession(ctx, id, gen, now.Add(-s.cfg.RefreshTTL), now)
		switch {
		case err == nil:
			return s.tokens(ctx, userID, id, gen+1, now, amr)
		case !errors.Is(err, ErrStale):
			return Tokens{}, fmt.Errorf("refresh: %w", err)
		}
		sess, err := s.cfg.Store.Session(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return Tokens{}, ErrInvalidToken
		}
		if err != nil {
			return Tokens{}, fmt.Errorf("refresh: %w", err)
		}
		if sess.Revoked() {
			return Tokens{}, ErrInvalidToken
		}
		// A disabled user's sessions neither rotate (the swap checks it)
		// nor replay.
		if u, err := s.cfg.Store.UserByID(ctx, sess.UserID); errors.Is(err, ErrNotFound) || (err == nil && u.Disabled()) {
			return Tokens{}, ErrInvalidToken
		} else if err != nil {
			return Tokens{}, fmt.Errorf("refresh: %w", err)
		}
		switch {
		case gen == sess.Generation:
			if !now.Before(sess.RotatedAt.Add(s.cfg.RefreshTTL)) {
				return Tokens{}, ErrTokenExpired
			}
			continue // changed and changed back: try again
		case gen == sess.Generation-1 && now.Sub(sess.RotatedAt) < s.cfg.RefreshGrace:
			return s.tokens(ctx, sess.UserID, id, sess.Generation, now, sess.AMR)
		case gen > sess.Generation:
			// Only a database restored from an older copy gets here.
			return Tokens{}, ErrInvalidToken
		default:
			if err := s.cfg.Store.RevokeSession(ctx, id, now); err != nil && !errors.Is(err, ErrNotFound) {
				return Tokens{}, fmt.Errorf("refresh: revoke reused session: %w", err)
			}
			s.audit(ctx, slog.LevelWarn, "refresh_reuse",
				slog.String("user", sess.UserID), slog.String("session", id),
				slog.Int64("presented_generation", gen), slog.Int64("current_generation", sess.Generation),
				ipAttr(c))
			return Tokens{}, ErrInvalidToken
		}
	}
	return Tokens{}, fmt.Errorf("refresh: session %s kept changing under rotation", id)
}

// openSession creates a session for userID, opened by the methods amr,
// and returns its first tokens.
func (s *Service) openSession(ctx context.Context, userID string, c Client, now time.Time, amr []string) (Tokens, error) {
	sess, err := s.newSession(userID, c, now, amr)
	if err != nil {
		return Tokens{}, fmt.Errorf("open session: %w", err)
	}
	if err := s.cfg.Store.CreateSession(ctx, sess); err != nil {
		return Tokens{}, fmt.Errorf("open session: %w", err)
	}
	return s.tokens(ctx, userID, sess.ID, 1, now, sess.AMR)
}

// newSession returns a new session of userID for client c, opened by the
// methods amr, at generation 1.
func (s *Service) newSession(userID string, c Client, now time.Time, amr []string) (*Session, error) {
	id, err := newUUID(s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	return &Session{
		ID: id, UserID: userID, Generation: 1,
		RotatedAt: now, CreatedAt: now, LastUsedAt: now,
		UserAgent: truncate(printable(c.UserAgent), 512), IP: truncate(printable(c.IP), 64),
		AMR: amr,
	}, nil
}

// tokens signs a new access token for the session, carrying its methods
// amr, and derives the refresh token of generation gen.
func (s *Service) tokens(ctx context.Context, userID, sessionID string, gen int64, now time.Time, amr []string) (Tokens, error) {
	jti, err := newUUID(s.cfg.Rand)
	if err != nil {
		return Tokens{}, fmt.Errorf("tokens: %w", err)
	}
	at, err := s.cfg.Signer.Sign(ctx, AccessClaims{
		Issuer: s.cfg.Issuer, Subject: userID, Audience: s.cfg.Audience,
		SessionID: sessionID, ID: jti,
		IssuedAt: now, ExpiresAt: now.Add(s.cfg.AccessTTL), AMR: amr,
	})
	if err != nil {
		return Tokens{}, fmt.Errorf("tokens: sign: %w", err)
	}
	return Tokens{AccessToken: at, RefreshToken: s.refresh.encode(sessionID, gen)}, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// hash hashes password with the Hasher, as one of the PasswordHashes.
func (s *Service) hash(ctx context.Context, password string) (hash string, err error) {
	if gerr := s.gate.hash(ctx, func() { hash, err = s.cfg.Hasher.Hash(ctx, password) }); gerr != nil {
		return "", gerr
	}
	return hash, err
}

// HashingStats returns the counters of the Service's password work, for
// metrics.
func (s *Service) HashingStats() HashingStats { return s.gate.stats() }

// audit logs the audit event with attrs and counts it through OnEvent.
func (s *Service) audit(ctx context.Context, level slog.Level, event string, attrs ...slog.Attr) {
	s.log.LogAttrs(ctx, level, "audit", append([]slog.Attr{slog.String("event", event)}, attrs...)...)
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(event)
	}
}

// ipAttr is the client IP of an audit event, as the session records it.
func ipAttr(c Client) slog.Attr {
	return slog.String("ip", truncate(printable(c.IP), 64))
}

// printable returns s as valid UTF-8 without control characters, which a
// database may refuse (PostgreSQL rejects NUL and invalid UTF-8 in text):
// a header is the client's to choose, a failed session insert is not.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !hasControl(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// possibleLogin reports whether signup could have accepted login (trimmed
// and of a valid length): no control characters.
func possibleLogin(login string) bool {
	return !hasControl(login)
}

// throttleKey is the key of loginKey's failed-signin record: an HMAC under
// a key derived from RefreshKey, so the store holds neither the logins that
// were tried nor passwords typed into the login field, in a fixed size.
func (s *Service) throttleKey(loginKey string) string {
	m := hmac.New(sha256.New, s.throttleMAC)
	m.Write([]byte(loginKey))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
