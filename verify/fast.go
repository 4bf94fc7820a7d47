package verify

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// The fast path.
//
// go-jose parses a compact JWS generically: it decodes the header into a
// map of json.RawMessage, unmarshals every member again, builds several
// structs and copies the signing input, about a hundred allocations per
// token. No JOSE library parses the one header shape authstore writes
// without that, so verifyCompact reads it by hand, but only that shape: a
// JSON object of the string members "alg", "kid" and "typ", each at most
// once, with no whitespace and values of printable ASCII without escapes.
// For such a header go-jose would produce exactly these three fields and
// nothing else (no crit, no jwk, no b64), so the checks below are the same
// as in verifyJOSE. Any other header, and the algorithms other than EdDSA
// and HS256, go to verifyJOSE, which decides as before.

// scratch is a token's bytes and its decoded segments, pooled.
type scratch struct{ buf []byte }

// verifyCompact verifies token along the fast path. handled is false if
// the token is not for it; then nothing was checked or fetched that
// verifyJOSE does not do again. s.buf holds token's bytes.
func (v *Verifier) verifyCompact(ctx context.Context, token string, s *scratch) (c *Claims, t *times, ks *keySet, handled bool, err error) {
	n := len(token)
	// The canonical-compact check of canonicalCompact, on the pooled copy:
	// three segments, no CR or LF (which base64 decoding skips), each
	// segment strict unpadded base64url.
	dot1 := strings.IndexByte(token, '.')
	dot2 := -1
	if dot1 >= 0 {
		if i := strings.IndexByte(token[dot1+1:], '.'); i >= 0 {
			dot2 = dot1 + 1 + i
		}
	}
	if dot2 < 0 || strings.IndexByte(token[dot2+1:], '.') >= 0 || strings.ContainsAny(token, "\r\n") {
		return nil, nil, nil, true, fmt.Errorf("verify: not a compact JWS in canonical base64url: %w", ErrInvalid)
	}
	enc := base64.RawURLEncoding.Strict()
	hl := enc.DecodedLen(dot1)
	pl := enc.DecodedLen(dot2 - dot1 - 1)
	sl := enc.DecodedLen(n - dot2 - 1)
	s.buf = slices.Grow(s.buf, hl+pl+sl)[:n+hl+pl+sl]
	tok := s.buf[:n]
	hdr, pay, sig := s.buf[n:n+hl], s.buf[n+hl:n+hl+pl], s.buf[n+hl+pl:]
	var e1, e2, e3 error
	hl, e1 = enc.Decode(hdr, tok[:dot1])
	pl, e2 = enc.Decode(pay, tok[dot1+1:dot2])
	sl, e3 = enc.Decode(sig, tok[dot2+1:])
	if e1 != nil || e2 != nil || e3 != nil {
		return nil, nil, nil, true, fmt.Errorf("verify: not a compact JWS in canonical base64url: %w", ErrInvalid)
	}
	hdr, pay, sig = hdr[:hl], pay[:pl], sig[:sl]
	signingInput := tok[:dot2]

	algB, kid, typ, ok := parseHeader(hdr)
	if !ok {
		return nil, nil, nil, false, nil
	}
	alg := ""
	for _, a := range v.algs {
		if string(a) == string(algB) {
			alg = string(a)
			break
		}
	}
	switch alg {
	case "":
		return nil, nil, nil, true, fmt.Errorf("verify: not a signed token with an allowed algorithm: %w", ErrInvalid)
	case "HS256":
		// Only reachable with an HMACSecret: v.algs holds HS256 then only.
		if v.secret == nil {
			return nil, nil, nil, true, fmt.Errorf("verify: HS256 without a shared secret: %w", ErrInvalid)
		}
		if !asciiEqualFold(typ, "JWT") {
			return nil, nil, nil, true, fmt.Errorf("verify: typ of an HS256 token is not JWT: %w", ErrInvalid)
		}
		m := hmac.New(sha256.New, v.secret)
		m.Write(signingInput)
		var sum [sha256.Size]byte
		if !hmac.Equal(sig, m.Sum(sum[:0])) {
			return nil, nil, nil, true, fmt.Errorf("verify: bad signature: %w", ErrInvalid)
		}
		c, t, err := v.claims(pay)
		return c, t, nil, true, err
	case "EdDSA":
	default:
		return nil, nil, nil, false, nil
	}
	if !asciiEqualFold(typ, "at+jwt") && !asciiEqualFold(typ, "application/at+jwt") {
		return nil, nil, nil, true, fmt.Errorf("verify: typ is not at+jwt: %w", ErrInvalid)
	}
	if len(kid) == 0 {
		return nil, nil, nil, true, fmt.Errorf("verify: no kid: %w", ErrInvalid)
	}
	k, ks, err := v.key(ctx, string(kid))
	if err != nil {
		return nil, nil, nil, true, err
	}
	if !k.fits(alg) {
		return nil, nil, nil, true, fmt.Errorf("verify: alg does not fit the key: %w", ErrInvalid)
	}
	// fits means an Ed25519 key; go-jose refuses an empty one, and
	// ed25519.Verify would panic on any other wrong length.
	pub := k.key.(ed25519.PublicKey)
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, signingInput, sig) {
		return nil, nil, nil, true, fmt.Errorf("verify: bad signature: %w", ErrInvalid)
	}
	c, t, err = v.claims(pay)
	return c, t, ks, true, err
}

