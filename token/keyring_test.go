package token_test

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/token"
	"github.com/go-jose/go-jose/v4"
)

// memStore is an in-memory auth.KeyStore.
type memStore struct {
	mu   sync.Mutex
	keys []auth.SigningKey
	// beforeCreate, if set, runs inside CreateSigningKey before the insert;
	// a non-nil error is returned instead of inserting.
	beforeCreate func(s *memStore) error
	loadErr      error
	creates      int
}

var _ auth.KeyStore = (*memStore)(nil)

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
		if have.ID == k.ID || have.Serial == k.Serial {
			return fmt.Errorf("signing key %s: %w", k.ID, auth.ErrDuplicate)
		}
	}
	s.keys = append(s.keys, *k)
	return nil
}

func (s *memStore) RemoveSigningKey(_ context.Context, id string, at time.Time, refuse bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.keys {
		if s.keys[i].ID != id {
			continue
		}
		if s.keys[i].RemovedAt.IsZero() {
			s.keys[i].RemovedAt = at
		}
		if refuse && s.keys[i].RefusedAt.IsZero() {
			s.keys[i].RefusedAt = at
		}
		return nil
	}
	return fmt.Errorf("signing key %s: %w", id, auth.ErrNotFound)
}

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// clock is a settable clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// removed returns k removed from the JWKS at at.
func removed(k auth.SigningKey, at time.Time) auth.SigningKey {
	k.RemovedAt = at
	return k
}

// chained returns k as key serial of the chain, activating at act.
func chained(k auth.SigningKey, serial int64, act time.Time) auth.SigningKey {
	k.Serial, k.ActivatesAt = serial, act
	return k
}

func mustKeys(t *testing.T, cfg token.KeysConfig) *token.Keys {
	t.Helper()
	k, err := token.LoadKeys(context.Background(), cfg)
	if err != nil {
		t.Fatalf("LoadKeys: %v", err)
	}
	return k
}

func sign(t *testing.T, k *token.Keys, at time.Time) string {
	t.Helper()
	c := sampleClaims()
	c.IssuedAt, c.ExpiresAt = at, at.Add(20*time.Minute)
	tok, err := k.Sign(context.Background(), c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok
}

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

func TestLoadKeysGenerates(t *testing.T) {
	t.Parallel()
	for _, alg := range token.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			s := newSealer(t, 1)
			store := &memStore{}
			keys := mustKeys(t, token.KeysConfig{Store: store, Sealer: s, Algorithm: alg, Now: fixedNow(t0)})
			if len(store.keys) != 1 {
				t.Fatalf("store has %d keys, want 1", len(store.keys))
			}
			k := store.keys[0]
			if k.Algorithm != alg || !k.CreatedAt.Equal(t0) || !k.ActivatesAt.Equal(t0) || k.Serial != 1 {
				t.Errorf("stored key alg %q created %v activates %v serial %d", k.Algorithm, k.CreatedAt, k.ActivatesAt, k.Serial)
			}
			if keys.ActiveKID() != k.ID {
				t.Errorf("active = %q, want %q", keys.ActiveKID(), k.ID)
			}
			verify(t, sign(t, keys, t0), alg, k.ID, keys.JWKS())

			// Loading again reuses the stored key.
			again := mustKeys(t, token.KeysConfig{Store: store, Sealer: s, Algorithm: alg, Now: fixedNow(t0.Add(time.Hour))})
			if again.ActiveKID() != k.ID || len(store.keys) != 1 {
				t.Errorf("second load: active %q, %d keys", again.ActiveKID(), len(store.keys))
			}
		})
	}
}

func TestLoadKeysCreateRace(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	theirs := chained(genKey(t, token.EdDSA, s, t0), 1, t0)
	store := &memStore{}
	// Another process stores its key first; ours then collides on serial 1.
	store.beforeCreate = func(m *memStore) error {
		m.keys = append(m.keys, theirs)
		return fmt.Errorf("insert: %w", auth.ErrDuplicate)
	}
	keys := mustKeys(t, token.KeysConfig{Store: store, Sealer: s, Algorithm: token.EdDSA, Now: fixedNow(t0)})
	if keys.ActiveKID() != theirs.ID {
		t.Errorf("active = %q, want the stored key %q", keys.ActiveKID(), theirs.ID)
	}
}

