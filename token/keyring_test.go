package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/token"
)

// memStore is an in-memory token.KeyStore.
type memStore struct {
	mu   sync.Mutex
	keys []auth.SigningKey
	// beforeCreate, if set, runs inside CreateSigningKey before the insert;
	// a non-nil error is returned instead of inserting.
	beforeCreate func(s *memStore) error
	loadErr      error
	creates      int
}

func (s *memStore) SigningKeys(context.Context) ([]auth.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return nil, s.loadErr
	}
	return slices.Clone(s.keys), nil
}

func (s *memStore) CreateSigningKey(_ context.Context, k *auth.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	if s.beforeCreate != nil {
		if err := s.beforeCreate(s); err != nil {
			return err
		}
	}
	for _, have := range s.keys {
		if have.ID == k.ID {
			return fmt.Errorf("signing key %s: %w", k.ID, auth.ErrDuplicate)
		}
	}
	s.keys = append(s.keys, *k)
	return nil
}

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

func jwksKIDs(t *testing.T, b []byte) []string {
	t.Helper()
	var doc struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var kids []string
	for _, k := range doc.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}

func TestLoadKeyRingGenerates(t *testing.T) {
	t.Parallel()
	for _, alg := range token.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			s := newSealer(t, 1)
			store := &memStore{}
			ring, err := token.LoadKeyRing(context.Background(), store, alg, s, nil, fixedNow(t0))
			if err != nil {
				t.Fatalf("LoadKeyRing: %v", err)
			}
			if len(store.keys) != 1 {
				t.Fatalf("store has %d keys, want 1", len(store.keys))
			}
			k := store.keys[0]
			if k.Algorithm != alg || !k.CreatedAt.Equal(t0) || ring.ActiveKID() != k.ID {
				t.Errorf("stored key alg %q created %v id %q; active %q", k.Algorithm, k.CreatedAt, k.ID, ring.ActiveKID())
			}
			if ring.Signer().KeyID() != k.ID {
				t.Errorf("Signer().KeyID() = %q", ring.Signer().KeyID())
			}
			tok, err := ring.Sign(context.Background(), sampleClaims())
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			verify(t, tok, alg, k.ID, ring.JWKS())

			// Loading again reuses the stored key.
			again, err := token.LoadKeyRing(context.Background(), store, alg, s, nil, fixedNow(t0.Add(time.Hour)))
			if err != nil {
				t.Fatalf("LoadKeyRing again: %v", err)
			}
			if again.ActiveKID() != k.ID || len(store.keys) != 1 {
				t.Errorf("second load: active %q, %d keys", again.ActiveKID(), len(store.keys))
			}
		})
	}
}

func TestLoadKeyRingPicksNewest(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	old := genKey(t, token.ES256, s, t0)
	mid := genKey(t, token.ES256, s, t0.Add(time.Hour))
	newerOtherAlg := genKey(t, token.EdDSA, s, t0.Add(2*time.Hour))
	// Store order is not time order here; CreatedAt decides.
	store := &memStore{keys: []auth.SigningKey{old, mid, newerOtherAlg}}
	store.keys[0], store.keys[1] = store.keys[1], store.keys[0]

	ring, err := token.LoadKeyRing(context.Background(), store, token.ES256, s, nil, fixedNow(t0))
	if err != nil {
		t.Fatalf("LoadKeyRing: %v", err)
	}
	if ring.ActiveKID() != mid.ID {
		t.Errorf("active = %q, want the newest ES256 key %q", ring.ActiveKID(), mid.ID)
	}
	if store.creates != 0 {
		t.Errorf("%d keys created, want 0", store.creates)
	}
	kids := jwksKIDs(t, ring.JWKS())
	for _, k := range []auth.SigningKey{old, mid, newerOtherAlg} {
		if !slices.Contains(kids, k.ID) {
			t.Errorf("JWKS lacks %s key %q", k.Algorithm, k.ID)
		}
	}
	tok, err := ring.Sign(context.Background(), sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	verify(t, tok, token.ES256, mid.ID, ring.JWKS())

	// Asking for another algorithm with no key of it adds one and keeps the rest.
	ring2, err := token.LoadKeyRing(context.Background(), store, token.RS256, s, nil, fixedNow(t0))
	if err != nil {
		t.Fatalf("LoadKeyRing RS256: %v", err)
	}
	if n := len(jwksKIDs(t, ring2.JWKS())); n != 4 {
		t.Errorf("JWKS has %d keys, want 4", n)
	}
}

func TestLoadKeyRingCreateRace(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	theirs := genKey(t, token.EdDSA, s, t0)
	store := &memStore{}
	// Another process stores its key first; ours then collides.
	store.beforeCreate = func(m *memStore) error {
		m.keys = append(m.keys, theirs)
		return fmt.Errorf("insert: %w", auth.ErrDuplicate)
	}
	ring, err := token.LoadKeyRing(context.Background(), store, token.EdDSA, s, nil, fixedNow(t0))
	if err != nil {
		t.Fatalf("LoadKeyRing: %v", err)
	}
	if ring.ActiveKID() != theirs.ID {
		t.Errorf("active = %q, want the stored key %q", ring.ActiveKID(), theirs.ID)
	}
}

func TestLoadKeyRingErrors(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	stored := genKey(t, token.EdDSA, s, t0)
	boom := errors.New("database down")

	tests := []struct {
		name    string
		store   *memStore
		alg     string
		sealer  *token.Sealer
		wantIs  error
		wantMsg string
	}{
		{
			name:    "secret key mismatch",
			store:   &memStore{keys: []auth.SigningKey{stored}},
			alg:     token.EdDSA,
			sealer:  newSealer(t, 9),
			wantIs:  token.ErrOpen,
			wantMsg: "secret key does not match",
		},
		{
			name: "an older key sealed under another secret",
			store: &memStore{keys: []auth.SigningKey{
				genKey(t, token.ES256, newSealer(t, 9), t0.Add(-time.Hour)), stored,
			}},
			alg:     token.EdDSA,
			sealer:  s,
			wantIs:  token.ErrOpen,
			wantMsg: "secret key does not match",
		},
		{
			name:   "load fails",
			store:  &memStore{loadErr: boom},
			alg:    token.EdDSA,
			sealer: s,
			wantIs: boom,
		},
		{
			name:   "create fails",
			store:  &memStore{beforeCreate: func(*memStore) error { return boom }},
			alg:    token.EdDSA,
			sealer: s,
			wantIs: boom,
		},
		{
			name:    "create reports a duplicate but stores nothing",
			store:   &memStore{beforeCreate: func(*memStore) error { return auth.ErrDuplicate }},
			alg:     token.EdDSA,
			sealer:  s,
			wantMsg: "no EdDSA signing key",
		},
		{
			name:    "unsupported algorithm",
			store:   &memStore{},
			alg:     "HS256",
			sealer:  s,
			wantMsg: "unsupported",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ring, err := token.LoadKeyRing(context.Background(), tt.store, tt.alg, tt.sealer, nil, fixedNow(t0))
			if err == nil {
				t.Fatalf("LoadKeyRing: no error, active %q", ring.ActiveKID())
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.wantIs)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}
