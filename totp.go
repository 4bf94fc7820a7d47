package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// This file holds the rules of second factors: TOTP enrollment,
// confirmation and removal, recovery codes, and the second step of a
// signin (VerifyMFA). Their audit events are mfa_totp_enrolled,
// mfa_totp_enabled, mfa_totp_disabled, mfa_recovery_codes_regenerated,
// signin_mfa_required, mfa_verified, mfa_failed and mfa_throttled; none
// carries a secret, a code or a token.
//
// Each code works once. A TOTP code is accepted for its time step and the
// steps either side (RFC 6238's recommended skew of one step), and only if
// its step is after the last accepted one, which the store advances in one
// compare-and-swap: a code replayed within its window, on this instance or
// another, is refused. A recovery code is marked used in one
// compare-and-swap too.
//
// Wrong codes are throttled as wrong passwords are (Config.LoginThrottle),
// per user, in the LoginFailureStore under mfaThrottleKey, so across
// instances: at signin (VerifyMFA) and at the endpoints that take a code
// (ConfirmTOTP, DisableTOTP, RegenerateRecoveryCodes).

// TOTP parameters (RFC 6238), as authenticator apps assume them.
const (
	totpPeriod = 30 // seconds per step
	totpDigits = 6
	totpSkew   = 1 // steps accepted either side of the current one
	// totpSecretBytes is the length of a secret: 160 bits, RFC 4226's
	// recommendation for HMAC-SHA-1.
	totpSecretBytes = 20
)

// MFATokenTTL is the lifetime of an mfa_token: the time a signin has to
// complete its second factor.
const MFATokenTTL = 5 * time.Minute

// RecoveryCodeCount is how many recovery codes confirming TOTP, or
// regenerating them, returns.
const RecoveryCodeCount = 10

// Methods a signin's second factor can use (Challenge.Methods).
const (
	MethodTOTP     = "totp"     // a code of the user's authenticator app
	MethodWebAuthn = "webauthn" // a passkey (the passkeys work)
	MethodRecovery = "recovery" // one of the user's recovery codes
)

// DefaultTOTPIssuer is the issuer label of otpauth URLs when
// Config.TOTPIssuer is empty.
const DefaultTOTPIssuer = "authstore"

// Errors of second factors.
var (
	ErrTOTPActive     = &Error{Kind: KindInvalid, Message: "Two-factor authentication is already enabled; disable it first"}
	ErrTOTPNotPending = &Error{Kind: KindInvalid, Message: "No two-factor enrollment to confirm; start one with POST /auth/mfa/totp"}
	ErrTOTPNotEnabled = &Error{Kind: KindInvalid, Message: "Two-factor authentication is not enabled"}
	// ErrBadCode answers a wrong, used or replayed code.
	ErrBadCode = &Error{Kind: KindInvalid, Message: "The code is incorrect"}
	// ErrInvalidMFAToken answers an unknown, used or expired mfa_token.
	ErrInvalidMFAToken = &Error{Kind: KindUnauthorized, Message: "Invalid or expired MFA token"}
)

// errNoMFA is the internal error of TOTP without a sealer.
var errNoMFA = errors.New("auth: TOTP is not configured (no MFASealer)")

// TOTPEnrollment is a pending authenticator's secret for the user's app:
// Secret in base32 (without padding) and the otpauth:// URL holding it,
// for a QR code.
type TOTPEnrollment struct {
	Secret string
	URL    string
}

// Challenge is the answer to a signin that needs a second factor: the
// mfa_token that POST /auth/mfa/verify completes, the methods it accepts,
// and when the token expires.
type Challenge struct {
	MFAToken  string
	Methods   []string
	ExpiresAt time.Time
}

// SigninResult is what Signin answers: the tokens of a new session or, for
// an account with a second factor, a Challenge (and no tokens).
type SigninResult struct {
	Tokens
	Challenge *Challenge
}

// MFAVerifyRequest is the body of POST /auth/mfa/verify: the mfa_token
// and a TOTP or recovery code, or a passkey's credential (an
// AuthenticationResponseJSON answering BeginMFAWebAuthn's options).
type MFAVerifyRequest struct {
	MFAToken, Code Value
	Credential     json.RawMessage
}

// codeRules are the rules of a code field: a TOTP code (6 digits) or a
// recovery code (10 characters, with a dash or spaces).
var codeRules = fieldRules{name: "code", length: &lengthRule{min: totpDigits, max: 32}, notEmpty: true}

