package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/authstore/auth"
	"github.com/go-jose/go-jose/v4"
)

// verifyAlgs are the algorithms Verify accepts; a token's header must name
// one, and it must be the algorithm of the key its kid names.
var verifyAlgs = []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.RS256}

// Verify checks an access token this service signed and returns its claims:
// a compact JWS with typ at+jwt, a kid naming a published key (reloading
// once, rate-limited, if the kid is unknown), the alg of that key, a valid
// signature, and an exp after now. It does not check iss or aud.
//
// It returns an error wrapping auth.ErrTokenExpired for an expired token and
// auth.ErrInvalidToken for every other failure.
func (k *Keys) Verify(ctx context.Context, raw string) (auth.AccessClaims, error) {
	var none auth.AccessClaims
	if len(raw) > 8<<10 {
		return none, fmt.Errorf("token: verify: too long: %w", auth.ErrInvalidToken)
	}
	if !canonicalCompact(raw) {
		return none, fmt.Errorf("token: verify: malformed: %w", auth.ErrInvalidToken)
	}
	jws, err := jose.ParseSignedCompact(raw, verifyAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return none, fmt.Errorf("token: verify: malformed: %w", auth.ErrInvalidToken)
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != TokenType {
		return none, fmt.Errorf("token: verify: typ is not %s: %w", TokenType, auth.ErrInvalidToken)
	}
	jwk, ok := k.publicKey(ctx, h.KeyID)
	if !ok {
		return none, fmt.Errorf("token: verify: unknown kid: %w", auth.ErrInvalidToken)
	}
	if h.Algorithm != jwk.Algorithm {
		return none, fmt.Errorf("token: verify: alg does not match the key: %w", auth.ErrInvalidToken)
	}
	if h.Algorithm == ES256 && !lowS(jws.Signatures[0].Signature) {
		return none, fmt.Errorf("token: verify: ES256 signature with high S: %w", auth.ErrInvalidToken)
	}
	payload, err := jws.Verify(jwk.Key)
	if err != nil {
		return none, fmt.Errorf("token: verify: bad signature: %w", auth.ErrInvalidToken)
	}
	return decodeClaims(payload, k.cfg.Now())
}

// decodeClaims decodes the payload of a token whose signature verified and checks
// that it has sub and exp, and that exp is after now.
func decodeClaims(payload []byte, now time.Time) (auth.AccessClaims, error) {
	var none auth.AccessClaims
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil || c.Subject == "" || c.ExpiresAt == 0 {
		return none, fmt.Errorf("token: verify: bad claims: %w", auth.ErrInvalidToken)
	}
	out := auth.AccessClaims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		SessionID: c.SessionID,
		ID:        c.ID,
		IssuedAt:  time.Unix(c.IssuedAt, 0).UTC(),
		ExpiresAt: time.Unix(c.ExpiresAt, 0).UTC(),
		AMR:       c.AMR,
	}
	if !now.Before(out.ExpiresAt) {
		return none, fmt.Errorf("token: verify: %w", auth.ErrTokenExpired)
	}
	return out, nil
}

// canonicalCompact reports whether raw is the one spelling of a compact JWS:
// three segments of unpadded base64url with no line breaks and no stray
// trailing bits. go-jose decodes leniently (it skips CR and LF and ignores
// trailing bits) and verifies the re-encoded bytes, so without this check
// one signed token would be accepted under many strings.
//
// The same check is written in verify (verify/verify.go) on purpose: verify is a module
// of its own that links nothing of the server, and the server does not import
// its client; a fuzz test in each package keeps both strict.
func canonicalCompact(raw string) bool {
	segs := strings.Split(raw, ".")
	if len(segs) != 3 {
		return false
	}
	for _, s := range segs {
		if strings.ContainsAny(s, "\r\n") {
			return false
		}
		if _, err := base64.RawURLEncoding.Strict().DecodeString(s); err != nil {
			return false
		}
	}
	return true
}
