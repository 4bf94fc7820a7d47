package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authstore/auth"
	"github.com/go-jose/go-jose/v4"
)

var _ auth.AccessTokenSigner = (*Keys)(nil)

// KeysConfig configures Keys.
type KeysConfig struct {
	// Store keeps the chain of keys.
	Store  auth.KeyStore
	Sealer *Sealer
	// Algorithm is the algorithm of keys this process creates: the first
	// key of an empty store, and each rotation. Keys of other algorithms
	// keep signing and verifying until rotation replaces them.
	Algorithm string
	// ActivationDelay is how long a rotated key is published before it
	// signs. It must cover the reload interval of every instance plus the
	// time verifiers cache the JWKS.
	ActivationDelay time.Duration
	// Retention is how long a superseded key stays published after its
	// successor activates: the access-token lifetime plus the reload
	// interval and clock skew between instances.
	Retention time.Duration
	// Rotation is the age of the newest key at which Run creates the next
	// one; 0 disables automatic rotation.
	Rotation time.Duration
	// Reload is how often Run re-reads the keys; 0 means one minute.
	Reload time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand feeds Ed25519 key generation; nil means crypto/rand.Reader.
	Rand io.Reader
	// Logger receives reload and rotation events; nil discards them.
	Logger *slog.Logger
}

// Keys is the live set of signing keys of one process: the active key that
// signs, and the published keys (pending, active and recently retired) that
// verify and make up the JWKS. Load replaces the set atomically; Run reloads
// it periodically and rotates on schedule. It is safe for concurrent use.
//
// Keys form one chain ordered by Serial, shared by every instance on one
// database: at time t the active key is the key with the greatest Serial
// whose ActivatesAt is not after t, so all instances agree on it without
// talking to each other. A key is retired when a key of greater Serial
// activates, and it leaves the JWKS Retention later.
//
// A key removed by Retire leaves the chain at the next load: it is out of
// the JWKS and never signs; if it was the active key, the next key of the
// chain signs at once, before its ActivatesAt. Its tokens keep verifying
// (in Verify, not in the JWKS) until they expire, unless it was removed with
// refuse, in which case Verify refuses them from that load on.
type Keys struct {
	cfg KeysConfig
	cur atomic.Pointer[keySet]

	mu      sync.Mutex         // serializes loads
	signers map[string]*Signer // opened keys by ID, kept across loads
	// lastMiss is when Verify last reloaded for an unknown kid.
	lastMiss time.Time
}

// keySet is the immutable result of one load.
type keySet struct {
	// signing are the keys that are or will become active, by ascending
	// Serial, with their opened signers.
	signing []signingKey
	// verify holds the public key of every published key by ID.
	verify map[string]jose.JSONWebKey
	jwks   []byte
}

type signingKey struct {
	activatesAt time.Time
	signer      *Signer
}

