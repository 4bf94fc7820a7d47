package verify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors of Verify, to be tested with errors.Is. They are distinct: an
// expired token matches ErrExpired only.
var (
	// ErrInvalid is every reason to refuse a token but expiry.
	ErrInvalid = errors.New("verify: invalid token")
	// ErrExpired is a token that is good but for its exp, now past.
	ErrExpired = errors.New("verify: token expired")
	// ErrUnavailable means the signing keys could not be fetched: the JWKS
	// at New, or a key the token names that is not in the cache.
	ErrUnavailable = errors.New("verify: signing keys unavailable")
)

// Defaults of Config.
const (
	DefaultLeeway             = 30 * time.Second
	DefaultMinRefetchInterval = 30 * time.Second
	DefaultMaxCacheAge        = 5 * time.Minute
	DefaultVerifiedCacheSize  = 4096
	// FetchTimeout bounds one JWKS request.
	FetchTimeout = 10 * time.Second
	// MaxTokenLength is the longest token Verify parses, in bytes.
	MaxTokenLength = 8 << 10
	// maxJWKSBytes is the largest JWKS response read.
	maxJWKSBytes = 1 << 20
)

// defaultAlgorithms are the algorithms authstore signs with.
var defaultAlgorithms = []string{"EdDSA", "ES256", "RS256"}

// MinHMACSecretLen is the shortest HMACSecret accepted, in bytes.
const MinHMACSecretLen = 32

// Config configures a Verifier. Issuer and Audience are required, and
// JWKSURL or HMACSecret or both.
type Config struct {
	// JWKSURL is the absolute http(s) URL of authstore's key set, such as
	// https://auth.example.com/.well-known/jwks.json. It may be empty only
	// with an HMACSecret: then only HS256 tokens are accepted and no JWKS
	// is fetched.
	JWKSURL string
	// HMACSecret is the secret shared with an authstore running with
	// --signing-alg HS256 (its AUTHSTORE_JWT_SECRET), byte for byte; at
	// least MinHMACSecretLen bytes. When set, HS256 tokens are accepted if
	// their MAC under this secret matches and their typ is "JWT"; they are
	// never checked against the JWKS. When nil, HS256 is refused. With
	// JWKSURL too, a service accepts both kinds, e.g. while authstore
	// leaves the compatibility mode. The secret is copied.
	HMACSecret []byte
	// Issuer is the exact "iss" tokens must carry (authstore's --issuer).
	Issuer string
	// Audience is the value "aud" must be or contain (authstore's
	// --audience). Tokens without an aud are refused.
	Audience string
	// Algorithms is the allowlist of "alg" values; nil means EdDSA, ES256
	// and RS256. Allowed: EdDSA, ES256, ES384, ES512, RS256, RS384, RS512,
	// PS256, PS384, PS512. "none" and HS* make New fail.
	Algorithms []string
	// Leeway is the clock skew tolerated on exp, nbf and iat. Zero means
	// DefaultLeeway (30 s); a negative value means none.
	Leeway time.Duration
	// HTTPClient fetches the JWKS; nil means a client of its own.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MinRefetchInterval is the least time between the starts of two JWKS
	// fetches, and the shortest time a fetched set is cached. Zero means
	// DefaultMinRefetchInterval (30 s).
	MinRefetchInterval time.Duration
	// VerifiedCacheSize is the most recently verified tokens remembered, so
	// that a token presented again costs no signature check. Zero means
	// DefaultVerifiedCacheSize; a negative value disables the cache. A
	// remembered token is still refused once expired (its nbf, iat and exp
	// are checked again on every use), and is forgotten when the key set
	// is refreshed, so it never verifies longer than its key would.
	VerifiedCacheSize int
	// MaxCacheAge is the longest time a fetched set is used before a
	// refetch, and the cache time when the response gives no max-age. Zero
	// means DefaultMaxCacheAge (5 min); it is raised to MinRefetchInterval
	// if lower.
	MaxCacheAge time.Duration
}

