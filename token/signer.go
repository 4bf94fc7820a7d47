package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/authstore/auth"
	"github.com/go-jose/go-jose/v4"
)

// TokenType is the "typ" header of every access token (RFC 9068).
const TokenType = "at+jwt"

var _ auth.AccessTokenSigner = (*Signer)(nil)

// Signer signs access tokens with one private key. It is safe for concurrent
// use.
//
// The compact JWS is assembled here rather than by go-jose: the header is
// fixed per key, so it is encoded once, and the signature is one call to the
// standard library. go-jose's general signer builds the header, a
// JSONWebSignature and its serialization anew for each token, which was a
// third of the signing time on the refresh path. The tests verify every
// token with go-jose.
type Signer struct {
	kid    string
	alg    string
	header string // base64url of {"alg","kid","typ"}, with the "." after it
	key    crypto.Signer
}

// NewSigner returns a Signer for the key of keys whose ID is activeKID,
// opening its private half with sealer once; see openKey for the checks.
func NewSigner(keys []auth.SigningKey, activeKID string, sealer *Sealer) (*Signer, error) {
	var k *auth.SigningKey
	for i := range keys {
		if keys[i].ID == activeKID {
			k = &keys[i]
			break
		}
	}
	if k == nil {
		return nil, fmt.Errorf("token: no signing key %q", activeKID)
	}
	priv, err := openKey(k, sealer)
	if err != nil {
		return nil, err
	}
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		KID string `json:"kid"`
		Typ string `json:"typ"`
	}{k.Algorithm, k.ID, TokenType})
	if err != nil {
		return nil, fmt.Errorf("token: signing key %q: %w", k.ID, err)
	}
	return &Signer{
		kid:    k.ID,
		alg:    k.Algorithm,
		header: base64.RawURLEncoding.EncodeToString(header) + ".",
		key:    priv.(crypto.Signer),
	}, nil
}

// openKey opens the private half of k with sealer and checks that it fits
// k's algorithm and is the private half of k's public JWK. If it does not
// open, the error wraps ErrOpen and says the secret key may not match; it
// never contains key material.
func openKey(k *auth.SigningKey, sealer *Sealer) (any, error) {
	pub, err := publicJWK(k)
	if err != nil {
		return nil, err
	}
	der, err := sealer.Open(k.Private, []byte(k.ID))
	if err != nil {
		return nil, fmt.Errorf("token: signing key %q cannot be opened; the secret key does not match the one it was sealed with, or the row was altered: %w", k.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		// The parse error could quote key bytes; leave it out.
		return nil, fmt.Errorf("token: signing key %q: private key is not valid PKCS#8", k.ID)
	}
	if err := checkKeyType(k.Algorithm, priv); err != nil {
		return nil, fmt.Errorf("token: signing key %q: %w", k.ID, err)
	}
	if err := samePublic(priv, &pub); err != nil {
		return nil, fmt.Errorf("token: signing key %q: %w", k.ID, err)
	}
	return priv, nil
}

// samePublic reports an error unless priv is the private half of pub.
func samePublic(priv any, pub *jose.JSONWebKey) error {
	have := jose.JSONWebKey{Key: priv.(crypto.Signer).Public()}
	a, err := have.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("thumbprint: %w", err)
	}
	b, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("thumbprint: %w", err)
	}
	if string(a) != string(b) {
		return errors.New("private key does not match the public JWK")
	}
	return nil
}

// KeyID returns the "kid" of the tokens s signs.
func (s *Signer) KeyID() string { return s.kid }

// Algorithm returns the "alg" of the tokens s signs.
func (s *Signer) Algorithm() string { return s.alg }

// claims is the payload of an access token. Dates are seconds since the
// epoch; aud is a single string, left out when empty, as are sid and amr.
type claims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud,omitempty"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	ID        string `json:"jti"`
	SessionID string `json:"sid,omitempty"`
	// AMR is the authentication methods of RFC 8176 ("pwd", "otp",
	// "webauthn"), as OpenID Connect's ID tokens carry them.
	AMR []string `json:"amr,omitempty"`
}

