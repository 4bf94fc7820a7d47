// Package passkeytest is a software WebAuthn authenticator and browser for
// tests: it answers the creation and request options that auth.Service
// hands out with the RegistrationResponseJSON and
// AuthenticationResponseJSON a browser would send, signed with an ES256 key
// it makes, so that the Service's passkey rules can be tested without a
// browser. It attests with "none", as most passkeys do.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator is one discoverable credential and the browser that uses it.
// Set its fields to misbehave: another Origin or RPID than the relying
// party's, a counter that goes back.
type Authenticator struct {
	// Origin is the origin the browser reports in clientDataJSON.
	Origin string
	// RPID is the relying party id whose hash the authenticator data
	// carries; "" means the options' rp id.
	RPID string
	// Counter is the signature counter: with CountUp, incremented before
	// each assertion; without, sent as it is (0: a synced passkey).
	Counter uint32
	CountUp bool
	// BackupEligible and BackedUp are the BE and BS flags.
	BackupEligible, BackedUp bool
	// NoUserVerification clears the UV flag.
	NoUserVerification bool

	key          *ecdsa.PrivateKey
	CredentialID []byte
	UserHandle   []byte
}

// New returns an authenticator whose browser runs on origin.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin}
}

// Create answers creation options (PublicKeyCredentialCreationOptionsJSON)
// with a new credential, as navigator.credentials.create and toJSON would.
func (a *Authenticator) Create(options []byte) (json.RawMessage, error) {
	var o struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	handle, err := base64.RawURLEncoding.DecodeString(o.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user.id: %w", err)
	}
	if a.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	a.CredentialID = make([]byte, 32)
	rand.Read(a.CredentialID)
	a.UserHandle = handle
	clientData := a.clientData("webauthn.create", o.Challenge)
	pub, err := a.key.PublicKey.ECDH()
	if err != nil {
		return nil, err
	}
	raw := pub.Bytes() // 0x04 || x || y
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	if err != nil {
		return nil, err
	}
	att := make([]byte, 0, 16+2+len(a.CredentialID)+len(cose))
	att = append(att, make([]byte, 16)...) // AAGUID: none told
	att = binary.BigEndian.AppendUint16(att, uint16(len(a.CredentialID)))
	att = append(att, a.CredentialID...)
	att = append(att, cose...)
	authData := a.authData(o.RP.ID, 0x40, a.Counter, att)
	attObj, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": base64.RawURLEncoding.EncodeToString(a.CredentialID), "rawId": base64.RawURLEncoding.EncodeToString(a.CredentialID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON": base64.RawURLEncoding.EncodeToString(clientData), "attestationObject": base64.RawURLEncoding.EncodeToString(attObj),
			"transports": []string{"internal"},
		},
	})
}

// Get answers request options (PublicKeyCredentialRequestOptionsJSON) with
// an assertion of the credential, as navigator.credentials.get and toJSON
// would. With allowCredentials, the credential must be listed.
func (a *Authenticator) Get(options []byte) (json.RawMessage, error) {
	if a.key == nil {
		return nil, errors.New("passkeytest: no credential: call Create first")
	}
	var o struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		Allow     []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, err
	}
	if len(o.Allow) > 0 {
		listed := false
		for _, c := range o.Allow {
			listed = listed || c.ID == base64.RawURLEncoding.EncodeToString(a.CredentialID)
		}
		if !listed {
			return nil, errors.New("passkeytest: the credential is not in allowCredentials")
		}
	}
	if a.CountUp {
		a.Counter++
	}
	clientData := a.clientData("webauthn.get", o.Challenge)
	authData := a.authData(o.RPID, 0, a.Counter, nil)
	sum := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, authData...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": base64.RawURLEncoding.EncodeToString(a.CredentialID), "rawId": base64.RawURLEncoding.EncodeToString(a.CredentialID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON": base64.RawURLEncoding.EncodeToString(clientData), "authenticatorData": base64.RawURLEncoding.EncodeToString(authData),
			"signature": base64.RawURLEncoding.EncodeToString(sig), "userHandle": base64.RawURLEncoding.EncodeToString(a.UserHandle),
		},
	})
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// authData is the authenticator data for rpID (a.RPID if set), with extra
// flags, the counter and attested credential data att.
func (a *Authenticator) authData(rpID string, extra byte, counter uint32, att []byte) []byte {
	if a.RPID != "" {
		rpID = a.RPID
	}
	h := sha256.Sum256([]byte(rpID))
	flags := 0x01 | extra // UP
	if !a.NoUserVerification {
		flags |= 0x04
	}
	if a.BackupEligible {
		flags |= 0x08
	}
	if a.BackedUp {
		flags |= 0x10
	}
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, counter)
	return append(out, att...)
}