// Claims are the claims of a verified access token.
type Claims struct {
	Subject   string    // "sub": the user's UUID
	SessionID string    // "sid": the session, "" if absent
	Issuer    string    // "iss"
	Audience  string    // the configured audience the token was accepted for
	ID        string    // "jti", "" if absent
	IssuedAt  time.Time // "iat" in UTC, zero if absent
	ExpiresAt time.Time // "exp" in UTC
	// AMR is "amr" (RFC 8176): how the user authenticated for the session,
	// such as ["pwd"] for a password alone, ["pwd", "otp"] with a TOTP or
	// recovery code, ["webauthn"] or ["pwd", "webauthn"] with a passkey;
	// nil if absent (tokens issued before authstore recorded it).
	AMR []string
}

// secondFactors are the amr values (RFC 8176, and "webauthn") that are a
// factor beyond a password: a one-time code, a hardware or software key,
// a passkey, or "mfa" itself.
var secondFactors = []string{"otp", "webauthn", "hwk", "swk", "sms", "tel", "sc", "mfa"}

// HasSecondFactor reports whether the user authenticated with more than a
// password: whether AMR holds "otp", "webauthn", "hwk", "swk", "sms",
// "tel", "sc" or "mfa". A passkey alone (["webauthn"]) counts: it is a
// device the user holds, unlocked by the user.
func (c *Claims) HasSecondFactor() bool {
	for _, m := range c.AMR {
		if slices.Contains(secondFactors, m) {
			return true
		}
	}
	return false
}

// Verifier verifies access tokens against a cached JWKS. It is safe for
// concurrent use.
type Verifier struct {
	cfg    Config
	algs   []jose.SignatureAlgorithm
	leeway time.Duration
	secret []byte // HMACSecret's copy; nil unless HS256 is accepted

	keys  atomic.Pointer[keySet] // never nil after New
	cache *verifiedCache         // nil if disabled
	// scratch pools the *scratch buffers Verify decodes tokens into.
	scratch sync.Pool

	mu          sync.Mutex
	flight      *fetchCall // the fetch in progress, nil if none
	lastAttempt time.Time  // start of the latest fetch
	lastErr     error      // outcome of the latest finished fetch
}

// New checks cfg, fetches the JWKS once with ctx (unless there is no
// JWKSURL), and returns a Verifier caching it. It fails if cfg is invalid,
// and with an error matching ErrUnavailable if the JWKS cannot be fetched or
// parsed.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	v := &Verifier{cfg: cfg}
	if err := v.init(); err != nil {
		return nil, err
	}
	if v.cfg.JWKSURL == "" {
		// HS256 only: no key is ever looked up, and none fetched.
		v.keys.Store(&keySet{byKID: map[string]publicKey{}, staleAt: time.Unix(1<<62, 0)})
		return v, nil
	}
	now := v.cfg.Now()
	v.lastAttempt = now
	ks, err := v.fetch(ctx, now)
	if err != nil {
		return nil, err
	}
	v.keys.Store(ks)
	return v, nil
}

// init checks v.cfg and fills in its defaults.
func (v *Verifier) init() error {
	c := &v.cfg
	u, err := url.Parse(c.JWKSURL)
	switch {
	case c.JWKSURL == "" && c.HMACSecret == nil:
		return errors.New("verify: JWKSURL is required (or HMACSecret, for authstore's HS256 mode)")
	case c.JWKSURL == "" && len(c.Algorithms) > 0:
		return errors.New("verify: Algorithms need a JWKSURL to take the keys from")
	case c.JWKSURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == ""):
		return errors.New("verify: JWKSURL must be an absolute http or https URL")
	case c.HMACSecret != nil && len(c.HMACSecret) < MinHMACSecretLen:
		return fmt.Errorf("verify: HMACSecret must be at least %d bytes, got %d", MinHMACSecretLen, len(c.HMACSecret))
	case c.Issuer == "":
		return errors.New("verify: Issuer is required")
	case c.Audience == "":
		return errors.New("verify: Audience is required")
	case c.MinRefetchInterval < 0 || c.MaxCacheAge < 0:
		return errors.New("verify: MinRefetchInterval and MaxCacheAge must not be negative")
	}
	algs := c.Algorithms
	if len(algs) == 0 && c.JWKSURL != "" {
		algs = defaultAlgorithms
	}
	for _, a := range algs {
		if !supportedAlg(a) {
			if a == "none" || strings.HasPrefix(strings.ToUpper(a), "HS") {
				return fmt.Errorf("verify: algorithm %q is never allowed: only asymmetric signatures can be verified with a public key set (HS256 is accepted with an HMACSecret, never with the JWKS)", a)
			}
			return fmt.Errorf("verify: unsupported algorithm %q", a)
		}
		if !slices.Contains(v.algs, jose.SignatureAlgorithm(a)) {
			v.algs = append(v.algs, jose.SignatureAlgorithm(a))
		}
	}
	c.Algorithms = slices.Clone(algs)
	if c.HMACSecret != nil {
		// HS256 is checked with the secret only, never with a JWK.
		v.secret = slices.Clone(c.HMACSecret)
		c.HMACSecret = nil
		v.algs = append(v.algs, jose.HS256)
	}
	switch {
	case c.Leeway == 0:
		v.leeway = DefaultLeeway
	case c.Leeway > 0:
		v.leeway = c.Leeway
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: FetchTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MinRefetchInterval == 0 {
		c.MinRefetchInterval = DefaultMinRefetchInterval
	}
	if c.MaxCacheAge == 0 {
		c.MaxCacheAge = DefaultMaxCacheAge
	}
	c.MaxCacheAge = max(c.MaxCacheAge, c.MinRefetchInterval)
	switch {
	case c.VerifiedCacheSize == 0:
		v.cache = newVerifiedCache(DefaultVerifiedCacheSize)
	case c.VerifiedCacheSize > 0:
		v.cache = newVerifiedCache(c.VerifiedCacheSize)
	}
	return nil
}