// NewKeys checks cfg and returns Keys with no keys loaded; call Load before
// Sign, JWKS or Verify.
func NewKeys(cfg KeysConfig) (*Keys, error) {
	if err := checkAlg(cfg.Algorithm); err != nil {
		return nil, err
	}
	switch {
	case cfg.Store == nil || cfg.Sealer == nil:
		return nil, errors.New("token: keys need a store and a sealer")
	case cfg.ActivationDelay < 0 || cfg.Retention < 0 || cfg.Rotation < 0 || cfg.Reload < 0:
		return nil, errors.New("token: key durations must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Reload == 0 {
		cfg.Reload = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Keys{cfg: cfg, signers: map[string]*Signer{}}, nil
}

// checkAlg returns an error unless alg is supported.
func checkAlg(alg string) error {
	switch alg {
	case EdDSA, ES256, RS256:
		return nil
	case HS256:
		return errors.New("token: HS256 signs with the shared secret, which authstore neither stores nor rotates; signing keys and their rotation are for EdDSA, ES256 and RS256 only")
	}
	return fmt.Errorf("token: unsupported signing algorithm %q", alg)
}

// Load reads every key from the store and replaces the loaded set. If the
// store holds no key that is not removed, it creates one of the configured
// algorithm, active at once (no verifier can have cached a JWKS yet, or
// every key was removed); if another process creates one at the same
// moment, both load the one that won the serial.
//
// Every published key must open under the sealer and match its public half:
// a row written into the database by someone without the secret key must
// not reach the JWKS, where verifiers would trust it. If one does not, Load
// fails with an error wrapping ErrOpen and keeps the previous set.
func (k *Keys) Load(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.loadLocked(ctx)
}

func (k *Keys) loadLocked(ctx context.Context) error {
	keys, err := k.cfg.Store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: load signing keys: %w", err)
	}
	if !usable(keys) {
		// An empty store, or (after concurrent Retires) every key
		// removed: nothing may sign, so a new key signs at once.
		nk, err := k.next(keys, k.cfg.Algorithm, 0)
		if err != nil {
			return err
		}
		if err := k.cfg.Store.CreateSigningKey(ctx, nk); err != nil && !errors.Is(err, auth.ErrDuplicate) {
			return fmt.Errorf("token: store signing key: %w", err)
		}
		if len(keys) > 0 {
			k.cfg.Logger.Warn("every signing key is removed; created one to sign", "kid", nk.ID, "serial", nk.Serial)
		}
		if keys, err = k.cfg.Store.SigningKeys(ctx); err != nil {
			return fmt.Errorf("token: load signing keys: %w", err)
		}
	}
	set, err := k.build(keys, k.cfg.Now())
	if err != nil {
		return err
	}
	k.cur.Store(set)
	return nil
}

// build makes the key set of keys as of now: published keys verify and
// are in the JWKS; removed keys that still verify are in neither the JWKS
// nor the signing keys.
func (k *Keys) build(keys []auth.SigningKey, now time.Time) (*keySet, error) {
	states := States(keys, now, k.cfg.Retention)
	set := &keySet{verify: make(map[string]jose.JSONWebKey, len(keys))}
	var published []auth.SigningKey
	for i, st := range states {
		if !st.Published() && !st.verifies(now, k.cfg.Retention) {
			continue
		}
		key := &keys[i]
		jwk, err := publicJWK(key)
		if err != nil {
			return nil, err
		}
		s := k.signers[key.ID]
		if s == nil {
			if s, err = NewSigner(keys, key.ID, k.cfg.Sealer); err != nil {
				return nil, err
			}
			k.signers[key.ID] = s
		} else if err := s.matches(key, &jwk); err != nil {
			// The row changed since it was opened: without this check a
			// public key written into the database by someone without the
			// secret key would reach the JWKS at the next reload.
			return nil, err
		}
		if st.State == Active || st.State == Pending {
			set.signing = append(set.signing, signingKey{activatesAt: key.ActivatesAt, signer: s})
		}
		set.verify[key.ID] = jwk
		if st.Published() {
			published = append(published, *key)
		}
	}
	if len(set.signing) == 0 {
		return nil, errors.New("token: no signing key is active or pending")
	}
	jwks, err := JWKS(published)
	if err != nil {
		return nil, err
	}
	set.jwks = jwks
	// Opened keys that no longer verify are forgotten.
	for id := range k.signers {
		if _, ok := set.verify[id]; !ok {
			delete(k.signers, id)
		}
	}
	return set, nil
}

// usable reports whether any of keys is not removed, so can sign.
func usable(keys []auth.SigningKey) bool {
	for i := range keys {
		if keys[i].RemovedAt.IsZero() {
			return true
		}
	}
	return false
}

// Retire removes key kid from the chain as of now (see Keys): at each
// instance's next load it leaves the JWKS and never signs again, and, if
// refuse, its tokens are refused by Verify from then on too. The row stays.
//
// It refuses to remove the active key unless a newer key that is not
// removed exists to sign instead (that key then signs at once, ahead of its
// ActivatesAt): a chain with no key left would have every instance create
// one on its own. Retiring a removed key again is not an error, and may add
// refuse. It returns the key as it was before, or an error wrapping
// auth.ErrNotFound if there is no such key.
func Retire(ctx context.Context, store auth.KeyStore, kid string, refuse bool, now time.Time) (*auth.SigningKey, error) {
	keys, err := store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: retire: %w", err)
	}
	i := slices.IndexFunc(keys, func(k auth.SigningKey) bool { return k.ID == kid })
	if i < 0 {
		return nil, fmt.Errorf("token: retire: no signing key %q: %w", kid, auth.ErrNotFound)
	}
	if States(keys, now, 0)[i].State == Active && !usable(keys[i+1:]) {
		return nil, fmt.Errorf("token: retire: key %s is the active signing key and no newer key exists to sign instead; create one first with: authstore keys rotate --activate-in 0", kid)
	}
	if err := store.RemoveSigningKey(ctx, kid, now, refuse); err != nil {
		return nil, fmt.Errorf("token: retire: %w", err)
	}
	return &keys[i], nil
}

