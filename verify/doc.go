// Package verify checks authstore access tokens offline, for resource servers
// (the store's other services). It depends on nothing of authstore but the
// published contract: the JSON Web Key Set at /.well-known/jwks.json and the
// access-token format.
//
// # What a token must be
//
// Verify accepts a token only if all of these hold:
//
//   - it is a JWS in compact serialization, at most 8 KiB long;
//   - its header "alg" is in Config.Algorithms (EdDSA, ES256 and RS256 by
//     default; "none" and the HMAC algorithms HS256, HS384 and HS512 can
//     never be allowed there: HS256 is accepted only with Config.HMACSecret,
//     see below), its "typ" is "at+jwt" (RFC 9068; "application/at+jwt"
//     too, in any case) and its "kid" names a key of the JWKS;
//   - "alg" fits that key: it equals the key's own "alg" when the JWK has one,
//     and the key's type always (Ed25519 for EdDSA, an ECDSA key on the
//     matching curve for ES*, RSA of at least 2048 bits for RS* and PS*).
//     Only public asymmetric keys are taken from the JWKS, so a token MACed
//     with a public key's bytes (the HS256 confusion attack) can never pass;
//   - the signature verifies, and an ECDSA signature has s at most half the
//     curve order ("low S"): (r, n-s) verifies too, and would be a second
//     spelling of the same token, so it is refused (authstore signs low S);
//   - "iss" equals Config.Issuer, and "aud" equals Config.Audience or is an
//     array containing it;
//   - "sub" and "exp" are present; exp is after now and "nbf" and "iat", when
//     present, are not after now, each with Config.Leeway (30 s by default)
//     of tolerance for clock skew.
//
// # HS256 compatibility mode
//
// An authstore started with --signing-alg HS256 MACs its tokens with a
// shared secret, as the original service did (header {"alg":"HS256",
// "typ":"JWT"}, no kid), and serves an empty JWKS. Config.HMACSecret, that
// secret byte for byte (at least 32 bytes), makes Verify accept such
// tokens: alg HS256, typ "JWT", a MAC that matches under the secret, then
// the same claim rules as above. The secret is the only key HS256 is ever
// checked with; a JWK never is. Without a JWKSURL only HS256 is accepted and
// nothing is fetched; with both, a service accepts either kind (while
// authstore moves to or from the mode). Without HMACSecret, HS256 is refused
// as above.
//
// An expired but otherwise good token fails with an error matching
// ErrExpired; every other bad token with one matching ErrInvalid. When the
// keys cannot be fetched and the token names a key not in the cache, the
// error matches ErrUnavailable: the token may well be good.
//
// # Caching and refetching
//
// New fetches the JWKS once and fails if it cannot, so a wrong URL or an
// unreachable authstore shows at start; a caller that must start regardless
// retries New. The set is then cached for the response's Cache-Control
// max-age (less its Age header), bounded below by Config.MinRefetchInterval
// and above by Config.MaxCacheAge, which is also the lifetime when the
// response gives none. The first Verify after that starts a refetch in the
// background and keeps verifying with the cached keys meanwhile; a failed
// refetch keeps them too, so an authstore outage does not stop offline
// verification.
//
// A token whose kid is not in the cache (a key rotated in since the last
// fetch) makes Verify refetch at once and wait for the result. Fetches are
// single-flight (concurrent callers share one) and start at most once per
// MinRefetchInterval, so a flood of tokens with made-up kids costs authstore
// at most one request per interval. A fetch is bounded by FetchTimeout and is
// not cancelled by the context of the Verify call that started it; each
// caller still stops waiting when its own context ends.
//
// # Verified tokens
//
// A token that verified is remembered (Config.VerifiedCacheSize tokens at
// most, 4096 by default; negative turns it off), keyed by the SHA-256 of the
// whole token, so a client presenting the same token on every request
// costs one signature check. Remembering changes no answer: nbf, iat and exp
// are checked again with the current clock on every call, so a remembered
// token expires as any other, and a remembered JWKS token holds only while
// the key set it was verified under is the cached one, so any successful
// refetch (a key rotated in or removed) makes it verify afresh. A token
// whose key left the JWKS thus stops verifying at the same refresh
// whether remembered or not.
//
// # What it cannot know
//
// Verification is offline: it never asks authstore about a session. An
// access token of a session that was revoked (logout, a detected refresh
// token reuse, a deleted session or user) keeps verifying here until its exp,
// at most the access-token lifetime (20 minutes by default) after issue, as
// the authstore contract states. A service that must react sooner asks
// authstore itself (GET /auth/me refuses such tokens). Likewise a key removed
// from the JWKS keeps verifying until the cache is refreshed.
//
// # HTTP
//
// Middleware wraps a handler: it takes the token from "Authorization: Bearer",
// verifies it, and hands the request on with the claims in its context (see
// ClaimsFrom), or answers in authstore's error shape itself.
//
// # Second factors
//
// Claims.AMR is the token's "amr" (RFC 8176): ["pwd"] after a password
// alone, ["pwd", "otp"] after a TOTP or recovery code, ["webauthn"] or
// ["pwd", "webauthn"] with a passkey. authstore keeps a session's amr
// across refreshes, so a refreshed token says how the session was opened.
// Claims.HasSecondFactor reports whether it holds a factor beyond a
// password. RequireSecondFactor is Middleware for routes that need one: it
// also answers 401 "Second factor required" with WWW-Authenticate: Bearer
// error="insufficient_user_authentication" (RFC 9470) to a token without
// one; the client then signs the user in again with the second factor.
package verify