// TestRotationSchedule follows one rotation: the new key is published before
// it signs, signs from its activation without a reload, and the old key
// stays published for the retention and then leaves the JWKS.
func TestRotationSchedule(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	clk := &clock{t: t0}
	store := &memStore{}
	cfg := token.KeysConfig{Store: store, Sealer: s, Algorithm: token.EdDSA, Now: clk.Now,
		ActivationDelay: 10 * time.Minute, Retention: 30 * time.Minute}
	keys := mustKeys(t, cfg)
	first := keys.ActiveKID()
	oldTok := sign(t, keys, t0)

	clk.Set(t0.Add(time.Hour))
	nk, err := keys.Rotate(context.Background(), token.ES256, 10*time.Minute)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if nk.Serial != 2 || !nk.ActivatesAt.Equal(t0.Add(70*time.Minute)) || nk.Algorithm != token.ES256 {
		t.Fatalf("rotated key serial %d activates %v alg %s", nk.Serial, nk.ActivatesAt, nk.Algorithm)
	}
	if err := keys.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Published at once, not signing yet.
	if kids := jwksKIDs(t, keys.JWKS()); !slices.Equal(kids, []string{first, nk.ID}) {
		t.Errorf("JWKS after rotate = %v, want [old new]", kids)
	}
	if got := keys.ActiveKID(); got != first {
		t.Errorf("active before activation = %q, want the old key", got)
	}
	// Signs from its activation on, with no reload in between.
	clk.Set(nk.ActivatesAt)
	if got := keys.ActiveKID(); got != nk.ID {
		t.Errorf("active at activation = %q, want the new key", got)
	}
	verify(t, sign(t, keys, nk.ActivatesAt), token.ES256, nk.ID, keys.JWKS())
	// Tokens of the old key still verify during the retention.
	clk.Set(nk.ActivatesAt.Add(29 * time.Minute))
	if err := keys.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kids := jwksKIDs(t, keys.JWKS()); !slices.Contains(kids, first) {
		t.Errorf("JWKS within retention = %v, lacks the retired key", kids)
	}
	verify(t, oldTok, token.EdDSA, first, keys.JWKS())
	// Then it leaves the JWKS.
	clk.Set(nk.ActivatesAt.Add(30 * time.Minute))
	if err := keys.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kids := jwksKIDs(t, keys.JWKS()); !slices.Equal(kids, []string{nk.ID}) {
		t.Errorf("JWKS after retention = %v, want only the new key", kids)
	}
}

