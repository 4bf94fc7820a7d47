// Package passkey implements auth.WebAuthn with github.com/go-webauthn/webauthn:
// the options of WebAuthn ceremonies and the verification of the browser's
// responses, for one relying party id and a list of front-end origins. It
// keeps nothing between calls: the state of a ceremony goes back to the
// caller (auth.Service stores it), so any instance can finish what another
// began.
//
// Choices: credentials must be discoverable (residentKey "required"), so a
// passkey can sign in alone; user verification is "required" for
// registration and for a signin with a passkey alone (the passkey is then
// both factors: the device and its PIN or biometric), and "preferred" when
// a passkey is a second factor after a password; attestation is "none"
// (no authenticator model is trusted or refused).
package passkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/authstore/auth"
)

// Config is the relying party.
type Config struct {
	// RPID is the relying party id: a domain name that is the host of
	// every origin or a parent of it (example.com for
	// https://app.example.com), or "localhost". A credential is bound to
	// it: changing it orphans every passkey.
	RPID string
	// Origins are the exact origins (scheme://host[:port]) of the pages
	// that run the ceremonies: the front ends. A response made on another
	// origin is refused.
	Origins []string
	// RPName is the name authenticators show; default RPID.
	RPName string
	// Timeout is the browser's timeout of a ceremony (default
	// auth.CeremonyTTL). The Service enforces the ceremony's lifetime
	// itself, by its clock.
	Timeout time.Duration
}

// WebAuthn is the relying party. It is safe for concurrent use.
type WebAuthn struct {
	wa *webauthn.WebAuthn
}

var _ auth.WebAuthn = (*WebAuthn)(nil)

// New checks cfg and returns its relying party. An error names the field.
func New(cfg Config) (*WebAuthn, error) {
	if err := CheckRPID(cfg.RPID); err != nil {
		return nil, fmt.Errorf("relying party id: %w", err)
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("origins: at least one is needed")
	}
	for _, o := range cfg.Origins {
		if err := CheckOrigin(cfg.RPID, o); err != nil {
			return nil, fmt.Errorf("origin %q: %w", o, err)
		}
	}
	if cfg.RPName == "" {
		cfg.RPName = cfg.RPID
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = auth.CeremonyTTL
	}
	t := webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPName,
		RPOrigins:             cfg.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: protocol.ResidentKeyRequired(),
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: t, Registration: t},
	})
	if err != nil {
		return nil, err
	}
	return &WebAuthn{wa: wa}, nil
}

// CheckRPID reports whether id can be a relying party id: a lower-case
// domain name without scheme, port or path, such as example.com or
// localhost. An IP address is refused: browsers refuse it as an RP id.
func CheckRPID(id string) error {
	switch {
	case id == "":
		return errors.New("must not be empty")
	case net.ParseIP(id) != nil:
		return errors.New("must be a domain name, not an IP address (browsers refuse those; use localhost for development)")
	case id != strings.ToLower(id) || strings.ContainsAny(id, ":/?#@ ") || strings.HasPrefix(id, ".") || strings.HasSuffix(id, "."):
		return errors.New("must be a lower-case domain name without scheme, port or path, e.g. example.com")
	}
	return protocol.ValidateRPID(id)
}

// CheckOrigin reports whether origin is scheme://host[:port] with no path,
// https (or http for localhost), whose host is rpID or a subdomain of it.
func CheckOrigin(rpID, origin string) error {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" ||
		strings.HasSuffix(origin, "?") || strings.HasSuffix(origin, "#") {
		return errors.New("want scheme://host[:port] with no path, as browsers send it (e.g. https://app.example.com)")
	}
	host := u.Hostname()
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (host == "localhost" || strings.HasSuffix(host, ".localhost")):
	default:
		return errors.New("must be https (or http on localhost): WebAuthn needs a secure context")
	}
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return fmt.Errorf("its host must be the relying party id %q or a subdomain of it", rpID)
	}
	return nil
}

// user is an auth.WebAuthnUser with its credentials, as the library wants.
type user struct {
	u     auth.WebAuthnUser
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.u.Handle }
func (u *user) WebAuthnName() string                       { return u.u.Name }
func (u *user) WebAuthnDisplayName() string                { return u.u.DisplayName }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// credential is p as the library's credential record.
func credential(p *auth.Passkey) webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		ts[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: p.CredentialID, PublicKey: p.PublicKey, AttestationFormat: p.AttestationFormat, Transport: ts,
		Flags: webauthn.CredentialFlags{
			UserPresent: p.UserPresent, UserVerified: p.UserVerified,
			BackupEligible: p.BackupEligible, BackupState: p.BackedUp,
		},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: uint32(p.SignCount)},
	}
}

// descriptors lists ps as credential descriptors.
func descriptors(ps []auth.Passkey) []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, len(ps))
	for i := range ps {
		c := credential(&ps[i])
		out[i] = c.Descriptor()
	}
	return out
}

