package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/authstore/auth"
	"github.com/go-jose/go-jose/v4"
)

// Signing algorithms, as they appear in a JWT "alg" header and in
// auth.SigningKey.Algorithm.
const (
	EdDSA = "EdDSA" // Ed25519
	ES256 = "ES256" // ECDSA P-256 with SHA-256
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256
)

// RSABits is the modulus size of generated RS256 keys. 2048 bits is the
// minimum RFC 7518 allows; 3072 would be stronger at about four times the
// signing cost.
const RSABits = 2048

// GenerateKey returns a new signing key for alg (EdDSA, ES256 or RS256),
// created at now. Its ID is the RFC 7638 SHA-256 thumbprint of its public
// key, base64url without padding. Private is the PKCS#8 DER of the private
// key sealed by sealer with the ID as additional data, so a sealed blob only
// opens under its own ID. Public is the public JWK as JSON, with "kid", "alg"
// and "use":"sig".
//
// rand feeds Ed25519 key generation; the standard library always uses its
// own secure source for ECDSA and RSA keys. Nil means crypto/rand.Reader.
func GenerateKey(alg string, rand io.Reader, now time.Time, sealer *Sealer) (*auth.SigningKey, error) {
	priv, err := newPrivateKey(alg, rand)
	if err != nil {
		return nil, err
	}
	pub := priv.(crypto.Signer).Public()
	jwk := jose.JSONWebKey{Key: pub, Algorithm: alg, Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("token: generate %s key: thumbprint: %w", alg, err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	public, err := jwk.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("token: generate %s key: public JWK: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("token: generate %s key: encode: %w", alg, err)
	}
	sealed, err := sealer.Seal(der, []byte(jwk.KeyID))
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("token: generate %s key: %w", alg, err)
	}
	return &auth.SigningKey{
		ID:        jwk.KeyID,
		Algorithm: alg,
		Private:   sealed,
		Public:    public,
		CreatedAt: now,
	}, nil
}

func newPrivateKey(alg string, r io.Reader) (any, error) {
	if r == nil {
		r = rand.Reader
	}
	var (
		priv any
		err  error
	)
	switch alg {
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(r)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), r)
	case RS256:
		priv, err = rsa.GenerateKey(r, RSABits)
	default:
		return nil, fmt.Errorf("token: unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("token: generate %s key: %w", alg, err)
	}
	return priv, nil
}

// checkKeyType reports an error unless key (public or private) is of the
// type and size alg requires.
func checkKeyType(alg string, key any) error {
	ok := false
	switch alg {
	case EdDSA:
		switch key.(type) {
		case ed25519.PrivateKey, ed25519.PublicKey:
			ok = true
		}
	case ES256:
		switch k := key.(type) {
		case *ecdsa.PrivateKey:
			ok = k.Curve == elliptic.P256()
		case *ecdsa.PublicKey:
			ok = k.Curve == elliptic.P256()
		}
	case RS256:
		switch k := key.(type) {
		case *rsa.PrivateKey:
			ok = k.N.BitLen() >= 2048
		case *rsa.PublicKey:
			ok = k.N.BitLen() >= 2048
		}
	default:
		return fmt.Errorf("token: unsupported signing algorithm %q", alg)
	}
	if !ok {
		return fmt.Errorf("token: key of type %T does not fit algorithm %s", key, alg)
	}
	return nil
}

// publicJWK parses and checks the public JWK of k: it must be public, match
// k's algorithm and carry k's ID.
func publicJWK(k *auth.SigningKey) (jose.JSONWebKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(k.Public); err != nil {
		return jwk, fmt.Errorf("token: signing key %q: public JWK: %w", k.ID, err)
	}
	switch {
	case !jwk.IsPublic():
		return jwk, fmt.Errorf("token: signing key %q: public JWK holds private material", k.ID)
	case jwk.KeyID != k.ID:
		return jwk, fmt.Errorf("token: signing key %q: public JWK has kid %q", k.ID, jwk.KeyID)
	case jwk.Algorithm != k.Algorithm:
		return jwk, fmt.Errorf("token: signing key %q: public JWK has alg %q, row has %q", k.ID, jwk.Algorithm, k.Algorithm)
	}
	if err := checkKeyType(k.Algorithm, jwk.Key); err != nil {
		return jwk, fmt.Errorf("token: signing key %q: %w", k.ID, err)
	}
	return jwk, nil
}

// JWKS returns the JSON Web Key Set {"keys":[...]} of the public halves of
// keys, in order. Each public JWK is parsed and checked (public only, kid and
// alg matching the row) and re-encoded, so no private member can leak.
func JWKS(keys []auth.SigningKey) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for i := range keys {
		jwk, err := publicJWK(&keys[i])
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, jwk)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: JWKS: %w", err)
	}
	return b, nil
}