// totpSealAD is the additional data a TOTP secret is sealed with: it binds
// the secret to its user.
func totpSealAD(userID string) []byte { return []byte("authstore totp secret v1\x00" + userID) }

// mfaThrottleKey is the throttle key of the second factor's codes of
// userID. Logins with control characters never reach the store (see
// possibleLogin), so these keys are apart from every login's.
func (s *Service) mfaThrottleKey(userID string) string {
	return s.throttleKey("\x00mfa\x00" + userID)
}

// openSecret returns the raw secret of t.
func (s *Service) openSecret(t *TOTP) ([]byte, error) {
	if s.cfg.MFASealer == nil {
		return nil, errNoMFA
	}
	return s.cfg.MFASealer.Open(t.Secret, totpSealAD(t.UserID))
}

// matchTOTP returns the time step of code under secret among the steps
// within totpSkew of now that are after after, and false if none matches.
// Every candidate is computed and compared in constant time.
func matchTOTP(secret []byte, code string, now time.Time, after int64) (int64, bool) {
	if len(code) != totpDigits {
		return 0, false
	}
	key := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	opts := totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	cur := now.Unix() / totpPeriod
	var found int64
	ok := false
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want, err := totp.GenerateCodeCustom(key, time.Unix(step*totpPeriod, 0), opts)
		if err != nil {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > after {
			found, ok = step, true // the latest matching step
		}
	}
	return found, ok
}

// useCode accepts code as a second factor of u, whose authenticator t is
// active: a TOTP code (its step then used) or, if recovery, an unused
// recovery code (then used). It returns the method (MethodTOTP or
// MethodRecovery), or ErrBadCode for a wrong, used or replayed code.
func (s *Service) useCode(ctx context.Context, op string, t *TOTP, code string, recovery bool, now time.Time) (string, error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if isDigits(code) && len(code) == totpDigits {
		secret, err := s.openSecret(t)
		if err != nil {
			return MethodTOTP, fmt.Errorf("%s: open totp secret: %w", op, err)
		}
		step, ok := matchTOTP(secret, code, now, t.LastStep)
		clear(secret)
		if !ok {
			return MethodTOTP, ErrBadCode
		}
		if err := s.cfg.Store.UseTOTPStep(ctx, t.UserID, step); errors.Is(err, ErrStale) {
			return MethodTOTP, ErrBadCode // used meanwhile, here or elsewhere
		} else if err != nil {
			return MethodTOTP, fmt.Errorf("%s: %w", op, err)
		}
		return MethodTOTP, nil
	}
	norm, ok := normalizeRecoveryCode(code)
	if !recovery || !ok {
		return MethodRecovery, ErrBadCode
	}
	err := s.cfg.Store.UseRecoveryCode(ctx, t.UserID, s.recoveryHash(t.UserID, norm), now)
	if errors.Is(err, ErrNotFound) {
		return MethodRecovery, ErrBadCode
	}
	if err != nil {
		return MethodRecovery, fmt.Errorf("%s: %w", op, err)
	}
	return MethodRecovery, nil
}

func isDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// Recovery codes are recoveryCodeLen characters of recoveryAlphabet
// (Crockford's base32: 50 random bits), shown as "xxxxx-xxxxx". They are
// stored as an HMAC-SHA-256 of the user id and the code under a key
// derived from RefreshKey, which is not in the database. A fast hash is
// enough: online guessing is throttled, and offline guessing needs that key
// besides the database; even without it, 50 bits a code, bound to one user,
// would take a GPU days per code. A slow password hash would only cost
// every signin that uses one.
const (
	recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	recoveryCodeLen  = 10
)

// newRecoveryCodes returns RecoveryCodeCount new codes for userID, as the
// user sees them, and their stored hashes.
func (s *Service) newRecoveryCodes(userID string) (codes, hashes []string, err error) {
	b := make([]byte, RecoveryCodeCount*recoveryCodeLen)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return nil, nil, fmt.Errorf("recovery codes: %w", err)
	}
	for i := range RecoveryCodeCount {
		raw := make([]byte, recoveryCodeLen)
		for j := range raw {
			raw[j] = recoveryAlphabet[b[i*recoveryCodeLen+j]&31] // 32 divides 256: unbiased
		}
		codes = append(codes, string(raw[:5])+"-"+string(raw[5:]))
		hashes = append(hashes, s.recoveryHash(userID, string(raw)))
	}
	clear(b)
	return codes, hashes, nil
}

