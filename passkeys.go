package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds the rules of passkeys (WebAuthn credentials): their
// registration, a signin with a passkey alone (a discoverable credential),
// their listing and deletion. The cryptography of the ceremonies is the
// WebAuthn implementation's (Config.WebAuthn); what is kept, for how long,
// who may finish what, and what a sign counter going back means are the
// rules here. Audit events: passkey_registered, passkey_deleted,
// passkey_signin, passkey_signin_failed and passkey_counter_regressed. No
// event or log line carries a credential, a challenge or a ceremony id.

// Passkey is a WebAuthn credential of a user: a key pair whose private half
// stays in an authenticator (a phone, a security key, a password manager).
type Passkey struct {
	ID     string // UUID: the handle of the API (GET, DELETE /auth/passkeys)
	UserID string
	// CredentialID is the credential's id, as the authenticator made it;
	// unique in the Store.
	CredentialID []byte
	PublicKey    []byte // the credential public key, a COSE_Key
	// SignCount is the authenticator's signature counter at the last
	// registration or signin: 0 for authenticators without one (synced
	// passkeys), otherwise it must grow at every use.
	SignCount int64
	AAGUID    []byte // the authenticator model, 16 bytes (zeros when not told)
	// Transports are the authenticator's transports as the browser
	// reported them ("internal", "hybrid", "usb", ...), a hint for the
	// browser at the next ceremony.
	Transports        []string
	AttestationFormat string // "none" unless an authenticator attested
	// BackupEligible is whether the credential may be synced (a multi-device
	// passkey); fixed at registration. BackedUp is whether it was synced at
	// its last use.
	BackupEligible, BackedUp bool
	// UserPresent and UserVerified are the flags of the last ceremony (the
	// registration, then each signin).
	UserPresent, UserVerified bool
	Name                      string    // the user's label, at most PasskeyNameMax characters
	CreatedAt                 time.Time // registration
	LastUsedAt                time.Time // last signin; zero until the first
}