// payload is the claims set of an access token as it is read.
type payload struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
	SessionID string           `json:"sid"`
	AMR       []string         `json:"amr"`
}

// Verify checks token as the package documentation lists and returns its
// claims. A failure matches ErrExpired, ErrInvalid or ErrUnavailable (then
// also ctx's error if ctx ended while waiting for a fetch). Errors never
// contain the token or parts of it.
//
// A token that verified recently is answered from a bounded cache (see
// verifiedCache): its time claims are checked again with the current clock,
// and the entry holds only while the key set it was verified under is
// still the current one.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" || len(token) > MaxTokenLength {
		return nil, fmt.Errorf("verify: empty or too long: %w", ErrInvalid)
	}
	s, _ := v.scratch.Get().(*scratch)
	if s == nil {
		s = &scratch{buf: make([]byte, 0, 2048)}
	}
	defer v.scratch.Put(s)
	s.buf = append(s.buf[:0], token...)
	var sum [32]byte
	if v.cache != nil {
		sum = sha256.Sum256(s.buf)
		if c, err, ok := v.cachedVerify(ctx, sum); ok {
			return c, err
		}
	}
	c, t, ks, handled, err := v.verifyCompact(ctx, token, s)
	if !handled {
		c, t, ks, err = v.verifyJOSE(ctx, token)
	}
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.add(sum, c, t, ks, v.leeway, v.cfg.Now())
	}
	return c, nil
}

// verifyJOSE is the general path: go-jose parses the token. It serves every
// token whose header is not of the one shape verifyCompact reads, and the
// algorithms other than EdDSA and HS256. ks is the key set the key came
// from, nil for HS256.
func (v *Verifier) verifyJOSE(ctx context.Context, token string) (*Claims, *times, *keySet, error) {
	if !canonicalCompact(token) {
		return nil, nil, nil, fmt.Errorf("verify: not a compact JWS in canonical base64url: %w", ErrInvalid)
	}
	jws, err := jose.ParseSignedCompact(token, v.algs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, nil, nil, fmt.Errorf("verify: not a signed token with an allowed algorithm: %w", ErrInvalid)
	}
	h := jws.Signatures[0].Protected
	if h.Algorithm == string(jose.HS256) {
		// Only reachable with an HMACSecret: v.algs holds HS256 then only.
		c, t, err := v.verifyHMAC(jws)
		return c, t, nil, err
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !isAccessTokenType(typ) {
		return nil, nil, nil, fmt.Errorf("verify: typ is not at+jwt: %w", ErrInvalid)
	}
	if h.KeyID == "" {
		return nil, nil, nil, fmt.Errorf("verify: no kid: %w", ErrInvalid)
	}
	k, ks, err := v.key(ctx, h.KeyID)
	if err != nil {
		return nil, nil, nil, err
	}
	if !k.fits(h.Algorithm) {
		return nil, nil, nil, fmt.Errorf("verify: alg does not fit the key: %w", ErrInvalid)
	}
	if !lowS(k.key, jws.Signatures[0].Signature) {
		return nil, nil, nil, fmt.Errorf("verify: ECDSA signature with high S: %w", ErrInvalid)
	}
	raw, err := jws.Verify(k.key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("verify: bad signature: %w", ErrInvalid)
	}
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, nil, fmt.Errorf("verify: malformed claims: %w", ErrInvalid)
	}
	c, t, err := v.check(&p)
	return c, t, ks, err
}