// Sign returns a compact JWS with header {"alg","kid","typ":"at+jwt"} and
// claims iss, sub, aud (only if set), exp, iat, jti, sid and amr (only if
// set).
// Subject, ID, IssuedAt and ExpiresAt are required, and ExpiresAt must be
// after IssuedAt. ctx is not consulted: signing does not block.
func (s *Signer) Sign(_ context.Context, c auth.AccessClaims) (string, error) {
	payload, err := encodeClaims(c)
	if err != nil {
		return "", err
	}
	return compact(s.header, payload, s.signature)
}

// encodeClaims checks c as Sign requires and returns its JSON payload.
func encodeClaims(c auth.AccessClaims) ([]byte, error) {
	switch {
	case c.Subject == "":
		return nil, errors.New("token: sign: empty subject")
	case c.ID == "":
		return nil, errors.New("token: sign: empty token id")
	case c.IssuedAt.IsZero() || c.ExpiresAt.IsZero():
		return nil, errors.New("token: sign: issue and expiry times are required")
	case !c.ExpiresAt.After(c.IssuedAt):
		return nil, errors.New("token: sign: expiry is not after issue time")
	}
	payload, err := json.Marshal(claims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		ExpiresAt: c.ExpiresAt.Unix(),
		IssuedAt:  c.IssuedAt.Unix(),
		ID:        c.ID,
		SessionID: c.SessionID,
		AMR:       c.AMR,
	})
	if err != nil {
		return nil, fmt.Errorf("token: sign: %w", err)
	}
	return payload, nil
}

// compact returns the compact JWS header.payload.signature, where header is
// the base64url header followed by "." and sign computes the signature of
// the signing input.
func compact(header string, payload []byte, sign func([]byte) ([]byte, error)) (string, error) {
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(header)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(512))
	buf = append(buf, header...)
	buf = enc.AppendEncode(buf, payload)
	sig, err := sign(buf)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// signature returns the JWS signature of input under s's key (RFC 7518
// section 3): Ed25519 over the input itself; for ES256 the fixed-size r||s
// of an ECDSA P-256 signature of its SHA-256, with s at most n/2 (low S);
// for RS256 PKCS #1 v1.5 over its SHA-256.
func (s *Signer) signature(input []byte) ([]byte, error) {
	switch k := s.key.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(k, input), nil
	case *ecdsa.PrivateKey:
		h := sha256.Sum256(input)
		r, ss, err := ecdsa.Sign(rand.Reader, k, h[:])
		if err != nil {
			return nil, err
		}
		// (r, s) and (r, n-s) both verify; only the low-S one is ever
		// issued, and verification refuses the other (see lowS).
		n := k.Curve.Params().N
		if ss.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
			ss.Sub(n, ss)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		ss.FillBytes(out[32:])
		return out, nil
	case *rsa.PrivateKey:
		h := sha256.Sum256(input)
		return rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	}
	return nil, fmt.Errorf("unsupported key type %T", s.key)
}

// matches reports an error unless k (whose public JWK is pub) is still the
// key s was opened from: same algorithm, and a public half that is the
// public half of s's private key.
func (s *Signer) matches(k *auth.SigningKey, pub *jose.JSONWebKey) error {
	if k.Algorithm != s.alg {
		return fmt.Errorf("token: signing key %q changed algorithm since it was opened", k.ID)
	}
	if err := samePublic(s.key, pub); err != nil {
		return fmt.Errorf("token: signing key %q changed since it was opened: %w", k.ID, err)
	}
	return nil
}

// lowS reports whether the JWS signature sig (raw bytes) of an ES256 token
// has s at most n/2 of P-256. ECDSA signatures are malleable: if (r, s)
// verifies, so does (r, n-s), a second spelling of the same token. The
// signer only issues low S, so a high S is never one of ours. A signature
// of the wrong length is left to the verifier to refuse.
func lowS(sig []byte) bool {
	if len(sig) != 64 {
		return true
	}
	half := new(big.Int).Rsh(elliptic.P256().Params().N, 1)
	return new(big.Int).SetBytes(sig[32:]).Cmp(half) <= 0
}