// claims decodes the payload of a token whose signature verified and
// applies the claim rules. encoding/json copies the strings it keeps, so
// pay may be reused afterwards.
func (v *Verifier) claims(pay []byte) (*Claims, *times, error) {
	var p payload
	if err := json.Unmarshal(pay, &p); err != nil {
		return nil, nil, fmt.Errorf("verify: malformed claims: %w", ErrInvalid)
	}
	return v.check(&p)
}

// parseHeader reads a protected header of the one shape the fast path
// takes (see above); the results are slices of b. ok is false for any
// other header, and for one without alg.
func parseHeader(b []byte) (alg, kid, typ []byte, ok bool) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, nil, nil, false
	}
	var seen [3]bool
	i := 1
	for {
		name, next, ok := headerString(b, i)
		if !ok || next >= len(b) || b[next] != ':' {
			return nil, nil, nil, false
		}
		val, next, ok := headerString(b, next+1)
		if !ok {
			return nil, nil, nil, false
		}
		var f int
		switch string(name) {
		case "alg":
			f, alg = 0, val
		case "kid":
			f, kid = 1, val
		case "typ":
			f, typ = 2, val
		default:
			return nil, nil, nil, false
		}
		if seen[f] {
			return nil, nil, nil, false // a duplicate: leave it to encoding/json
		}
		seen[f] = true
		switch {
		case next == len(b)-1: // the closing brace
			return alg, kid, typ, seen[0]
		case b[next] == ',':
			i = next + 1
		default:
			return nil, nil, nil, false
		}
	}
}

// headerString reads a JSON string of printable ASCII without escapes
// starting at b[i], and returns its contents and the index after it.
func headerString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c > 0x7e:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// asciiEqualFold reports whether b equals s ignoring ASCII case; b is
// ASCII (parseHeader takes nothing else), where this is what
// strings.EqualFold and strings.ToLower do.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// verifiedCache remembers tokens that verified, by the SHA-256 of the
// whole token string, so that one presented again costs a hash and a map
// lookup instead of a signature check. It is bounded in size, and it can
// never make a token verify that Verify would refuse at that moment:
//
//   - an entry is the claims and the time claims; nbf, iat and exp are
//     checked again with the current clock on every hit, so an expired
//     token fails with ErrExpired as it would uncached, and an entry past
//     its exp (plus leeway) is dropped;
//   - an entry of a JWKS token holds the key set it was verified under and
//     holds only while that set is the current one: any successful JWKS
//     fetch (a refresh, a rotation, a removal) invalidates every entry, so
//     a key removed from the JWKS stops verifying from the cache exactly
//     when it stops verifying uncached. A hit still starts the background
//     refetch of a stale set, as a key lookup does;
//   - every other check depends on the token and the immutable Config only.
//
// When full, expired entries are swept, and if that frees nothing an
// eighth of the entries, arbitrary ones, are dropped.
type verifiedCache struct {
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]*cacheEntry
	max int
}

type cacheEntry struct {
	claims Claims // a template: copied out on every hit
	t      times
	ks     *keySet   // nil for HS256, checked with the secret
	until  time.Time // exp plus leeway: refused from then on anyway
}

func newVerifiedCache(size int) *verifiedCache {
	return &verifiedCache{m: make(map[[sha256.Size]byte]*cacheEntry, min(size, 1024)), max: size}
}

// cachedVerify answers from the cache; ok is false on a miss.
func (v *Verifier) cachedVerify(ctx context.Context, sum [sha256.Size]byte) (c *Claims, err error, ok bool) {
	vc := v.cache
	vc.mu.RLock()
	e := vc.m[sum]
	vc.mu.RUnlock()
	if e == nil {
		return nil, nil, false
	}
	now := v.cfg.Now()
	if e.ks != nil {
		ks := v.keys.Load()
		if !now.Before(ks.staleAt) {
			v.startFetch(ctx, now)
		}
		if ks != e.ks {
			vc.remove(sum, e)
			return nil, nil, false
		}
	}
	if err := v.checkTimes(&e.t, now); err != nil {
		if !now.Before(e.until) {
			vc.remove(sum, e)
		}
		return nil, err, true
	}
	cl := e.claims
	cl.AMR = slices.Clone(e.claims.AMR)
	return &cl, nil, true
}

// add remembers a token that verified now with claims c.
func (vc *verifiedCache) add(sum [sha256.Size]byte, c *Claims, t *times, ks *keySet, leeway time.Duration, now time.Time) {
	e := &cacheEntry{claims: *c, t: *t, ks: ks, until: t.exp.Add(leeway)}
	e.claims.AMR = slices.Clone(c.AMR) // the caller owns c
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if len(vc.m) >= vc.max {
		for k, old := range vc.m {
			if !now.Before(old.until) {
				delete(vc.m, k)
			}
		}
		if len(vc.m) >= vc.max {
			drop := max(vc.max/8, 1)
			for k := range vc.m {
				if drop == 0 {
					break
				}
				delete(vc.m, k)
				drop--
			}
		}
	}
	vc.m[sum] = e
}

// remove drops the entry of sum if it is still e.
func (vc *verifiedCache) remove(sum [sha256.Size]byte, e *cacheEntry) {
	vc.mu.Lock()
	if vc.m[sum] == e {
		delete(vc.m, sum)
	}
	vc.mu.Unlock()
}