// Ceremony is the server side of a WebAuthn ceremony between its begin and
// its finish: what the finish checks the browser's response against. It is
// single-use (the Store hands it out once) and expires CeremonyTTL after
// its begin.
type Ceremony struct {
	// ID is the hex SHA-256 of the ceremony token the client holds, so the
	// Store never holds a token that would finish the ceremony.
	ID     string
	Kind   CeremonyKind
	UserID string // the user it is for; "" for a discoverable signin
	// Binding ties a ceremony to another credential of the same signin
	// (the hash of an mfa_token for a second factor); "" for none.
	Binding   string
	State     []byte // the WebAuthn implementation's state, opaque to the Store
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CeremonyKind is what a ceremony is for.
type CeremonyKind string

// Ceremony kinds.
const (
	CeremonyRegister CeremonyKind = "register" // a user adds a passkey
	CeremonyLogin    CeremonyKind = "login"    // a signin with a passkey alone
)

// CeremonyTTL is how long a ceremony can be finished after its begin.
const CeremonyTTL = 5 * time.Minute

// PasskeyNameMax is the longest passkey name, in code points.
const PasskeyNameMax = 64

// MaxPasskeys is how many passkeys one user may hold; registering one more
// is refused with ErrTooManyPasskeys.
const MaxPasskeys = 20

// DefaultPasskeyName names a passkey registered without a name.
const DefaultPasskeyName = "Passkey"

// PasskeyStore persists passkeys. Every passkey belongs to a user of the
// same store, and goes with it when the user is deleted.
type PasskeyStore interface {
	// CreatePasskey inserts p; p.UserID must name an existing user. It
	// returns an error wrapping ErrDuplicate if p.ID or p.CredentialID is
	// taken, including by a concurrent insert.
	CreatePasskey(ctx context.Context, p *Passkey) error
	// PasskeyByCredentialID returns the passkey whose CredentialID is id, or
	// ErrNotFound.
	PasskeyByCredentialID(ctx context.Context, id []byte) (*Passkey, error)
	// UserPasskeys returns every passkey of user userID, oldest first (ties
	// by ID).
	UserPasskeys(ctx context.Context, userID string) ([]Passkey, error)
	// UsePasskey records a signin with passkey id: it sets SignCount to
	// to, BackedUp, UserPresent, UserVerified and LastUsedAt to at, if and
	// only if the stored SignCount is still from, in one compare-and-swap.
	// Otherwise it changes nothing and returns an error wrapping ErrStale,
	// or ErrNotFound if there is no such passkey.
	UsePasskey(ctx context.Context, id string, from, to int64, flags PasskeyFlags, at time.Time) error
	// DeletePasskey deletes passkey id of user userID, or returns
	// ErrNotFound if that user has no such passkey.
	DeletePasskey(ctx context.Context, userID, id string) error
}

// PasskeyFlags are the flags of a ceremony that a passkey records.
type PasskeyFlags struct {
	UserPresent, UserVerified, BackedUp bool
}

// CeremonyStore persists WebAuthn ceremonies, so that any instance can
// finish what another began.
type CeremonyStore interface {
	// CreateCeremony inserts c; a non-empty c.UserID must name an existing
	// user. It returns an error wrapping ErrDuplicate if c.ID is taken.
	CreateCeremony(ctx context.Context, c *Ceremony) error
	// TakeCeremony deletes ceremony id and returns it, in one statement,
	// so that of concurrent calls only one gets it; the others, and any
	// call for an id that does not exist, get ErrNotFound. Expiry is the
	// caller's to check: an expired ceremony is returned too.
	TakeCeremony(ctx context.Context, id string) (*Ceremony, error)
	// DeleteCeremonies deletes ceremonies that expired before before, and
	// returns how many it deleted.
	DeleteCeremonies(ctx context.Context, before time.Time) (int64, error)
}

// WebAuthn runs the cryptographic part of WebAuthn ceremonies for the
// Service: it builds the options a browser passes to navigator.credentials
// and checks the browser's responses against them, its relying party id and
// its origins. The passkey package implements it. Options and credentials
// are in the WebAuthn Level 3 JSON forms
// (PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON, and
// their request and authentication counterparts).
type WebAuthn interface {
	// BeginRegistration returns the creation options for u, requiring a
	// discoverable credential and listing exclude as excludeCredentials,
	// and the state FinishRegistration needs.
	BeginRegistration(u WebAuthnUser, exclude []Passkey) (options json.RawMessage, state []byte, err error)
	// FinishRegistration checks credential, a registration response,
	// against state and returns the new credential: CredentialID,
	// PublicKey, SignCount, AAGUID, Transports, AttestationFormat and the
	// flags set, the rest left to the caller. Any error is a refusal of
	// the credential (malformed, wrong challenge, origin or relying party,
	// bad attestation).
	FinishRegistration(u WebAuthnUser, state []byte, credential json.RawMessage) (*Passkey, error)
	// BeginLogin returns request options listing allow as
	// allowCredentials (none: a discoverable signin, the authenticator
	// chooses the credential) and the state FinishLogin needs.
	BeginLogin(allow []Passkey) (options json.RawMessage, state []byte, err error)
	// FinishLogin checks credential, an authentication response, against
	// state and the stored passkey that lookup returns for the response's
	// credential id and user handle (lookup's error fails FinishLogin).
	// Any error is a refusal. It does not judge the sign counter: it
	// returns the one the authenticator sent.
	FinishLogin(state []byte, credential json.RawMessage, lookup func(credentialID, userHandle []byte) (*Passkey, error)) (Assertion, error)
}

// WebAuthnUser is a user as a WebAuthn ceremony names it.
type WebAuthnUser struct {
	// Handle is the user handle the authenticator keeps with a
	// discoverable credential and returns at signin: the 16 bytes of the
	// user's UUID, which say nothing about the person.
	Handle      []byte
	Name        string // the login, shown by the authenticator's account picker
	DisplayName string // first and last name
}

// Assertion is what FinishLogin verified.
type Assertion struct {
	Passkey   *Passkey // as lookup returned it
	SignCount int64    // the authenticator's signature counter in the assertion
	Flags     PasskeyFlags
}

// Client-facing errors of passkeys.
var (
	// ErrInvalidCeremony answers a finish whose ceremony is unknown, used,
	// expired, of another kind or of another user.
	ErrInvalidCeremony = &Error{Kind: KindInvalid, Message: "Invalid or expired ceremony"}
	// ErrPasskeyInvalid refuses a registration response.
	ErrPasskeyInvalid = &Error{Kind: KindInvalid, Message: "Invalid credential"}
	// ErrPasskeyRefused refuses an authentication response: a bad
	// signature, origin or relying party, an unknown credential, a sign
	// counter that went back, or a disabled user.
	ErrPasskeyRefused = &Error{Kind: KindUnauthorized, Message: "Invalid credential"}
	// ErrPasskeyExists refuses registering a credential that is already
	// registered (by this user or another).
	ErrPasskeyExists = &Error{Kind: KindConflict, Message: "Passkey already registered"}
	// ErrTooManyPasskeys refuses a registration past MaxPasskeys.
	ErrTooManyPasskeys = &Error{Kind: KindInvalid, Message: "Too many passkeys"}
	// ErrPasskeyNotFound answers a deletion of a passkey the caller's user
	// does not have.
	ErrPasskeyNotFound = &Error{Kind: KindNotFound, Message: "Passkey not found"}
	// ErrPasskeysDisabled answers every passkey endpoint when no WebAuthn
	// is configured.
	ErrPasskeysDisabled = &Error{Kind: KindNotFound, Message: "Passkeys are not enabled"}
)

// CeremonyStart is what a begin answers: the ceremony token the finish
// must present, and the options for the browser.
type CeremonyStart struct {
	Ceremony string
	Options  json.RawMessage
}

// PasskeyFinish is the body of a finish: the ceremony token, the browser's
// credential JSON and, for a registration, the passkey's name (a string, or
// missing).
type PasskeyFinish struct {
	Ceremony   Value
	Credential json.RawMessage
	Name       Value
}

// webAuthn returns the configured WebAuthn or ErrPasskeysDisabled.
func (s *Service) webAuthn() (WebAuthn, error) {
	if s.cfg.WebAuthn == nil {
		return nil, ErrPasskeysDisabled
	}
	return s.cfg.WebAuthn, nil
}

// webAuthnUser is u as ceremonies name it.
func webAuthnUser(u *User) WebAuthnUser {
	h := make([]byte, 16)
	parseUUID(h, u.ID)
	return WebAuthnUser{Handle: h, Name: u.Login, DisplayName: strings.TrimSpace(u.FirstName + " " + u.LastName)}
}

// BeginPasskeyRegistration starts adding a passkey to the caller's user:
// creation options that exclude the user's passkeys, and a ceremony token
// for FinishPasskeyRegistration within CeremonyTTL. It returns
// ErrTooManyPasskeys if the user holds MaxPasskeys.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, c *Caller) (CeremonyStart, error) {
	wa, err := s.webAuthn()
	if err != nil {
		return CeremonyStart{}, err
	}
	have, err := s.cfg.Store.UserPasskeys(ctx, c.User.ID)
	if err != nil {
		return CeremonyStart{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	if len(have) >= MaxPasskeys {
		return CeremonyStart{}, ErrTooManyPasskeys
	}
	opts, state, err := wa.BeginRegistration(webAuthnUser(c.User), have)
	if err != nil {
		return CeremonyStart{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	return s.startCeremony(ctx, CeremonyRegister, c.User.ID, "", opts, state)
}

// startCeremony stores a new ceremony and returns its token with opts.
func (s *Service) startCeremony(ctx context.Context, kind CeremonyKind, userID, binding string, opts json.RawMessage, state []byte) (CeremonyStart, error) {
	raw := make([]byte, 32)
	if _, err := io.ReadFull(s.cfg.Rand, raw); err != nil {
		return CeremonyStart{}, fmt.Errorf("start ceremony: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	cer := &Ceremony{
		ID: ceremonyID(tok), Kind: kind, UserID: userID, Binding: binding, State: state,
		CreatedAt: now, ExpiresAt: now.Add(CeremonyTTL),
	}
	if err := s.cfg.Store.CreateCeremony(ctx, cer); err != nil {
		return CeremonyStart{}, fmt.Errorf("start ceremony: %w", err)
	}
	return CeremonyStart{Ceremony: tok, Options: opts}, nil
}

// ceremonyID is the stored id of ceremony token tok.
func ceremonyID(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// takeCeremony consumes the ceremony of token v and returns it if it is of
// kind, for userID ("" for none), with binding, and not expired; otherwise ErrInvalidCeremony. The ceremony is consumed even when
// refused: a ceremony is tried once.
func (s *Service) takeCeremony(ctx context.Context, v Value, kind CeremonyKind, userID, binding string) (*Ceremony, error) {
	if v.Type != ValueString || v.Str == "" || len(v.Str) > 128 {
		return nil, ErrInvalidCeremony
	}
	cer, err := s.cfg.Store.TakeCeremony(ctx, ceremonyID(v.Str))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidCeremony
	}
	if err != nil {
		return nil, fmt.Errorf("take ceremony: %w", err)
	}
	if cer.Kind != kind || cer.UserID != userID || cer.Binding != binding || !s.now().Before(cer.ExpiresAt) {
		return nil, ErrInvalidCeremony
	}
	return cer, nil
}

// FinishPasskeyRegistration checks the browser's registration response
// against the caller's ceremony and stores the new passkey under f.Name
// (trimmed; DefaultPasskeyName when missing or blank). It returns
// ErrInvalidCeremony for a ceremony that is not the caller's live
// registration, ErrPasskeyInvalid for a response the WebAuthn
// implementation refuses, ErrPasskeyExists for a credential already
// registered, and a KindInvalid error for a bad name (checked first, so
// that the ceremony is not spent on it).
func (s *Service) FinishPasskeyRegistration(ctx context.Context, c *Caller, f PasskeyFinish) (*Passkey, error) {
	wa, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	name, err := passkeyName(f.Name)
	if err != nil {
		return nil, err
	}
	cer, err := s.takeCeremony(ctx, f.Ceremony, CeremonyRegister, c.User.ID, "")
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(f.Credential)) == 0 {
		return nil, ErrPasskeyInvalid
	}
	p, err := wa.FinishRegistration(webAuthnUser(c.User), cer.State, f.Credential)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelDebug, "passkey registration refused", slog.String("user", c.User.ID), slog.String("reason", err.Error()))
		return nil, ErrPasskeyInvalid
	}
	if p.ID, err = newUUID(s.cfg.Rand); err != nil {
		return nil, fmt.Errorf("finish passkey registration: %w", err)
	}
	p.UserID, p.Name, p.CreatedAt, p.LastUsedAt = c.User.ID, name, s.now(), time.Time{}
	if err := s.cfg.Store.CreatePasskey(ctx, p); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return nil, ErrPasskeyExists
		}
		return nil, fmt.Errorf("finish passkey registration: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "passkey_registered", slog.String("user", c.User.ID), slog.String("passkey", p.ID),
		slog.Bool("backup_eligible", p.BackupEligible))
	return p, nil
}

// passkeyName is the name a registration gives: v trimmed, or
// DefaultPasskeyName for a missing, null or blank one. Another type, a
// control character or more than PasskeyNameMax code points is a
// KindInvalid error.
func passkeyName(v Value) (string, error) {
	switch v.Type {
	case ValueMissing, ValueNull:
		return DefaultPasskeyName, nil
	case ValueString:
	default:
		return "", &Error{Kind: KindInvalid, Messages: []string{"name must be a string"}}
	}
	name := strings.TrimSpace(v.Str)
	switch {
	case name == "":
		return DefaultPasskeyName, nil
	case utf8.RuneCountInString(name) > PasskeyNameMax:
		return "", &Error{Kind: KindInvalid, Messages: []string{fmt.Sprintf("name must be shorter than or equal to %d characters", PasskeyNameMax)}}
	case hasControl(name) || !utf8.ValidString(name):
		return "", &Error{Kind: KindInvalid, Messages: []string{"name must not contain control characters"}}
	}
	return name, nil
}

// BeginPasskeyLogin starts a signin with a passkey alone: request options
// without allowCredentials (the authenticator offers the user's
// discoverable credentials for this relying party), and a ceremony token
// for FinishPasskeyLogin within CeremonyTTL.
func (s *Service) BeginPasskeyLogin(ctx context.Context) (CeremonyStart, error) {
	wa, err := s.webAuthn()
	if err != nil {
		return CeremonyStart{}, err
	}
	opts, state, err := wa.BeginLogin(nil)
	if err != nil {
		return CeremonyStart{}, fmt.Errorf("begin passkey login: %w", err)
	}
	return s.startCeremony(ctx, CeremonyLogin, "", "", opts, state)
}

// FinishPasskeyLogin checks the browser's authentication response against
// the ceremony and opens a session for the passkey's user, whose AMR is
// ["webauthn"]: the passkey alone, user verification required, is both
// factors, so no second factor is asked even if the user has TOTP.
//
// It returns ErrInvalidCeremony for a ceremony that is not a live signin
// ceremony, and ErrPasskeyRefused when the response fails verification,
// names an unknown credential or one whose user handle is not its user's,
// carries a sign counter that did not grow (a cloned authenticator; audited
// as passkey_counter_regressed), or is of a disabled user. An unverified
// address is refused with ErrEmailNotVerified under
// Config.RequireVerifiedEmail, as at signin.
func (s *Service) FinishPasskeyLogin(ctx context.Context, f PasskeyFinish, c Client) (Tokens, error) {
	wa, err := s.webAuthn()
	if err != nil {
		return Tokens{}, err
	}
	cer, err := s.takeCeremony(ctx, f.Ceremony, CeremonyLogin, "", "")
	if err != nil {
		return Tokens{}, err
	}
	u, err := s.assert(ctx, wa, cer, f.Credential, "", c)
	if err != nil {
		return Tokens{}, err
	}
	if s.cfg.RequireVerifiedEmail && !u.EmailVerified() {
		s.audit(ctx, slog.LevelInfo, "signin_unverified", slog.String("user", u.ID), ipAttr(c))
		return Tokens{}, ErrEmailNotVerified
	}
	s.audit(ctx, slog.LevelInfo, "passkey_signin", slog.String("user", u.ID), ipAttr(c))
	return s.openSession(ctx, u.ID, c, s.now(), []string{AMRWebAuthn})
}

// assert verifies credential against the ceremony cer, for user userID
// ("" for any user: a discoverable signin), applies the sign counter rule,
// records the use, and returns the passkey's (enabled) user. Every refusal
// is ErrPasskeyRefused, audited as passkey_signin_failed.
func (s *Service) assert(ctx context.Context, wa WebAuthn, cer *Ceremony, credential json.RawMessage, userID string, c Client) (*User, error) {
	var storeErr error
	lookup := func(credID, handle []byte) (*Passkey, error) {
		p, err := s.cfg.Store.PasskeyByCredentialID(ctx, credID)
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				storeErr = err
			}
			return nil, err
		}
		want := make([]byte, 16)
		parseUUID(want, p.UserID)
		if (len(handle) > 0 && !bytes.Equal(handle, want)) || (userID != "" && p.UserID != userID) {
			return nil, errors.New("the credential is not the user's")
		}
		return p, nil
	}
	refuse := func(reason string, attrs ...slog.Attr) (*User, error) {
		attrs = append(attrs, slog.String("reason", reason), ipAttr(c))
		s.audit(ctx, slog.LevelInfo, "passkey_signin_failed", attrs...)
		return nil, ErrPasskeyRefused
	}
	if len(bytes.TrimSpace(credential)) == 0 {
		return refuse("no credential")
	}
	a, err := wa.FinishLogin(cer.State, credential, lookup)
	if storeErr != nil {
		return nil, fmt.Errorf("passkey login: %w", storeErr)
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelDebug, "passkey assertion refused", slog.String("reason", err.Error()))
		return refuse("verification")
	}
	p := a.Passkey
	// WebAuthn §6.1.1: a counter that does not grow, when either is
	// non-zero, means two copies of the private key may exist.
	if (a.SignCount != 0 || p.SignCount != 0) && a.SignCount <= p.SignCount {
		s.audit(ctx, slog.LevelWarn, "passkey_counter_regressed", slog.String("user", p.UserID), slog.String("passkey", p.ID),
			slog.Int64("stored", p.SignCount), slog.Int64("presented", a.SignCount), ipAttr(c))
		return nil, ErrPasskeyRefused
	}
	u, err := s.cfg.Store.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return refuse("no user", slog.String("passkey", p.ID))
	}
	if err != nil {
		return nil, fmt.Errorf("passkey login: %w", err)
	}
	if u.Disabled() {
		return refuse("disabled", slog.String("user", u.ID))
	}
	if err := s.cfg.Store.UsePasskey(ctx, p.ID, p.SignCount, a.SignCount, a.Flags, s.now()); err != nil {
		if errors.Is(err, ErrStale) || errors.Is(err, ErrNotFound) {
			// Another signin with the same counter won, or the
			// passkey was deleted meanwhile.
			return refuse("concurrent use", slog.String("user", u.ID), slog.String("passkey", p.ID))
		}
		return nil, fmt.Errorf("passkey login: %w", err)
	}
	return u, nil
}

