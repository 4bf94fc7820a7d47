package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// This file holds the rules of account recovery and verification: password
// change and reset, email verification and change. Their audit events are
// password_changed, password_change_failed, password_reset_requested,
// password_reset_throttled, password_reset, email_verification_sent,
// email_verified, email_change_requested and email_changed.
//
// No enumeration. ForgotPassword answers nil whether or not an account
// holds the address, and does the same work either way: the same validation,
// one lookup, one token and one sealed message built (for a missing account,
// for a stand-in user, then dropped), and one transaction that counts the
// request in the address's throttle record; only for an existing account
// does that transaction also store the token and the message. Those writes
// alone make the known case slower (about 0.1 to 0.3 ms on a SQLite file:
// measurable with enough samples), so the answer is held until
// Config.ForgotFloor has passed since the call, for both. The mail throttle
// answers alike when it refuses (nothing is stored, nil is returned), so
// neither the answer nor its time tells whether an address has an account
// or is throttled. See notes/accounts.md for the measurement.

// ForgotRequest is the body of POST /auth/password/forgot: an email or, if
// it is absent, a login.
type ForgotRequest struct {
	Email, Login Value
}

// ResetRequest is the body of POST /auth/password/reset.
type ResetRequest struct {
	Token, NewPassword Value
}

// ChangePasswordRequest is the body of POST /auth/password.
type ChangePasswordRequest struct {
	CurrentPassword, NewPassword Value
}

// ChangeEmailRequest is the body of POST /auth/email.
type ChangeEmailRequest struct {
	NewEmail, Password Value
}

// checkMail checks the mail settings of cfg and fills in their defaults.
func checkMail(cfg *Config) error {
	if cfg.ResetURL == "" {
		cfg.ResetURL = DefaultResetURL
	}
	if cfg.VerifyURL == "" {
		cfg.VerifyURL = DefaultVerifyURL
	}
	if cfg.ResetTTL == 0 {
		cfg.ResetTTL = DefaultResetTTL
	}
	if cfg.VerifyTTL == 0 {
		cfg.VerifyTTL = DefaultVerifyTTL
	}
	t := &cfg.MailThrottle
	if t.Max == 0 {
		t.Max = DefaultMailThrottle.Max
	}
	if t.Window == 0 {
		t.Window = DefaultMailThrottle.Window
	}
	switch {
	case cfg.ResetTTL < 0 || cfg.VerifyTTL < 0 || t.Max < 0 || t.Window < 0:
		return errors.New("auth: mail settings must not be negative")
	case cfg.SendVerification && cfg.MailSealer == nil:
		return errors.New("auth: SendVerification needs a MailSealer")
	}
	if err := CheckLinkTemplate(cfg.ResetURL); err != nil {
		return fmt.Errorf("auth: ResetURL %w", err)
	}
	if err := CheckLinkTemplate(cfg.VerifyURL); err != nil {
		return fmt.Errorf("auth: VerifyURL %w", err)
	}
	return nil
}

// mailKey is the throttle key of the mail requests for an address (or, for
// a login that names no account, of that login): an HMAC, as throttleKey,
// so that the store holds no address that was typed.
func (s *Service) mailKey(kind, key string) string {
	m := hmac.New(sha256.New, s.mailMAC)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(key))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// requestMail counts a request for mail to the address whose throttle key
// is key and stores mail if the address's throttle allows it.
func (s *Service) requestMail(ctx context.Context, key string, mail *AccountMail, now time.Time) (bool, error) {
	t := s.cfg.MailThrottle
	return s.cfg.Store.RequestMail(ctx, &MailRequest{
		ThrottleKey: key, At: now, WindowStart: now.Add(-t.Window), Max: int64(t.Max), Mail: mail,
	})
}