// Rotate creates the next key of the chain, of algorithm alg ("" means the
// configured one), which activates activateIn from now, and returns it. It
// does not load it; Run or Load will. Two processes rotating at once each
// get their own key in successive serials.
func (k *Keys) Rotate(ctx context.Context, alg string, activateIn time.Duration) (*auth.SigningKey, error) {
	if alg == "" {
		alg = k.cfg.Algorithm
	}
	if err := checkAlg(alg); err != nil {
		return nil, err
	}
	if activateIn < 0 {
		return nil, errors.New("token: rotate: activation delay must not be negative")
	}
	for range 5 {
		keys, err := k.cfg.Store.SigningKeys(ctx)
		if err != nil {
			return nil, fmt.Errorf("token: rotate: %w", err)
		}
		nk, err := k.next(keys, alg, activateIn)
		if err != nil {
			return nil, err
		}
		err = k.cfg.Store.CreateSigningKey(ctx, nk)
		if err == nil {
			k.cfg.Logger.Info("signing key created", "kid", nk.ID, "alg", nk.Algorithm,
				"serial", nk.Serial, "activates_at", nk.ActivatesAt)
			return nk, nil
		}
		if !errors.Is(err, auth.ErrDuplicate) {
			return nil, fmt.Errorf("token: rotate: %w", err)
		}
	}
	return nil, errors.New("token: rotate: the next serial stayed taken; another process is rotating")
}

// next generates the key that follows keys.
func (k *Keys) next(keys []auth.SigningKey, alg string, activateIn time.Duration) (*auth.SigningKey, error) {
	var serial int64
	for _, have := range keys {
		serial = max(serial, have.Serial)
	}
	now := k.cfg.Now()
	nk, err := GenerateKey(alg, k.cfg.Rand, now, k.cfg.Sealer)
	if err != nil {
		return nil, err
	}
	nk.Serial, nk.ActivatesAt = serial+1, now.Add(activateIn)
	return nk, nil
}

// rotateIfDue creates the next key, activating ActivationDelay from now, if
// automatic rotation is on and the newest key is Rotation old. It reports
// whether it created one. Instances that race for the serial create one key
// between them: the losers see ErrDuplicate and do nothing.
func (k *Keys) rotateIfDue(ctx context.Context) (bool, error) {
	if k.cfg.Rotation <= 0 {
		return false, nil
	}
	keys, err := k.cfg.Store.SigningKeys(ctx)
	if err != nil {
		return false, fmt.Errorf("token: rotate: %w", err)
	}
	if len(keys) == 0 || k.cfg.Now().Sub(keys[len(keys)-1].CreatedAt) < k.cfg.Rotation {
		return false, nil
	}
	nk, err := k.next(keys, k.cfg.Algorithm, k.cfg.ActivationDelay)
	if err != nil {
		return false, err
	}
	if err := k.cfg.Store.CreateSigningKey(ctx, nk); err != nil {
		if errors.Is(err, auth.ErrDuplicate) {
			return false, nil
		}
		return false, fmt.Errorf("token: rotate: %w", err)
	}
	k.cfg.Logger.Info("signing key rotated", "kid", nk.ID, "alg", nk.Algorithm,
		"serial", nk.Serial, "activates_at", nk.ActivatesAt)
	return true, nil
}

// Run rotates on schedule and reloads every Reload until ctx is done. A
// failed reload (the database is down, say) is logged and the loaded set
// stays in use until a later reload succeeds.
func (k *Keys) Run(ctx context.Context) {
	t := time.NewTicker(k.cfg.Reload)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := k.rotateIfDue(ctx); err != nil && ctx.Err() == nil {
			k.cfg.Logger.Warn("signing key rotation failed", "error", err.Error())
		}
		if err := k.Load(ctx); err != nil && ctx.Err() == nil {
			k.cfg.Logger.Warn("signing key reload failed", "error", err.Error())
		}
	}
}

// active returns the signer of the active key at now: the greatest Serial
// whose activation has come. Before the first activation it is the first.
func (s *keySet) active(now time.Time) *Signer {
	best := s.signing[0].signer
	for _, sk := range s.signing[1:] {
		if !sk.activatesAt.After(now) {
			best = sk.signer
		}
	}
	return best
}

// Sign signs c with the key active now; see Signer.Sign. Load must have
// succeeded once.
func (k *Keys) Sign(ctx context.Context, c auth.AccessClaims) (string, error) {
	set := k.cur.Load()
	if set == nil {
		return "", errors.New("token: sign: no keys loaded")
	}
	return set.active(k.cfg.Now()).Sign(ctx, c)
}

// ActiveKID returns the ID of the key that signs now, or "" before Load.
func (k *Keys) ActiveKID() string {
	set := k.cur.Load()
	if set == nil {
		return ""
	}
	return set.active(k.cfg.Now()).KeyID()
}

// JWKS returns the JSON Web Key Set of the published keys as of the last
// load: pending, active, and retired within Retention. The slice is shared;
// callers must not modify it.
func (k *Keys) JWKS() []byte {
	set := k.cur.Load()
	if set == nil {
		return []byte(`{"keys":[]}`)
	}
	return set.jwks
}