// Passkeys returns the passkeys of the caller's user, oldest first.
func (s *Service) Passkeys(ctx context.Context, c *Caller) ([]Passkey, error) {
	ps, err := s.cfg.Store.UserPasskeys(ctx, c.User.ID)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return ps, nil
}

// DeletePasskey deletes passkey id of the caller's user. It returns
// ErrPasskeyNotFound if the user has no such passkey, whoever else may.
func (s *Service) DeletePasskey(ctx context.Context, c *Caller, id string) error {
	if !parseUUID(make([]byte, 16), id) {
		return ErrPasskeyNotFound
	}
	if err := s.cfg.Store.DeletePasskey(ctx, c.User.ID, strings.ToLower(id)); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrPasskeyNotFound
		}
		return fmt.Errorf("delete passkey: %w", err)
	}
	s.audit(ctx, slog.LevelInfo, "passkey_deleted", slog.String("user", c.User.ID), slog.String("passkey", id),
		slog.String("by_session", c.Session.ID))
	return nil
}

// PurgeCeremonies deletes the ceremonies that expired unfinished, and
// returns how many it deleted; call it periodically.
func (s *Service) PurgeCeremonies(ctx context.Context) (int64, error) {
	n, err := s.cfg.Store.DeleteCeremonies(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("purge ceremonies: %w", err)
	}
	return n, nil
}