// ForgotPassword mails a reset link to the account of r.Email or, when it
// is absent, of r.Login, if there is such an enabled account and its
// address is within MailThrottle. It returns nil in every one of these
// cases, after the same work and no sooner than Config.ForgotFloor (see
// the top of this file); only a request that fails validation (KindInvalid)
// or a store failure is an error. A new link supersedes the earlier ones.
func (s *Service) ForgotPassword(ctx context.Context, r ForgotRequest, c Client) error {
	if s.cfg.ForgotFloor > 0 {
		floor := time.NewTimer(s.cfg.ForgotFloor)
		defer func() {
			select {
			case <-floor.C:
			case <-ctx.Done():
				floor.Stop()
			}
		}()
	}
	var (
		u   *User
		err error
		key string // the throttle key
	)
	if r.Email.Type != ValueMissing {
		if err := invalid(emailMessages("email", &r.Email, nil)); err != nil {
			return err
		}
		ek := Fold(r.Email.Str)
		key = s.mailKey("email", ek)
		u, err = s.cfg.Store.UserByEmailKey(ctx, ek)
	} else {
		r.Login = trimmed(r.Login)
		if err := invalid(loginRules.check(r.Login, nil)); err != nil {
			return err
		}
		lk := Fold(r.Login.Str)
		key = s.mailKey("login", lk)
		u, err = s.cfg.Store.UserByLoginKey(ctx, lk)
		if err == nil {
			key = s.mailKey("email", u.EmailKey)
		}
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("forgot password: %w", err)
	}
	known := u != nil && !u.Disabled()
	if !known {
		// A stand-in, so that the same token and sealing work is done.
		u = &User{ID: "00000000-0000-4000-8000-000000000000", Login: r.Login.Str, Email: r.Email.Str}
	}
	now := s.now()
	mail, err := s.mail.resetMail(u, now)
	if err != nil {
		return fmt.Errorf("forgot password: %w", err)
	}
	if !known {
		mail = nil
	}
	stored, err := s.requestMail(ctx, key, mail, now)
	if err != nil {
		return fmt.Errorf("forgot password: %w", err)
	}
	switch {
	case stored:
		s.audit(ctx, slog.LevelInfo, "password_reset_requested", slog.String("user", u.ID), ipAttr(c))
	case known:
		s.audit(ctx, slog.LevelInfo, "password_reset_throttled", slog.String("user", u.ID), ipAttr(c))
	default:
		s.audit(ctx, slog.LevelInfo, "password_reset_requested", slog.Bool("known_account", false), ipAttr(c))
	}
	return nil
}

