package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/authstore/auth"
	"github.com/go-jose/go-jose/v4"
)

// HS256 is the algorithm of the compatibility mode: HMAC with SHA-256 under
// a secret shared with the services that verify the tokens.
const HS256 = "HS256"

// MinHMACSecretLen is the shortest HS256 secret accepted, in bytes: the
// output size of SHA-256, as RFC 7518 section 3.2 requires.
const MinHMACSecretLen = 32

// hmacHeader is the base64url of {"alg":"HS256","typ":"JWT"}, the header
// the original service's tokens carry (@nestjs/jwt), followed by ".".
const hmacHeader = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."

// HMACTokenType is the "typ" header of HS256 access tokens, as the original
// service wrote it.
const HMACTokenType = "JWT"

var (
	_ auth.AccessTokenSigner   = (*HMAC)(nil)
	_ auth.AccessTokenVerifier = (*HMAC)(nil)
)

// HMAC signs and verifies access tokens with HS256 under one shared secret,
// as the original service did, for services that verify with that secret.
// Its tokens have the header {"alg":"HS256","typ":"JWT"} and no kid: there
// is one secret, never published and never rotated by authstore. It is safe
// for concurrent use.
//
// HMAC and Keys never accept each other's tokens: HMAC.Verify takes HS256
// only, and Keys.Verify never takes HS256.
type HMAC struct {
	key []byte
	now func() time.Time
}

// NewHMAC returns an HMAC whose key is secret, byte for byte (as
// @nestjs/jwt uses its secret string), at least MinHMACSecretLen bytes
// long. The secret is copied. now is the clock of Verify; nil means
// time.Now. Errors never contain the secret.
func NewHMAC(secret []byte, now func() time.Time) (*HMAC, error) {
	if len(secret) < MinHMACSecretLen {
		return nil, fmt.Errorf("token: the HS256 secret must be at least %d bytes, got %d", MinHMACSecretLen, len(secret))
	}
	if now == nil {
		now = time.Now
	}
	return &HMAC{key: append([]byte(nil), secret...), now: now}, nil
}

// Sign returns a compact JWS with header {"alg":"HS256","typ":"JWT"} and
// the claims of Signer.Sign, under the same requirements.
func (h *HMAC) Sign(_ context.Context, c auth.AccessClaims) (string, error) {
	payload, err := encodeClaims(c)
	if err != nil {
		return "", err
	}
	return compact(hmacHeader, payload, func(input []byte) ([]byte, error) {
		m := hmac.New(sha256.New, h.key)
		m.Write(input)
		return m.Sum(nil), nil
	})
}

// Verify checks an HS256 access token: a canonical compact JWS, alg HS256
// and typ JWT, a MAC that matches under the secret (compared in constant
// time), and an exp after now. A kid, if present, is ignored. It does not
// check iss or aud. Tokens of any other alg, the asymmetric ones included,
// are refused.
//
// It returns an error wrapping auth.ErrTokenExpired for an expired token
// and auth.ErrInvalidToken for every other failure.
func (h *HMAC) Verify(_ context.Context, raw string) (auth.AccessClaims, error) {
	var none auth.AccessClaims
	if len(raw) > 8<<10 {
		return none, fmt.Errorf("token: verify: too long: %w", auth.ErrInvalidToken)
	}
	if !canonicalCompact(raw) {
		return none, fmt.Errorf("token: verify: malformed: %w", auth.ErrInvalidToken)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil || len(jws.Signatures) != 1 {
		return none, fmt.Errorf("token: verify: malformed or not HS256: %w", auth.ErrInvalidToken)
	}
	if typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string); typ != HMACTokenType {
		return none, fmt.Errorf("token: verify: typ is not %s: %w", HMACTokenType, auth.ErrInvalidToken)
	}
	payload, err := jws.Verify(h.key)
	if err != nil {
		return none, fmt.Errorf("token: verify: bad signature: %w", auth.ErrInvalidToken)
	}
	return decodeClaims(payload, h.now())
}

// JWKS returns the empty key set {"keys":[]}: the shared secret is never
// published.
func (h *HMAC) JWKS() []byte { return []byte(`{"keys":[]}`) }