// CeremonyMFA is a passkey as the second factor of a password signin,
// bound to its mfa_token.
const CeremonyMFA CeremonyKind = "mfa"

// mfaCeremonyID is the stored id of the second-factor ceremony of the
// mfa_token whose hash is tokenHash: the client holds no ceremony token,
// only the mfa_token, so the ceremony is found by it.
func mfaCeremonyID(tokenHash string) string { return ceremonyID("mfa\x00" + tokenHash) }

// liveMFAToken returns the mfa_token v and its enabled user, or
// ErrInvalidMFAToken.
func (s *Service) liveMFAToken(ctx context.Context, op string, v Value) (*MFAToken, *User, error) {
	if v.Type != ValueString {
		return nil, nil, ErrInvalidMFAToken
	}
	hash, ok := tokenHash(JSTrim(v.Str))
	if !ok {
		return nil, nil, ErrInvalidMFAToken
	}
	mt, err := s.cfg.Store.MFAToken(ctx, hash)
	if errors.Is(err, ErrNotFound) || (err == nil && !s.now().Before(mt.ExpiresAt)) {
		return nil, nil, ErrInvalidMFAToken
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	u, err := s.cfg.Store.UserByID(ctx, mt.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled()) {
		return nil, nil, ErrInvalidMFAToken
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	return mt, u, nil
}

// BeginMFAWebAuthn starts a passkey as the second factor of the signin
// that answered mfaToken: request options listing the user's passkeys
// (user verification preferred: the password was the first factor). The
// ceremony is bound to the mfa_token and lives CeremonyTTL (and no longer
// than the token matters: VerifyMFA checks both); a later begin for the
// same token replaces it. It returns ErrInvalidMFAToken for a token that
// is unknown, used or expired, or whose user is disabled or has no
// passkey.
func (s *Service) BeginMFAWebAuthn(ctx context.Context, mfaToken Value) (json.RawMessage, error) {
	const op = "begin mfa webauthn"
	wa, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	mt, u, err := s.liveMFAToken(ctx, op, mfaToken)
	if err != nil {
		return nil, err
	}
	have, err := s.cfg.Store.UserPasskeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(have) == 0 {
		return nil, ErrInvalidMFAToken
	}
	opts, state, err := wa.BeginLogin(have)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	id := mfaCeremonyID(mt.Hash)
	if _, err := s.cfg.Store.TakeCeremony(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	now := s.now()
	cer := &Ceremony{ID: id, Kind: CeremonyMFA, UserID: u.ID, Binding: mt.Hash, State: state, CreatedAt: now, ExpiresAt: now.Add(CeremonyTTL)}
	if err := s.cfg.Store.CreateCeremony(ctx, cer); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return opts, nil
}

// verifyMFAPasskey is VerifyMFA with a credential: the assertion of one of
// the user's passkeys answering BeginMFAWebAuthn's options. It opens a
// session whose AMR is the first factor's plus "webauthn", and consumes
// the mfa_token. A refused assertion (ErrPasskeyRefused) spends the
// ceremony but not the token: the client begins again. It returns
// ErrInvalidCeremony when no live ceremony of this token is waiting.
func (s *Service) verifyMFAPasskey(ctx context.Context, r MFAVerifyRequest, c Client) (Tokens, error) {
	const op = "verify mfa passkey"
	wa, err := s.webAuthn()
	if err != nil {
		return Tokens{}, err
	}
	mt, u, err := s.liveMFAToken(ctx, op, r.MFAToken)
	if err != nil {
		return Tokens{}, err
	}
	cer, err := s.cfg.Store.TakeCeremony(ctx, mfaCeremonyID(mt.Hash))
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrInvalidCeremony
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("%s: %w", op, err)
	}
	if cer.Kind != CeremonyMFA || cer.UserID != u.ID || cer.Binding != mt.Hash || !s.now().Before(cer.ExpiresAt) {
		return Tokens{}, ErrInvalidCeremony
	}
	if _, err := s.assert(ctx, wa, cer, r.Credential, u.ID, c); err != nil {
		return Tokens{}, err
	}
	now := s.now()
	if err := s.cfg.Store.ConsumeMFAToken(ctx, mt.Hash, now); errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrInvalidMFAToken // consumed by a concurrent verify
	} else if err != nil {
		return Tokens{}, fmt.Errorf("%s: %w", op, err)
	}
	amr := append(slices.Clip(mt.AMR), AMRWebAuthn)
	s.audit(ctx, slog.LevelInfo, "mfa_verified", slog.String("user", u.ID), slog.String("method", MethodWebAuthn), ipAttr(c))
	s.audit(ctx, slog.LevelInfo, "signin", slog.String("user", u.ID), ipAttr(c))
	return s.openSession(ctx, u.ID, c, now, amr)
}
