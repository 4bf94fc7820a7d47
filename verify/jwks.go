package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// minRSABits is the smallest RSA modulus a key may have (RFC 7518 3.3).
const minRSABits = 2048

// publicKey is one usable key of the JWKS.
type publicKey struct {
	key any    // ed25519.PublicKey, *ecdsa.PublicKey or *rsa.PublicKey
	alg string // the JWK's "alg", "" if it has none
}

// keySet is the immutable result of one successful fetch.
type keySet struct {
	byKID   map[string]publicKey
	staleAt time.Time // when a Verify starts a background refetch
}

// fetchCall is one JWKS fetch, shared by every caller waiting for it.
type fetchCall struct {
	done chan struct{} // closed when err is set and the cache updated
	err  error
}

// supportedAlg reports whether alg is an asymmetric signature algorithm the
// Verifier can check.
func supportedAlg(alg string) bool {
	switch alg {
	case "EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return true
	}
	return false
}

// fits reports whether a token signed with alg may be verified with k: alg
// must be k's own alg if it has one, and fit k's type and size.
func (k publicKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch key := k.key.(type) {
	case ed25519.PublicKey:
		return alg == "EdDSA"
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return key.Curve == elliptic.P256()
		case "ES384":
			return key.Curve == elliptic.P384()
		case "ES512":
			return key.Curve == elliptic.P521()
		}
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return key.N.BitLen() >= minRSABits
		}
	}
	return false
}

// lowS reports whether sig, the raw JWS signature r||s of a token to be
// verified with key, has s at most half the order of key's curve, or key is
// not an ECDSA key. ECDSA signatures are malleable: if (r, s) verifies, so
// does (r, n-s), a second spelling of the same token; authstore signs with
// low S only, so a high S is refused. A signature of the wrong length is
// left to the signature check to refuse.
func lowS(key any, sig []byte) bool {
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return true
	}
	n := pub.Curve.Params().N
	size := (n.BitLen() + 7) / 8
	if len(sig) != 2*size {
		return true
	}
	half := new(big.Int).Rsh(n, 1)
	return new(big.Int).SetBytes(sig[size:]).Cmp(half) <= 0
}

// key returns the key named kid. If the cache is stale it starts a
// background refetch; if kid is not cached it refetches and waits, subject to
// the rate limit.
func (v *Verifier) key(ctx context.Context, kid string) (publicKey, *keySet, error) {
	ks := v.keys.Load()
	now := v.cfg.Now()
	if !now.Before(ks.staleAt) {
		v.startFetch(ctx, now)
	}
	if k, ok := ks.byKID[kid]; ok {
		return k, ks, nil
	}
	var fetchErr error
	if call := v.startFetch(ctx, now); call != nil {
		select {
		case <-call.done:
		case <-ctx.Done():
			return publicKey{}, nil, fmt.Errorf("verify: waiting for the JWKS: %w: %w", ErrUnavailable, ctx.Err())
		}
		if ks := v.keys.Load(); ks != nil {
			if k, ok := ks.byKID[kid]; ok {
				return k, ks, nil
			}
		}
		fetchErr = call.err
	} else {
		v.mu.Lock()
		fetchErr = v.lastErr
		v.mu.Unlock()
	}
	if fetchErr != nil {
		return publicKey{}, nil, fmt.Errorf("verify: unknown kid and the JWKS cannot be fetched: %w", ErrUnavailable)
	}
	return publicKey{}, nil, fmt.Errorf("verify: unknown kid: %w", ErrInvalid)
}

// startFetch returns the fetch in progress, or starts one in the background
// unless one started less than MinRefetchInterval before now, in which case
// it returns nil. The fetch does not end with ctx, but keeps its values.
func (v *Verifier) startFetch(ctx context.Context, now time.Time) *fetchCall {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.flight != nil {
		return v.flight
	}
	if now.Sub(v.lastAttempt) < v.cfg.MinRefetchInterval {
		return nil
	}
	call := &fetchCall{done: make(chan struct{})}
	v.flight = call
	v.lastAttempt = now
	go v.runFetch(context.WithoutCancel(ctx), call)
	return call
}

// runFetch performs call, updates the cache on success, and releases the
// waiters.
func (v *Verifier) runFetch(ctx context.Context, call *fetchCall) {
	ks, err := v.fetch(ctx, v.cfg.Now())
	v.mu.Lock()
	if err == nil {
		v.keys.Store(ks)
	}
	v.lastErr = err
	v.flight = nil
	call.err = err
	v.mu.Unlock()
	close(call.done)
}

// fetch gets and parses the JWKS; now is the start of the fetch, from which
// the cache lifetime counts. Errors match ErrUnavailable.
func (v *Verifier) fetch(ctx context.Context, now time.Time) (*keySet, error) {
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("verify: fetch JWKS: %w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("verify: fetch JWKS: %w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("verify: fetch JWKS: %w: status %d", ErrUnavailable, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("verify: fetch JWKS: %w: %w", ErrUnavailable, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("verify: fetch JWKS: %w: larger than %d bytes", ErrUnavailable, maxJWKSBytes)
	}
	byKID, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("verify: fetch JWKS: %w: %w", ErrUnavailable, err)
	}
	age := v.cfg.MaxCacheAge
	if maxAge, ok := cacheMaxAge(resp.Header); ok {
		age = min(max(maxAge, v.cfg.MinRefetchInterval), v.cfg.MaxCacheAge)
	}
	return &keySet{byKID: byKID, staleAt: now.Add(age)}, nil
}

// parseJWKS returns the usable keys of a JWK Set by kid. A key is usable if
// it has a kid, is an Ed25519, ECDSA (P-256, P-384, P-521) or RSA (at least
// 2048 bits) public key, and its "use", if any, is "sig". Other keys
// (symmetric, private, unknown types) are skipped, as RFC 7517 section 5
// advises; of two keys with one kid the first wins.
func parseJWKS(body []byte) (map[string]publicKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, errors.New("malformed JWK Set")
	}
	if set.Keys == nil {
		return nil, errors.New(`JWK Set without "keys"`)
	}
	byKID := make(map[string]publicKey, len(set.Keys))
	for _, raw := range set.Keys {
		var jwk jose.JSONWebKey
		if jwk.UnmarshalJSON(raw) != nil || jwk.KeyID == "" || (jwk.Use != "" && jwk.Use != "sig") {
			continue
		}
		if _, dup := byKID[jwk.KeyID]; dup {
			continue
		}
		switch k := jwk.Key.(type) {
		case ed25519.PublicKey:
		case *ecdsa.PublicKey:
		case *rsa.PublicKey:
			if k.N.BitLen() < minRSABits {
				continue
			}
		default:
			continue
		}
		if jwk.Algorithm != "" && !supportedAlg(jwk.Algorithm) {
			continue
		}
		byKID[jwk.KeyID] = publicKey{key: jwk.Key, alg: jwk.Algorithm}
	}
	return byKID, nil
}

// cacheMaxAge returns the freshness lifetime the response headers give: its
// Cache-Control max-age less its Age, or zero for no-cache or no-store. ok
// is false if they give none.
func cacheMaxAge(h http.Header) (age time.Duration, ok bool) {
	for _, cc := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(cc, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-cache", "no-store":
				return 0, true
			case "max-age":
				secs, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
				if err != nil || secs < 0 {
					continue
				}
				age, ok = time.Duration(min(secs, 1<<31))*time.Second, true
			}
		}
	}
	if ok {
		if secs, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && secs > 0 {
			age = max(age-time.Duration(min(secs, 1<<31))*time.Second, 0)
		}
	}
	return age, ok
}