// publicKey returns the published key kid. On a miss it reloads, at most
// once a second across callers, and looks again: a key another instance
// created is found without waiting for the next periodic reload.
func (k *Keys) publicKey(ctx context.Context, kid string) (jose.JSONWebKey, bool) {
	if set := k.cur.Load(); set != nil {
		if jwk, ok := set.verify[kid]; ok {
			return jwk, true
		}
	}
	k.mu.Lock()
	now := k.cfg.Now()
	if now.Sub(k.lastMiss) >= time.Second {
		k.lastMiss = now
		if err := k.loadLocked(ctx); err != nil {
			k.cfg.Logger.Warn("signing key reload failed", "error", err.Error())
		}
	}
	k.mu.Unlock()
	if set := k.cur.Load(); set != nil {
		jwk, ok := set.verify[kid]
		return jwk, ok
	}
	return jose.JSONWebKey{}, false
}

// State is where a key stands in the chain at one moment.
type State string

// The states of a key.
const (
	Pending State = "pending" // published, not signing yet
	Active  State = "active"  // signing
	Retired State = "retired" // superseded, still published for verification
	Expired State = "expired" // superseded for longer than the retention
	Removed State = "removed" // out of the JWKS by Retire; never signs again
)

// KeyState is a key and its state at one moment.
type KeyState struct {
	Key   *auth.SigningKey
	State State
	// RetiredAt is when a key of greater serial activated; zero unless
	// State is Retired or Expired, or Removed after such an activation.
	RetiredAt time.Time
}

// Published reports whether the key is in the JWKS.
func (s KeyState) Published() bool { return s.State != Expired && s.State != Removed }

// verifies reports whether Verify accepts the key's tokens at now, given
// the retention of retired keys: a published key does; a removed key does
// unless it was removed with refuse, until Retention after its removal or
// its retirement, whichever came first.
func (s KeyState) verifies(now time.Time, retention time.Duration) bool {
	if s.State != Removed {
		return s.Published()
	}
	if !s.Key.RefusedAt.IsZero() {
		return false
	}
	end := s.Key.RemovedAt
	if !s.RetiredAt.IsZero() && s.RetiredAt.Before(end) {
		end = s.RetiredAt
	}
	return now.Before(end.Add(retention))
}

// States returns the state of each of keys (sorted by Serial) at now, given
// the retention of retired keys.
//
// The active key is the key of greatest serial whose activation has come;
// if that key is removed, the first key after it that is not removed is
// active at once (or, before any activation, the first key not removed).
// Removed keys are Removed whatever their place; the activation of one
// removed after it activated still retires the keys before it, while one
// removed before its activation never activates.
func States(keys []auth.SigningKey, now time.Time, retention time.Duration) []KeyState {
	out := make([]KeyState, len(keys))
	// A key removed before its activation never activates; one removed
	// after it did.
	activated := func(k *auth.SigningKey) bool {
		return !k.ActivatesAt.After(now) && (k.RemovedAt.IsZero() || !k.ActivatesAt.After(k.RemovedAt))
	}
	pos := -1 // the greatest serial activated, removed since or not
	for i := range keys {
		out[i].Key = &keys[i]
		if activated(&keys[i]) {
			pos = i
		}
	}
	active := -1
	if pos >= 0 && keys[pos].RemovedAt.IsZero() {
		active = pos
	} else {
		for i := pos + 1; i < len(keys); i++ {
			if keys[i].RemovedAt.IsZero() {
				active = i
				break
			}
		}
	}
	// A key is retired by the earliest activation, up to now, of a key
	// after it in the chain.
	var retiredAt time.Time
	for i := len(keys) - 1; i >= 0; i-- {
		k := &keys[i]
		switch {
		case !k.RemovedAt.IsZero():
			out[i].State = Removed
			out[i].RetiredAt = retiredAt
		case i == active:
			out[i].State = Active
		case active >= 0 && i > active:
			out[i].State = Pending
		default:
			// Superseded, or overtaken before it activated.
			out[i].RetiredAt = retiredAt
			out[i].State = Retired
			if !now.Before(retiredAt.Add(retention)) {
				out[i].State = Expired
			}
		}
		if activated(k) && (retiredAt.IsZero() || k.ActivatesAt.Before(retiredAt)) {
			retiredAt = k.ActivatesAt
		}
	}
	return out
}

// LoadKeys is NewKeys followed by Load.
func LoadKeys(ctx context.Context, cfg KeysConfig) (*Keys, error) {
	k, err := NewKeys(cfg)
	if err != nil {
		return nil, err
	}
	if err := k.Load(ctx); err != nil {
		return nil, err
	}
	return k, nil
}