// verifyHMAC checks an HS256 token of authstore's compatibility mode: typ
// JWT (as the original service wrote it) and a MAC under the shared secret,
// compared in constant time; then the claim rules.
func (v *Verifier) verifyHMAC(jws *jose.JSONWebSignature) (*Claims, *times, error) {
	if v.secret == nil {
		return nil, nil, fmt.Errorf("verify: HS256 without a shared secret: %w", ErrInvalid)
	}
	if typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "JWT") {
		return nil, nil, fmt.Errorf("verify: typ of an HS256 token is not JWT: %w", ErrInvalid)
	}
	raw, err := jws.Verify(v.secret)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: bad signature: %w", ErrInvalid)
	}
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, fmt.Errorf("verify: malformed claims: %w", ErrInvalid)
	}
	return v.check(&p)
}

// times are the time claims of a token whose other claims passed: what
// must be checked again, with the clock of the moment, on every use.
type times struct {
	nbf, iat, exp  time.Time // exp in UTC
	hasNBF, hasIAT bool
}

// check applies the claim rules to a payload whose signature verified.
func (v *Verifier) check(p *payload) (*Claims, *times, error) {
	switch {
	case p.Subject == "":
		return nil, nil, fmt.Errorf("verify: no sub: %w", ErrInvalid)
	case p.ExpiresAt == nil:
		return nil, nil, fmt.Errorf("verify: no exp: %w", ErrInvalid)
	case p.Issuer != v.cfg.Issuer:
		return nil, nil, fmt.Errorf("verify: wrong issuer: %w", ErrInvalid)
	case !p.Audience.Contains(v.cfg.Audience):
		return nil, nil, fmt.Errorf("verify: wrong audience: %w", ErrInvalid)
	}
	t := &times{exp: p.ExpiresAt.Time().UTC()}
	if p.NotBefore != nil {
		t.nbf, t.hasNBF = p.NotBefore.Time(), true
	}
	if p.IssuedAt != nil {
		t.iat, t.hasIAT = p.IssuedAt.Time(), true
	}
	if err := v.checkTimes(t, v.cfg.Now()); err != nil {
		return nil, nil, err
	}
	c := &Claims{
		Subject:   p.Subject,
		SessionID: p.SessionID,
		AMR:       p.AMR,
		Issuer:    v.cfg.Issuer, // equal to p.Issuer
		Audience:  v.cfg.Audience,
		ID:        p.ID,
		ExpiresAt: t.exp,
	}
	if t.hasIAT {
		c.IssuedAt = t.iat.UTC()
	}
	return c, t, nil
}

// checkTimes applies the rules on nbf, iat and exp at now, in that order.
func (v *Verifier) checkTimes(t *times, now time.Time) error {
	if t.hasNBF && now.Add(v.leeway).Before(t.nbf) {
		return fmt.Errorf("verify: not valid yet (nbf): %w", ErrInvalid)
	}
	if t.hasIAT && now.Add(v.leeway).Before(t.iat) {
		return fmt.Errorf("verify: issued in the future (iat): %w", ErrInvalid)
	}
	if !now.Before(t.exp.Add(v.leeway)) {
		return fmt.Errorf("verify: %w", ErrExpired)
	}
	return nil
}

// isAccessTokenType reports whether typ names an RFC 9068 access token.
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "at+jwt" || typ == "application/at+jwt"
}

// canonicalCompact reports whether token is the one spelling of a compact
// JWS: three segments of unpadded base64url with no line breaks and no stray
// trailing bits. go-jose decodes leniently (it skips CR and LF and ignores
// trailing bits) and verifies the re-encoded bytes, so without this check
// one signed token would be accepted under many strings.
//
// The same check is written in the server's token package (token/verify.go) on purpose: verify is a module
// of its own that links nothing of the server, and the server does not import
// its client; a fuzz test in each package keeps both strict.
func canonicalCompact(token string) bool {
	segs := strings.Split(token, ".")
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
