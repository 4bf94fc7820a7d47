package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/authstore/auth"
)

// KeyStore is the part of auth.Store that KeyRing needs.
type KeyStore interface {
	// SigningKeys returns every stored signing key, oldest first.
	SigningKeys(ctx context.Context) ([]auth.SigningKey, error)
	// CreateSigningKey inserts k, or returns an error wrapping
	// auth.ErrDuplicate if its ID exists.
	CreateSigningKey(ctx context.Context, k *auth.SigningKey) error
}

var (
	_ KeyStore               = auth.Store(nil)
	_ auth.AccessTokenSigner = (*KeyRing)(nil)
)

// KeyRing is the set of signing keys loaded at one moment: the active key that
// signs, and every key, active or retired, in the published JWKS. It is
// immutable and safe for concurrent use; load a new one to see new keys.
type KeyRing struct {
	signer *Signer
	jwks   []byte
}

// LoadKeyRing loads every key from store and makes active the newest key of
// alg (by CreatedAt; among equal times, the later in store order). If store
// holds no key of alg, it generates one with rand at now(), stores it, and
// loads again, so a key another process stored at the same time is seen.
//
// now nil means time.Now; rand nil means crypto/rand.Reader.
//
// Every key's private half is opened with sealer and checked against its
// public half before the key is published; if one does not open, the error
// says that the secret key does not match and wraps ErrOpen.
func LoadKeyRing(ctx context.Context, store KeyStore, alg string, sealer *Sealer, rand io.Reader, now func() time.Time) (*KeyRing, error) {
	if err := checkAlg(alg); err != nil {
		return nil, err
	}
	keys, err := store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: load signing keys: %w", err)
	}
	if newest(keys, alg) < 0 {
		if now == nil {
			now = time.Now
		}
		k, err := GenerateKey(alg, rand, now(), sealer)
		if err != nil {
			return nil, err
		}
		if err := store.CreateSigningKey(ctx, k); err != nil && !errors.Is(err, auth.ErrDuplicate) {
			return nil, fmt.Errorf("token: store signing key: %w", err)
		}
		if keys, err = store.SigningKeys(ctx); err != nil {
			return nil, fmt.Errorf("token: load signing keys: %w", err)
		}
	}
	i := newest(keys, alg)
	if i < 0 {
		return nil, fmt.Errorf("token: no %s signing key after creating one", alg)
	}
	// Every published key must open under our secret key and match its
	// public half: a row written into the database by someone else must not
	// reach the JWKS, where verifiers would trust it.
	for j := range keys {
		if j == i {
			continue // NewSigner opens it
		}
		if _, err := openKey(&keys[j], sealer); err != nil {
			return nil, err
		}
	}
	signer, err := NewSigner(keys, keys[i].ID, sealer)
	if err != nil {
		return nil, err
	}
	jwks, err := JWKS(keys)
	if err != nil {
		return nil, err
	}
	return &KeyRing{signer: signer, jwks: jwks}, nil
}

// checkAlg returns an error unless alg is supported.
func checkAlg(alg string) error {
	switch alg {
	case EdDSA, ES256, RS256:
		return nil
	}
	return fmt.Errorf("token: unsupported signing algorithm %q", alg)
}

// newest returns the index of the newest key of alg in keys, or -1.
func newest(keys []auth.SigningKey, alg string) int {
	best := -1
	for i := range keys {
		if keys[i].Algorithm != alg {
			continue
		}
		if best < 0 || !keys[i].CreatedAt.Before(keys[best].CreatedAt) {
			best = i
		}
	}
	return best
}

// Sign signs c with the active key; see Signer.Sign.
func (r *KeyRing) Sign(ctx context.Context, c auth.AccessClaims) (string, error) {
	return r.signer.Sign(ctx, c)
}

// Signer returns the signer of the active key.
func (r *KeyRing) Signer() *Signer { return r.signer }

// ActiveKID returns the ID of the active key.
func (r *KeyRing) ActiveKID() string { return r.signer.kid }

// JWKS returns the JSON Web Key Set of every loaded key. The slice is shared;
// callers must not modify it.
func (r *KeyRing) JWKS() []byte { return r.jwks }
