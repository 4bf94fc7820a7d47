// Package token signs JWT access tokens with asymmetric keys (EdDSA, ES256,
// RS256), generates those keys, seals their private halves for storage and
// publishes their public halves as a JWKS. In the HS256 compatibility mode,
// HMAC signs and verifies with a shared secret instead, and publishes none.
//
// Keys and HMAC implement auth.AccessTokenSigner and
// auth.AccessTokenVerifier; Keys ties them to the keys kept in an
// auth.KeyStore.
package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// SealerKeySize is the length in bytes of a Sealer key (AES-256).
const SealerKeySize = 32

// sealVersion is the first byte of every sealed blob, so that the format can
// change later without guessing.
const sealVersion = 1

// ErrOpen is returned, possibly wrapped, when sealed data cannot be opened:
// it was sealed under another key or other additional data, or it was
// altered. The two cases cannot be told apart.
var ErrOpen = errors.New("token: sealed data cannot be opened (wrong secret key or tampered data)")

// Sealer encrypts and authenticates small secrets (private signing keys) with
// AES-256-GCM under a key that is kept outside the database.
//
// A Sealer is safe for concurrent use once constructed, provided Rand is not
// changed afterwards and is itself safe for concurrent use.
type Sealer struct {
	// Rand supplies nonces. Nil means crypto/rand.Reader.
	Rand io.Reader

	aead cipher.AEAD
}

// NewSealer returns a Sealer for key, which must be SealerKeySize bytes.
// The key is copied into the cipher state; the caller may clear key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != SealerKeySize {
		return nil, fmt.Errorf("token: sealer key must be %d bytes, got %d", SealerKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("token: sealer key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("token: sealer key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext and authenticates it together with additionalData,
// which is not stored: Open must be given the same additionalData. Each call
// uses a fresh random nonce. The result is version || nonce || ciphertext.
func (s *Sealer) Seal(plaintext, additionalData []byte) ([]byte, error) {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := io.ReadFull(r, out[1:]); err != nil {
		return nil, fmt.Errorf("token: seal nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plaintext, additionalData), nil
}

// Open returns the plaintext of sealed, a result of Seal with the same key
// and additionalData. Otherwise it returns an error wrapping ErrOpen.
func (s *Sealer) Open(sealed, additionalData []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrOpen
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], additionalData)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