// normalizeRecoveryCode returns code as stored (lower case, no dash or
// spaces, Crockford's look-alikes i, l and o read as 1, 1 and 0), and
// false if it cannot be a recovery code.
func normalizeRecoveryCode(code string) (string, bool) {
	code = strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ':
			return -1
		case 'i', 'I', 'l', 'L':
			return '1'
		case 'o', 'O':
			return '0'
		}
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, code)
	if len(code) != recoveryCodeLen || strings.Trim(code, recoveryAlphabet) != "" {
		return "", false
	}
	return code, true
}

// recoveryHash is the stored hash of userID's recovery code norm.
func (s *Service) recoveryHash(userID, norm string) string {
	m := hmac.New(sha256.New, s.recoveryMAC)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(norm))
	return hex.EncodeToString(m.Sum(nil))
}

// activeTOTP returns userID's authenticator if it is active, nil if the
// user has none or a pending one.
func (s *Service) activeTOTP(ctx context.Context, userID string) (*TOTP, error) {
	t, err := s.cfg.Store.TOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !t.Active() {
		return nil, nil
	}
	return t, nil
}

// EnrollTOTP starts the enrollment of an authenticator app for the caller:
// a new secret, stored sealed as the user's pending authenticator (it
// replaces a pending one) until ConfirmTOTP. It returns ErrTOTPActive if
// the user has an active authenticator.
func (s *Service) EnrollTOTP(ctx context.Context, caller *Caller, c Client) (TOTPEnrollment, error) {
	if s.cfg.MFASealer == nil {
		return TOTPEnrollment{}, errNoMFA
	}
	u := caller.User
	if t, err := s.activeTOTP(ctx, u.ID); err != nil {
		return TOTPEnrollment{}, fmt.Errorf("enroll totp: %w", err)
	} else if t != nil {
		return TOTPEnrollment{}, ErrTOTPActive
	}
	secret := make([]byte, totpSecretBytes)
	if _, err := io.ReadFull(s.cfg.Rand, secret); err != nil {
		return TOTPEnrollment{}, fmt.Errorf("enroll totp: %w", err)
	}
	defer clear(secret)
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.cfg.TOTPIssuer, AccountName: u.Login, Period: totpPeriod,
		Secret: secret, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("enroll totp: %w", err)
	}
	sealed, err := s.cfg.MFASealer.Seal(secret, totpSealAD(u.ID))
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("enroll totp: seal: %w", err)
	}
	err = s.cfg.Store.PutPendingTOTP(ctx, &TOTP{UserID: u.ID, Secret: sealed, CreatedAt: s.now()})
	if errors.Is(err, ErrDuplicate) {
		return TOTPEnrollment{}, ErrTOTPActive // confirmed meanwhile
	}
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("enroll totp: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "mfa_totp_enrolled", slog.String("user", u.ID), ipAttr(c))
	return TOTPEnrollment{Secret: key.Secret(), URL: key.URL()}, nil
}

// checkCodeField returns the validation error of a code field, if any.
func checkCodeField(code *Value) error {
	*code = trimmed(*code)
	return invalid(codeRules.check(*code, nil))
}

// codeAttempt runs use, the check of a code of userID for op, under the
// user's code throttle: it refuses the attempt with KindTooManyRequests
// while the user must wait, and clears the failures when use succeeds.
// Failures and refusals are audited as mfa_failed and mfa_throttled.
func (s *Service) codeAttempt(ctx context.Context, op, userID string, c Client, now time.Time, use func() (method string, err error)) (string, error) {
	key := s.mfaThrottleKey(userID)
	if err := s.reserveAttempt(ctx, op, key, now); err != nil {
		if IsKind(err, KindTooManyRequests) {
			s.audit(ctx, slog.LevelInfo, "mfa_throttled", slog.String("user", userID), slog.String("op", op), ipAttr(c))
		}
		return "", err
	}
	method, err := use()
	if err != nil {
		if errors.Is(err, ErrBadCode) {
			s.audit(ctx, slog.LevelInfo, "mfa_failed", slog.String("user", userID), slog.String("op", op),
				slog.String("method", method), ipAttr(c))
		}
		return "", err
	}
	if err := s.cfg.Store.ClearLoginFailures(ctx, key); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "clear mfa failures failed", slog.String("user", userID), slog.Any("error", err))
	}
	return method, nil
}