// validToken returns the token a user presents as raw if it is an unused,
// unexpired token of one of kinds at now, with its user (enabled), and
// ErrInvalidLink otherwise.
func (s *Service) validToken(ctx context.Context, op string, raw Value, now time.Time, kinds ...string) (*AccountToken, *User, error) {
	if raw.Type != ValueString {
		return nil, nil, ErrInvalidLink
	}
	hash, ok := tokenHash(JSTrim(raw.Str))
	if !ok {
		return nil, nil, ErrInvalidLink
	}
	t, err := s.cfg.Store.AccountToken(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrInvalidLink
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	kindOK := false
	for _, k := range kinds {
		kindOK = kindOK || t.Kind == k
	}
	if !kindOK || !t.UsedAt.IsZero() || !now.Before(t.ExpiresAt) {
		return nil, nil, ErrInvalidLink
	}
	u, err := s.cfg.Store.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled()) {
		return nil, nil, ErrInvalidLink
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	return t, u, nil
}

// ResetPassword sets a new password with a reset link's token, and opens
// a new session. Every other session of the user is revoked, the login's
// failed-signin record is cleared and the user's other reset links stop
// working. It returns a KindInvalid error listing newPassword's messages
// (signup's rules), ErrInvalidLink for a used, superseded, expired or
// unknown token (also when a concurrent reset used it first), or ErrBusy
// if password hashing is saturated.
func (s *Service) ResetPassword(ctx context.Context, r ResetRequest, c Client) (SigninResult, error) {
	if err := invalid(newPasswordMessages("newPassword", &r.NewPassword, s.policy())); err != nil {
		return SigninResult{}, err
	}
	t, u, err := s.validToken(ctx, "reset password", r.Token, s.now(), TokenReset)
	if err != nil {
		return SigninResult{}, err
	}
	leave, err := s.gate.enter(ctx, c.Suspect)
	if err != nil {
		return SigninResult{}, err
	}
	defer leave()
	hash, err := s.hash(ctx, r.NewPassword.Str)
	if err != nil {
		return SigninResult{}, fmt.Errorf("reset password: hash: %w", err)
	}
	// A link in a mailbox is one factor: an account with a second factor
	// gets its new password, and then the same challenge as a signin.
	methods, err := s.secondFactors(ctx, u.ID)
	if err != nil {
		return SigninResult{}, fmt.Errorf("reset password: %w", err)
	}
	now := s.now()
	var sess *Session
	if len(methods) == 0 {
		if sess, err = s.newSession(u.ID, c, now, []string{AMRPassword}); err != nil {
			return SigninResult{}, fmt.Errorf("reset password: %w", err)
		}
	}
	err = s.cfg.Store.ResetPassword(ctx, &PasswordReset{
		TokenHash: t.Hash, UserID: u.ID, PasswordHash: hash,
		ThrottleKey: s.throttleKey(u.LoginKey), Session: sess, At: now,
	})
	if errors.Is(err, ErrNotFound) {
		return SigninResult{}, ErrInvalidLink
	}
	if err != nil {
		return SigninResult{}, fmt.Errorf("reset password: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "password_reset", slog.String("user", u.ID), ipAttr(c))
	if sess == nil {
		ch, err := s.challenge(ctx, u.ID, []string{AMRPassword}, methods, now)
		if err != nil {
			return SigninResult{}, fmt.Errorf("reset password: %w", err)
		}
		return SigninResult{Challenge: ch}, nil
	}
	tok, err := s.tokens(ctx, u.ID, sess.ID, 1, now, sess.AMR)
	return SigninResult{Tokens: tok}, err
}

// policy is signup's password policy.
func (s *Service) policy() passwordPolicy {
	return passwordPolicy{min: s.cfg.PasswordMinLength, max: s.cfg.PasswordMaxLength, common: s.cfg.CommonPasswords}
}

// checkPassword checks the caller's password as Signin does: through the
// admission gate and the login's throttle, in constant time. It returns
// ErrBadCredentials for a wrong password and a KindTooManyRequests error
// when the login must wait. The caller must call leave when it returns nil.
func (s *Service) checkPassword(ctx context.Context, op string, u *User, pw string, c Client) (leave func(), err error) {
	leave, err = s.gate.enter(ctx, c.Suspect)
	if err != nil {
		return nil, err
	}
	tkey := s.throttleKey(u.LoginKey)
	if err := s.reserveSignin(ctx, tkey, s.now()); err != nil {
		leave()
		return nil, err
	}
	var ok bool
	if gerr := s.gate.hash(ctx, func() { ok, _, err = s.cfg.Hasher.Verify(ctx, u.PasswordHash, pw) }); gerr != nil {
		err = gerr
	}
	if err != nil {
		leave()
		return nil, fmt.Errorf("%s: verify: %w", op, err)
	}
	if !ok {
		leave()
		s.audit(ctx, slog.LevelInfo, op+"_failed", slog.String("user", u.ID), ipAttr(c))
		return nil, ErrBadCredentials
	}
	s.clearSignin(ctx, tkey, u.ID)
	return leave, nil
}

// ChangePassword changes the caller's password, given the current one, and
// revokes every other session of the user; the caller's session rotates and
// its new tokens are returned. It returns a KindInvalid error listing the
// messages of currentPassword (signin's rule) and newPassword (signup's
// rules), ErrBadCredentials for a wrong current password (counted against
// the login's throttle as a failed signin), a KindTooManyRequests error
// while the login must wait, or ErrBusy.
func (s *Service) ChangePassword(ctx context.Context, caller *Caller, r ChangePasswordRequest, c Client) (Tokens, error) {
	msgs := currentPasswordMessages("currentPassword", &r.CurrentPassword, s.cfg.PasswordMaxLength, nil)
	msgs = append(msgs, newPasswordMessages("newPassword", &r.NewPassword, s.policy())...)
	if err := invalid(msgs); err != nil {
		return Tokens{}, err
	}
	u := caller.User
	leave, err := s.checkPassword(ctx, "password_change", u, r.CurrentPassword.Str, c)
	if err != nil {
		return Tokens{}, err
	}
	defer leave()
	hash, err := s.hash(ctx, r.NewPassword.Str)
	if err != nil {
		return Tokens{}, fmt.Errorf("change password: hash: %w", err)
	}
	now := s.now()
	n, err := s.cfg.Store.ChangePassword(ctx, u.ID, hash, caller.Session.ID, s.throttleKey(u.LoginKey), now)
	if err != nil {
		return Tokens{}, fmt.Errorf("change password: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "password_changed", slog.String("user", u.ID),
		slog.String("session", caller.Session.ID), slog.Int64("sessions_revoked", n), ipAttr(c))
	return s.reissue(ctx, caller, now)
}

// reissue rotates the caller's session and returns its new tokens; if a
// concurrent refresh rotated it first, it returns the current generation's.
func (s *Service) reissue(ctx context.Context, caller *Caller, now time.Time) (Tokens, error) {
	sess := caller.Session
	userID, amr, err := s.cfg.Store.RotateSession(ctx, sess.ID, sess.Generation, now.Add(-s.cfg.RefreshTTL), now)
	if err == nil {
		return s.tokens(ctx, userID, sess.ID, sess.Generation+1, now, amr)
	}
	if !errors.Is(err, ErrStale) {
		return Tokens{}, fmt.Errorf("reissue tokens: %w", err)
	}
	cur, err := s.cfg.Store.Session(ctx, sess.ID)
	if errors.Is(err, ErrNotFound) || (err == nil && (cur.Revoked() || !now.Before(cur.RotatedAt.Add(s.cfg.RefreshTTL)))) {
		return Tokens{}, ErrInvalidToken
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("reissue tokens: %w", err)
	}
	return s.tokens(ctx, cur.UserID, cur.ID, cur.Generation, now, cur.AMR)
}

// ResendVerification mails the caller a new verification link, unless the
// address is verified already or its mail throttle refuses: both answer nil
// and send nothing. The new link supersedes the earlier ones.
func (s *Service) ResendVerification(ctx context.Context, caller *Caller, c Client) error {
	u := caller.User
	if u.EmailVerified() {
		return nil
	}
	now := s.now()
	mail, err := s.mail.verifyMail(u, now)
	if err != nil {
		return fmt.Errorf("resend verification: %w", err)
	}
	stored, err := s.requestMail(ctx, s.mailKey("email", u.EmailKey), mail, now)
	if err != nil {
		return fmt.Errorf("resend verification: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "email_verification_sent", slog.String("user", u.ID), slog.Bool("throttled", !stored), ipAttr(c))
	return nil
}

// ChangeEmail mails a confirmation link to r.NewEmail, given the caller's
// password; following it (VerifyEmail) makes the address the caller's
// login email and tells the old one. It returns a KindInvalid error
// listing the messages of newEmail (signup's email rule) and password
// (signin's), ErrBadCredentials for a wrong password (counted as a failed
// signin), a KindTooManyRequests error while the login must wait,
// ErrEmailUsed if another user holds the address, or ErrBusy. A request
// that the new address's mail throttle refuses answers nil and sends
// nothing.
func (s *Service) ChangeEmail(ctx context.Context, caller *Caller, r ChangeEmailRequest, c Client) error {
	msgs := emailMessages("newEmail", &r.NewEmail, nil)
	msgs = currentPasswordMessages("password", &r.Password, s.cfg.PasswordMaxLength, msgs)
	if err := invalid(msgs); err != nil {
		return err
	}
	u := caller.User
	leave, err := s.checkPassword(ctx, "email_change", u, r.Password.Str, c)
	if err != nil {
		return err
	}
	defer leave()
	key := Fold(r.NewEmail.Str)
	if key != u.EmailKey {
		if _, email, err := s.cfg.Store.KeysTaken(ctx, "", "", key); err != nil {
			return fmt.Errorf("change email: %w", err)
		} else if email {
			return ErrEmailUsed
		}
	}
	now := s.now()
	mail, err := s.mail.tokenMail(u, TokenChangeEmail, TemplateConfirmNewEmail, r.NewEmail.Str, s.mail.verifyURL, now)
	if err != nil {
		return fmt.Errorf("change email: %w", err)
	}
	stored, err := s.requestMail(ctx, s.mailKey("email", key), mail, now)
	if err != nil {
		return fmt.Errorf("change email: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "email_change_requested", slog.String("user", u.ID), slog.Bool("throttled", !stored), ipAttr(c))
	return nil
}

// VerifyEmail follows a verification link (the user's address becomes
// verified) or an email change link (its address becomes the user's login
// email, verified, and the old address is told in the same transaction).
// It returns ErrInvalidLink for a used, superseded, expired or unknown
// token, or a verification link for an address the user no longer has, and
// ErrEmailUsed when another user has taken the new address since.
func (s *Service) VerifyEmail(ctx context.Context, token Value) error {
	now := s.now()
	t, u, err := s.validToken(ctx, "verify email", token, now, TokenVerify, TokenChangeEmail)
	if err != nil {
		return err
	}
	key := Fold(t.Email)
	if t.Kind == TokenVerify {
		if key != u.EmailKey {
			return ErrInvalidLink
		}
		err := s.cfg.Store.VerifyEmail(ctx, t.Hash, u.ID, now)
		if errors.Is(err, ErrNotFound) {
			return ErrInvalidLink
		}
		if err != nil {
			return fmt.Errorf("verify email: %w", err)
		}
		s.audit(ctx, slog.LevelInfo, "email_verified", slog.String("user", u.ID))
		return nil
	}
	if key != u.EmailKey {
		if _, email, err := s.cfg.Store.KeysTaken(ctx, "", "", key); err != nil {
			return fmt.Errorf("change email: %w", err)
		} else if email {
			return ErrEmailUsed
		}
	}
	notice, err := s.mail.message(TemplateEmailChanged, u.Email,
		MailData{Login: u.Login, FirstName: u.FirstName, NewEmail: t.Email}, now)
	if err != nil {
		return fmt.Errorf("change email: %w", err)
	}
	err = s.cfg.Store.ChangeEmail(ctx, &EmailChange{
		TokenHash: t.Hash, UserID: u.ID, NewEmail: t.Email, NewEmailKey: key, Notice: notice, At: now,
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrInvalidLink
	case errors.Is(err, ErrDuplicate):
		return ErrEmailUsed
	case err != nil:
		return fmt.Errorf("change email: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "email_changed", slog.String("user", u.ID))
	return nil
}

// PurgeAccountTokens deletes account tokens that expired more than a day
// ago and mail throttle records older than MailThrottle.Window, and
// returns how many rows it deleted; call it periodically.
func (s *Service) PurgeAccountTokens(ctx context.Context) (int64, error) {
	now := s.now()
	n, err := s.cfg.Store.DeleteAccountTokens(ctx, now.Add(-24*time.Hour), now.Add(-s.cfg.MailThrottle.Window))
	if err != nil {
		return n, fmt.Errorf("purge account tokens: %w", err)
	}
	return n, nil
}