func TestStates(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	k1 := chained(genKey(t, token.EdDSA, s, t0), 1, t0)
	k2 := chained(genKey(t, token.EdDSA, s, t0.Add(time.Hour)), 2, t0.Add(2*time.Hour))
	k3 := chained(genKey(t, token.EdDSA, s, t0.Add(3*time.Hour)), 3, t0.Add(4*time.Hour))
	// An emergency key created after k3 but active before it.
	k4 := chained(genKey(t, token.EdDSA, s, t0.Add(3*time.Hour)), 4, t0.Add(3*time.Hour))
	const retention = 30 * time.Minute

	tests := []struct {
		name string
		keys []auth.SigningKey
		now  time.Time
		want []token.State
	}{
		{"one key", []auth.SigningKey{k1}, t0, []token.State{token.Active}},
		{"successor pending", []auth.SigningKey{k1, k2}, t0.Add(time.Hour), []token.State{token.Active, token.Pending}},
		{"successor active", []auth.SigningKey{k1, k2}, t0.Add(2 * time.Hour), []token.State{token.Retired, token.Active}},
		{"retention ends", []auth.SigningKey{k1, k2}, t0.Add(2*time.Hour + retention), []token.State{token.Expired, token.Active}},
		{"emergency key overtakes a pending one", []auth.SigningKey{k1, k2, k3, k4}, t0.Add(3 * time.Hour),
			[]token.State{token.Expired, token.Retired, token.Retired, token.Active}},
		{"overtaken key stays overtaken", []auth.SigningKey{k1, k2, k3, k4}, t0.Add(5 * time.Hour),
			[]token.State{token.Expired, token.Expired, token.Expired, token.Active}},
		{"removed active key: the pending one signs at once", []auth.SigningKey{k1, removed(k2, t0.Add(2*time.Hour)), k3}, t0.Add(3 * time.Hour),
			[]token.State{token.Expired, token.Removed, token.Active}},
		{"removed active key never hands back to an older one", []auth.SigningKey{k1, removed(k2, t0.Add(2*time.Hour))}, t0.Add(2 * time.Hour),
			[]token.State{token.Retired, token.Removed}},
		{"removed pending key never activates", []auth.SigningKey{k1, removed(k2, t0.Add(time.Hour))}, t0.Add(3 * time.Hour),
			[]token.State{token.Active, token.Removed}},
		{"removed retired key", []auth.SigningKey{removed(k1, t0.Add(3*time.Hour)), k2}, t0.Add(3 * time.Hour),
			[]token.State{token.Removed, token.Active}},
		{"first key removed before any activation", []auth.SigningKey{removed(k3, t0), k4}, t0,
			[]token.State{token.Removed, token.Active}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []token.State
			for _, st := range token.States(tt.keys, tt.now, retention) {
				got = append(got, st.State)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("States = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRunRotatesOnceAcrossInstances runs two instances on one store past
// the rotation age: one key is created between them, and both switch to it
// at its activation.
func TestRunRotatesOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	clk := &clock{t: t0}
	store := &memStore{}
	cfg := token.KeysConfig{Store: store, Sealer: s, Algorithm: token.EdDSA, Now: clk.Now,
		ActivationDelay: time.Minute, Retention: time.Hour, Rotation: 24 * time.Hour, Reload: time.Millisecond}
	a, b := mustKeys(t, cfg), mustKeys(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, k := range []*token.Keys{a, b} {
		wg.Go(func() { k.Run(ctx) })
	}
	clk.Set(t0.Add(25 * time.Hour))
	waitFor(t, func() bool {
		return len(jwksKIDs(t, a.JWKS())) == 2 && len(jwksKIDs(t, b.JWKS())) == 2
	})
	clk.Set(t0.Add(25*time.Hour + time.Minute))
	cancel()
	wg.Wait()
	store.mu.Lock()
	n, newKID := len(store.keys), store.keys[len(store.keys)-1].ID
	store.mu.Unlock()
	if n != 2 {
		t.Fatalf("store has %d keys, want 2", n)
	}
	if a.ActiveKID() != newKID || b.ActiveKID() != newKID {
		t.Errorf("active after activation: %q and %q, want %q", a.ActiveKID(), b.ActiveKID(), newKID)
	}
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached in 10 s")
}

func TestVerify(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	clk := &clock{t: t0}
	store := &memStore{}
	cfg := token.KeysConfig{Store: store, Sealer: s, Algorithm: token.EdDSA, Now: clk.Now, Retention: time.Hour}
	keys := mustKeys(t, cfg)
	good := sign(t, keys, t0)

	c, err := keys.Verify(context.Background(), good)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := sampleClaims()
	if !reflect.DeepEqual(c, want) {
		t.Errorf("claims = %+v, want %+v", c, want)
	}

	// A key another instance created and signed with is found by a reload
	// on the unknown kid, without waiting for Run.
	other := mustKeys(t, cfg)
	if _, err := other.Rotate(context.Background(), "", 0); err != nil {
		t.Fatal(err)
	}
	if err := other.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh := sign(t, other, t0)
	if _, err := keys.Verify(context.Background(), fresh); err != nil {
		t.Errorf("Verify of a token from a key created elsewhere: %v", err)
	}

	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"someone-else","exp":9999999999}`)) + "." + parts[2]
	foreign := sign(t, mustKeys(t, token.KeysConfig{Store: &memStore{}, Sealer: s, Algorithm: token.EdDSA, Now: clk.Now}), t0)
	tests := []struct {
		name string
		tok  string
		at   time.Time
		want error
	}{
		{"expired", good, t0.Add(20 * time.Minute), auth.ErrTokenExpired},
		{"tampered payload", tampered, t0, auth.ErrInvalidToken},
		{"signed by a key we never had", foreign, t0.Add(2 * time.Second), auth.ErrInvalidToken},
		{"garbage", "not.a.jwt", t0, auth.ErrInvalidToken},
		{"empty", "", t0, auth.ErrInvalidToken},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + ".", t0, auth.ErrInvalidToken},
	}
	for _, tt := range tests {
		clk.Set(tt.at)
		if _, err := keys.Verify(context.Background(), tt.tok); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestLoadKeysErrors(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	stored := chained(genKey(t, token.EdDSA, s, t0), 2, t0)
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
			name: "a retired but published key sealed under another secret",
			store: &memStore{keys: []auth.SigningKey{
				chained(genKey(t, token.ES256, newSealer(t, 9), t0.Add(-time.Hour)), 1, t0.Add(-time.Hour)), stored,
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
			wantMsg: "no signing key",
		},
		{
			name:    "unsupported algorithm",
			store:   &memStore{},
			alg:     "HS512",
			sealer:  s,
			wantMsg: "unsupported",
		},
		{
			name:    "HS256 has no keys",
			store:   &memStore{},
			alg:     token.HS256,
			sealer:  s,
			wantMsg: "EdDSA, ES256 and RS256 only",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys, err := token.LoadKeys(context.Background(), token.KeysConfig{
				Store: tt.store, Sealer: tt.sealer, Algorithm: tt.alg, Now: fixedNow(t0), Retention: 2 * time.Hour})
			if err == nil {
				t.Fatalf("LoadKeys: no error, active %q", keys.ActiveKID())
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

// A public key rewritten in the store after the key was opened never
// reaches the JWKS: the reload fails and the loaded set stays.
func TestReloadRefusesAlteredPublicKey(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	store := &memStore{}
	keys := mustKeys(t, token.KeysConfig{Store: store, Sealer: s, Algorithm: token.EdDSA, Now: fixedNow(t0)})
	before := keys.JWKS()

	// Someone with write access to the database, but not the secret key,
	// puts their own public key in the active key's row.
	theirs := genKey(t, token.EdDSA, newSealer(t, 9), t0)
	var jwk map[string]any
	if err := json.Unmarshal(theirs.Public, &jwk); err != nil {
		t.Fatal(err)
	}
	jwk["kid"] = store.keys[0].ID
	forged, err := json.Marshal(jwk)
	if err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.keys[0].Public = forged
	store.mu.Unlock()

	if err := keys.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "changed since it was opened") {
		t.Fatalf("Load after the row changed: %v, want a refusal", err)
	}
	if !bytes.Equal(keys.JWKS(), before) {
		t.Error("the JWKS changed after a refused reload")
	}
}

// TestES256LowS checks that the signer only issues ES256 signatures with
// s <= n/2, and that Verify refuses the (r, n-s) spelling of a valid token,
// which go-jose alone accepts.
func TestES256LowS(t *testing.T) {
	t.Parallel()
	clk := &clock{t: t0}
	keys := mustKeys(t, token.KeysConfig{Store: &memStore{}, Sealer: newSealer(t, 1), Algorithm: token.ES256, Now: clk.Now, Retention: time.Hour})
	n := elliptic.P256().Params().N
	half := new(big.Int).Rsh(n, 1)
	var pub jose.JSONWebKey
	for i := range 300 {
		tok := sign(t, keys, t0)
		dot := strings.LastIndexByte(tok, '.')
		sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
		if err != nil || len(sig) != 64 {
			t.Fatalf("token %d: signature of %d bytes: %v", i, len(sig), err)
		}
		s := new(big.Int).SetBytes(sig[32:])
		if s.Cmp(half) > 0 {
			t.Fatalf("token %d: signed with high S", i)
		}
		if _, err := keys.Verify(context.Background(), tok); err != nil {
			t.Fatalf("token %d: Verify: %v", i, err)
		}
		if i >= 20 {
			continue // the flip below needs only a few tokens
		}
		new(big.Int).Sub(n, s).FillBytes(sig[32:])
		high := tok[:dot+1] + base64.RawURLEncoding.EncodeToString(sig)
		if pub.Key == nil {
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(keys.JWKS(), &set); err != nil || len(set.Keys) != 1 {
				t.Fatalf("JWKS: %v", err)
			}
			pub = set.Keys[0]
		}
		jws, err := jose.ParseSigned(high, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jws.Verify(pub); err != nil {
			t.Fatalf("token %d: (r, n-s) does not verify with go-jose: %v", i, err)
		}
		if _, err := keys.Verify(context.Background(), high); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("token %d with (r, n-s): %v, want ErrInvalidToken", i, err)
		}
	}
}

// signLong signs with the key active in k a token valid for 3 hours, so
// that only the key's state decides whether it verifies.
func signLong(t *testing.T, k *token.Keys, at time.Time) string {
	t.Helper()
	c := sampleClaims()
	c.IssuedAt, c.ExpiresAt = at, at.Add(3*time.Hour)
	tok, err := k.Sign(context.Background(), c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok
}

// TestRetire follows an emergency removal on two instances of one store:
// refusing to retire the only signing key, the JWKS without the removed
// key at each instance's next load, the successor signing at once, tokens
// of the removed key verifying until retention, and refused at once with
// refuse.
func TestRetire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const retention = 30 * time.Minute
	clk := &clock{t: t0}
	store := &memStore{}
	cfg := token.KeysConfig{Store: store, Sealer: newSealer(t, 1), Algorithm: token.EdDSA, Now: clk.Now, Retention: retention}
	a, b := mustKeys(t, cfg), mustKeys(t, cfg)
	k1 := a.ActiveKID()
	tok1 := signLong(t, a, t0)

	// The only key cannot go: nothing would sign.
	if _, err := token.Retire(ctx, store, k1, true, clk.Now()); err == nil || !strings.Contains(err.Error(), "keys rotate --activate-in 0") {
		t.Fatalf("Retire(only key) = %v, want a refusal naming keys rotate", err)
	}
	if _, err := token.Retire(ctx, store, "no-such-kid", false, clk.Now()); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Retire(unknown) = %v, want ErrNotFound", err)
	}
	if !store.keys[0].RemovedAt.IsZero() {
		t.Fatal("a refused Retire removed the key")
	}

	// A successor pending for 10 minutes; then k1 is retired at t0+1m.
	k2key, err := a.Rotate(ctx, "", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	k2 := k2key.ID
	for _, k := range []*token.Keys{a, b} {
		if err := k.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(t0.Add(time.Minute))
	if _, err := token.Retire(ctx, store, k1, false, clk.Now()); err != nil {
		t.Fatalf("Retire(active, with a successor): %v", err)
	}

	// Until its next load, an instance is unchanged.
	if kids := jwksKIDs(t, b.JWKS()); !slices.Equal(kids, []string{k1, k2}) || b.ActiveKID() != k1 {
		t.Errorf("before the reload: JWKS %v, active %s; want both keys, k1 active", kids, b.ActiveKID())
	}
	if err := a.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if kids := jwksKIDs(t, a.JWKS()); !slices.Equal(kids, []string{k2}) {
		t.Errorf("JWKS after the reload = %v, want only %s", kids, k2)
	}
	if a.ActiveKID() != k2 {
		t.Errorf("active key after the reload = %s, want the successor %s, ahead of its activation", a.ActiveKID(), k2)
	}
	if kid := kidOf(t, sign(t, a, clk.Now())); kid != k2 {
		t.Errorf("new tokens are signed by %s, want %s", kid, k2)
	}
	// Without refuse, the removed key's tokens still verify, until
	// retention after the removal.
	if _, err := a.Verify(ctx, tok1); err != nil {
		t.Errorf("token of the removed key, within retention: %v", err)
	}
	states := token.States(store.keys, clk.Now(), retention)
	if states[0].State != token.Removed || states[1].State != token.Active {
		t.Errorf("states = %v, %v; want removed, active", states[0].State, states[1].State)
	}
	clk.Set(t0.Add(time.Minute + retention))
	if err := a.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, tok1); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("token of the removed key, after retention: %v, want ErrInvalidToken", err)
	}

	// With refuse, b refuses k1's tokens from its next load, at the same
	// instant.
	clk.Set(t0.Add(2 * time.Minute))
	if _, err := b.Verify(ctx, tok1); err != nil {
		t.Fatalf("b before refuse: %v", err)
	}
	if _, err := token.Retire(ctx, store, k1, true, clk.Now()); err != nil {
		t.Fatalf("Retire again with refuse: %v", err)
	}
	if _, err := b.Verify(ctx, tok1); err != nil {
		t.Errorf("b before its reload: %v; it acts only at its next load", err)
	}
	if err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(ctx, tok1); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("b after its reload: %v, want ErrInvalidToken", err)
	}
	if kids := jwksKIDs(t, b.JWKS()); !slices.Equal(kids, []string{k2}) || b.ActiveKID() != k2 {
		t.Errorf("b after its reload: JWKS %v, active %s", kids, b.ActiveKID())
	}
	if got := store.keys[0]; !got.RemovedAt.Equal(t0.Add(time.Minute)) || !got.RefusedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("removed, refused = %v, %v", got.RemovedAt, got.RefusedAt)
	}
}

// TestRetireExpiredKeyStaysRefused: removing a key that had already left
// the JWKS (without refuse) must not make Verify accept its signatures
// again, which after a leak would be forgeries.
func TestRetireExpiredKeyStaysRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const retention = 30 * time.Minute
	s := newSealer(t, 1)
	old := chained(genKey(t, token.EdDSA, s, t0), 1, t0)
	cur := chained(genKey(t, token.EdDSA, s, t0), 2, t0.Add(time.Hour))
	store := &memStore{keys: []auth.SigningKey{old, cur}}
	clk := &clock{t: t0.Add(2 * time.Hour)} // old expired at t0+1h30m
	keys := mustKeys(t, token.KeysConfig{Store: store, Sealer: s, Algorithm: token.EdDSA, Now: clk.Now, Retention: retention})
	leaked, err := token.NewSigner(store.keys, old.ID, s)
	if err != nil {
		t.Fatal(err)
	}
	c := sampleClaims()
	c.IssuedAt, c.ExpiresAt = clk.Now(), clk.Now().Add(time.Hour)
	forged, err := leaked.Sign(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"before", "after"} {
		if step == "after" {
			if _, err := token.Retire(ctx, store, old.ID, false, clk.Now()); err != nil {
				t.Fatal(err)
			}
			if err := keys.Load(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := keys.Verify(ctx, forged); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s retiring the expired key: Verify = %v, want ErrInvalidToken", step, err)
		}
	}
}

// TestRetireAllCreatesAKey: if concurrent retires leave no key that may
// sign, the next load creates one that signs at once rather than keep
// signing with a removed key.
func TestRetireAllCreatesAKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &clock{t: t0}
	store := &memStore{}
	keys := mustKeys(t, token.KeysConfig{Store: store, Sealer: newSealer(t, 1), Algorithm: token.ES256, Now: clk.Now, Retention: time.Hour})
	only := keys.ActiveKID()
	if err := store.RemoveSigningKey(ctx, only, t0, true); err != nil {
		t.Fatal(err)
	}
	if err := keys.Load(ctx); err != nil {
		t.Fatalf("Load with every key removed: %v", err)
	}
	if len(store.keys) != 2 || keys.ActiveKID() == only || keys.ActiveKID() != store.keys[1].ID || store.keys[1].Serial != 2 {
		t.Errorf("after Load: active %s, keys %d; want a new key of serial 2 signing", keys.ActiveKID(), len(store.keys))
	}
	if kids := jwksKIDs(t, keys.JWKS()); slices.Contains(kids, only) {
		t.Errorf("JWKS %v still lists the removed key", kids)
	}
}