// ConfirmTOTP activates the caller's pending authenticator with a code of
// it, and returns RecoveryCodeCount new recovery codes, shown this once
// (they replace any earlier ones). The code's step counts as used. It
// returns ErrTOTPActive if the authenticator is active already,
// ErrTOTPNotPending if there is none, ErrBadCode for a wrong code, or a
// KindTooManyRequests error while wrong codes are throttled.
func (s *Service) ConfirmTOTP(ctx context.Context, caller *Caller, code Value, c Client) ([]string, error) {
	const op = "confirm totp"
	if err := checkCodeField(&code); err != nil {
		return nil, err
	}
	u := caller.User
	t, err := s.cfg.Store.TOTP(ctx, u.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrTOTPNotPending
	case err != nil:
		return nil, fmt.Errorf("%s: %w", op, err)
	case t.Active():
		return nil, ErrTOTPActive
	}
	now := s.now()
	var step int64
	if _, err := s.codeAttempt(ctx, op, u.ID, c, now, func() (string, error) {
		secret, err := s.openSecret(t)
		if err != nil {
			return MethodTOTP, fmt.Errorf("%s: open totp secret: %w", op, err)
		}
		defer clear(secret)
		var ok bool
		if step, ok = matchTOTP(secret, strings.ReplaceAll(code.Str, " ", ""), now, 0); !ok {
			return MethodTOTP, ErrBadCode
		}
		return MethodTOTP, nil
	}); err != nil {
		return nil, err
	}
	codes, hashes, err := s.newRecoveryCodes(u.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	err = s.cfg.Store.ActivateTOTP(ctx, u.ID, t.Secret, step, hashes, now)
	if errors.Is(err, ErrStale) {
		return nil, ErrTOTPNotPending // replaced, confirmed or removed meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	s.audit(ctx, slog.LevelInfo, "mfa_totp_enabled", slog.String("user", u.ID), ipAttr(c))
	return codes, nil
}

// DisableTOTP removes the caller's authenticator and recovery codes, with a
// TOTP code or a recovery code. It returns ErrTOTPNotEnabled if the user
// has no active authenticator, ErrBadCode for a wrong code, or a
// KindTooManyRequests error while wrong codes are throttled.
func (s *Service) DisableTOTP(ctx context.Context, caller *Caller, code Value, c Client) error {
	const op = "disable totp"
	if err := checkCodeField(&code); err != nil {
		return err
	}
	u := caller.User
	t, err := s.activeTOTP(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if t == nil {
		return ErrTOTPNotEnabled
	}
	now := s.now()
	method, err := s.codeAttempt(ctx, op, u.ID, c, now, func() (string, error) {
		return s.useCode(ctx, op, t, code.Str, true, now)
	})
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteTOTP(ctx, u.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%s: %w", op, err)
	}
	s.audit(ctx, slog.LevelInfo, "mfa_totp_disabled", slog.String("user", u.ID), slog.String("method", method), ipAttr(c))
	return nil
}

// RegenerateRecoveryCodes replaces the caller's recovery codes, used or
// not, by RecoveryCodeCount new ones, with a TOTP code (a recovery code
// will not do: it is what is being replaced). Errors as DisableTOTP's.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, caller *Caller, code Value, c Client) ([]string, error) {
	const op = "regenerate recovery codes"
	if err := checkCodeField(&code); err != nil {
		return nil, err
	}
	u := caller.User
	t, err := s.activeTOTP(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if t == nil {
		return nil, ErrTOTPNotEnabled
	}
	now := s.now()
	if _, err := s.codeAttempt(ctx, op, u.ID, c, now, func() (string, error) {
		return s.useCode(ctx, op, t, code.Str, false, now)
	}); err != nil {
		return nil, err
	}
	codes, hashes, err := s.newRecoveryCodes(u.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := s.cfg.Store.ReplaceRecoveryCodes(ctx, u.ID, hashes, now); errors.Is(err, ErrNotFound) {
		return nil, ErrTOTPNotEnabled // disabled meanwhile
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	s.audit(ctx, slog.LevelInfo, "mfa_recovery_codes_regenerated", slog.String("user", u.ID), ipAttr(c))
	return codes, nil
}

// secondFactors returns the methods that can complete a signin of userID,
// in the contract's order ("totp", "webauthn", "recovery"); none for an
// account without a second factor, whose signin is then unchanged.
func (s *Service) secondFactors(ctx context.Context, userID string) ([]string, error) {
	t, err := s.activeTOTP(ctx, userID)
	if err != nil {
		return nil, err
	}
	passkeys, err := s.passkeyCount(ctx, userID)
	if err != nil {
		return nil, err
	}
	var methods []string
	if t != nil {
		methods = append(methods, MethodTOTP)
	}
	if passkeys > 0 {
		methods = append(methods, MethodWebAuthn)
	}
	if t != nil {
		methods = append(methods, MethodRecovery)
	}
	return methods, nil
}

// passkeyCount returns how many passkeys userID can use as a second
// factor: all of them, while passkeys are on (Config.WebAuthn).
func (s *Service) passkeyCount(ctx context.Context, userID string) (int, error) {
	if s.cfg.WebAuthn == nil {
		return 0, nil
	}
	ps, err := s.cfg.Store.UserPasskeys(ctx, userID)
	return len(ps), err
}

// challenge stores a new mfa_token for userID, whose first factor used
// the methods amr, and returns it with the second factor's methods.
func (s *Service) challenge(ctx context.Context, userID string, amr, methods []string, now time.Time) (*Challenge, error) {
	raw, hash, err := newSecretToken(s.cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("mfa token: %w", err)
	}
	t := &MFAToken{Hash: hash, UserID: userID, AMR: amr, CreatedAt: now, ExpiresAt: now.Add(MFATokenTTL)}
	if err := s.cfg.Store.CreateMFAToken(ctx, t); err != nil {
		return nil, fmt.Errorf("mfa token: %w", err)
	}
	return &Challenge{MFAToken: raw, Methods: methods, ExpiresAt: t.ExpiresAt}, nil
}

// VerifyMFA completes a signin that answered a Challenge: with the
// mfa_token and a TOTP or recovery code, it opens a session whose AMR is
// the first factor's plus "otp", and consumes the token; with a credential
// instead of a code, a passkey completes it (see verifyMFAPasskey). A wrong code does
// not consume the token but counts against the user's code throttle.
//
// It returns a KindInvalid error listing the fields' messages,
// ErrInvalidMFAToken for an unknown, used or expired token (or one whose
// user was disabled, or whose second factor was removed), ErrBadCode for a
// wrong, used or replayed code, or a KindTooManyRequests error carrying
// RetryAfter while wrong codes are throttled.
func (s *Service) VerifyMFA(ctx context.Context, r MFAVerifyRequest, c Client) (Tokens, error) {
	const op = "verify mfa"
	if len(r.Credential) > 0 {
		return s.verifyMFAPasskey(ctx, r, c)
	}
	msgs := fieldRules{name: "mfa_token", notEmpty: true}.check(r.MFAToken, nil)
	r.Code = trimmed(r.Code)
	if err := invalid(codeRules.check(r.Code, msgs)); err != nil {
		return Tokens{}, err
	}
	hash, ok := tokenHash(JSTrim(r.MFAToken.Str))
	if !ok {
		return Tokens{}, ErrInvalidMFAToken
	}
	now := s.now()
	mt, err := s.cfg.Store.MFAToken(ctx, hash)
	if errors.Is(err, ErrNotFound) || (err == nil && !now.Before(mt.ExpiresAt)) {
		return Tokens{}, ErrInvalidMFAToken
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("%s: %w", op, err)
	}
	u, err := s.cfg.Store.UserByID(ctx, mt.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled()) {
		return Tokens{}, ErrInvalidMFAToken
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("%s: %w", op, err)
	}
	t, err := s.activeTOTP(ctx, u.ID)
	if err != nil {
		return Tokens{}, fmt.Errorf("%s: %w", op, err)
	}
	if t == nil {
		// The passkeys work adds its method here; until then a token
		// whose user has no active authenticator completes nothing.
		return Tokens{}, ErrInvalidMFAToken
	}
	method, err := s.codeAttempt(ctx, op, u.ID, c, now, func() (string, error) {
		return s.useCode(ctx, op, t, r.Code.Str, true, now)
	})
	if err != nil {
		return Tokens{}, err
	}
	if err := s.cfg.Store.ConsumeMFAToken(ctx, hash, now); errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrInvalidMFAToken // consumed by a concurrent verify
	} else if err != nil {
		return Tokens{}, fmt.Errorf("%s: %w", op, err)
	}
	amr := append(slices.Clip(mt.AMR), AMROTP)
	s.audit(ctx, slog.LevelInfo, "mfa_verified", slog.String("user", u.ID), slog.String("method", method), ipAttr(c))
	s.audit(ctx, slog.LevelInfo, "signin", slog.String("user", u.ID), ipAttr(c))
	return s.openSession(ctx, u.ID, c, now, amr)
}

// PurgeMFATokens deletes the mfa_tokens that have expired, and returns how
// many it deleted. VerifyMFA refuses them anyway; call it periodically.
func (s *Service) PurgeMFATokens(ctx context.Context) (int64, error) {
	n, err := s.cfg.Store.DeleteMFATokens(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("purge mfa tokens: %w", err)
	}
	return n, nil
}