// BeginRegistration returns the creation options for u (the "publicKey"
// member of CredentialCreationOptions, in its JSON form) and the state of
// the ceremony.
func (w *WebAuthn) BeginRegistration(u auth.WebAuthnUser, exclude []auth.Passkey) (json.RawMessage, []byte, error) {
	cc, sd, err := w.wa.BeginRegistration(&user{u: u}, webauthn.WithExclusions(descriptors(exclude)))
	if err != nil {
		return nil, nil, err
	}
	return encode(cc.Response, sd)
}

func encode(options any, sd *webauthn.SessionData) (json.RawMessage, []byte, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, nil, err
	}
	state, err := json.Marshal(sd)
	if err != nil {
		return nil, nil, err
	}
	return opts, state, nil
}

func decodeState(state []byte) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(state, &sd); err != nil {
		return sd, fmt.Errorf("ceremony state: %w", err)
	}
	return sd, nil
}

// FinishRegistration checks a RegistrationResponseJSON against state.
func (w *WebAuthn) FinishRegistration(u auth.WebAuthnUser, state []byte, cred json.RawMessage) (*auth.Passkey, error) {
	sd, err := decodeState(state)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(cred)
	if err != nil {
		return nil, describe(err)
	}
	c, err := w.wa.CreateCredential(&user{u: u}, sd, parsed)
	if err != nil {
		return nil, describe(err)
	}
	ts := make([]string, len(c.Transport))
	for i, t := range c.Transport {
		ts[i] = string(t)
	}
	return &auth.Passkey{
		CredentialID: c.ID, PublicKey: c.PublicKey, SignCount: int64(c.Authenticator.SignCount),
		AAGUID: c.Authenticator.AAGUID, Transports: ts, AttestationFormat: c.AttestationFormat,
		BackupEligible: c.Flags.BackupEligible, BackedUp: c.Flags.BackupState,
		UserPresent: c.Flags.UserPresent, UserVerified: c.Flags.UserVerified,
	}, nil
}

// BeginLogin returns the request options (the "publicKey" member of
// CredentialRequestOptions, in its JSON form) and the state: with allow
// empty, for a discoverable signin with user verification required; with
// allow, for those credentials only, user verification preferred (a
// second factor).
func (w *WebAuthn) BeginLogin(allow []auth.Passkey) (json.RawMessage, []byte, error) {
	var opts []webauthn.LoginOption
	if len(allow) > 0 {
		opts = append(opts, webauthn.WithAllowedCredentials(descriptors(allow)),
			webauthn.WithUserVerification(protocol.VerificationPreferred))
	}
	ca, sd, err := w.wa.BeginDiscoverableLogin(opts...)
	if err != nil {
		return nil, nil, err
	}
	return encode(ca.Response, sd)
}

// FinishLogin checks an AuthenticationResponseJSON against state and the
// passkey lookup finds.
func (w *WebAuthn) FinishLogin(state []byte, cred json.RawMessage, lookup func(credentialID, userHandle []byte) (*auth.Passkey, error)) (auth.Assertion, error) {
	sd, err := decodeState(state)
	if err != nil {
		return auth.Assertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(cred)
	if err != nil {
		return auth.Assertion{}, describe(err)
	}
	var found *auth.Passkey
	handler := func(rawID, handle []byte) (webauthn.User, error) {
		p, err := lookup(rawID, handle)
		if err != nil {
			return nil, err
		}
		found = p
		return &user{u: auth.WebAuthnUser{Handle: handle}, creds: []webauthn.Credential{credential(p)}}, nil
	}
	if len(parsed.Response.UserHandle) > 0 {
		_, _, err = w.wa.ValidatePasskeyLogin(handler, sd, parsed)
	} else if len(sd.AllowedCredentialIDs) > 0 {
		// A second factor: the authenticator need not return the user
		// handle; the allow list names the user's credentials.
		var u webauthn.User
		if u, err = handler(parsed.RawID, nil); err == nil {
			_, err = w.wa.ValidateLogin(u, sd, parsed)
		}
	} else {
		err = errors.New("a discoverable signin needs the user handle")
	}
	if err != nil {
		return auth.Assertion{}, describe(err)
	}
	f := parsed.Response.AuthenticatorData.Flags
	return auth.Assertion{
		Passkey:   found,
		SignCount: int64(parsed.Response.AuthenticatorData.Counter),
		Flags:     auth.PasskeyFlags{UserPresent: f.UserPresent(), UserVerified: f.UserVerified(), BackedUp: f.HasBackupState()},
	}, nil
}

// describe adds the library's details, which say what failed, to err.
func describe(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && (pe.Details != "" || pe.DevInfo != "") {
		return fmt.Errorf("%w (%s; %s)", err, pe.Details, pe.DevInfo)
	}
	return err
}
