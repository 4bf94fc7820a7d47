package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
)

// A refresh token is base64url (no padding) of
//
//	session id (16 bytes) || generation (8 bytes, big endian) || MAC (32 bytes)
//
// where MAC = HMAC-SHA256(refresh key, refreshTokenLabel || id || generation).
// The refresh key is derived from the secret key, which never enters the
// database, so a copy of the database can neither mint nor replay tokens,
// while the service can re-derive the current token of a session for a grace
// replay without storing it. The token carries no expiry: the session row
// decides that.
const (
	refreshIDLen    = 16
	refreshGenLen   = 8
	refreshMACLen   = sha256.Size
	refreshRawLen   = refreshIDLen + refreshGenLen + refreshMACLen
	refreshTokenLen = (refreshRawLen*8 + 5) / 6 // base64url without padding
)

const refreshTokenLabel = "authstore refresh token v1\x00"

// refreshCodec encodes and checks refresh tokens under one MAC key.
type refreshCodec struct {
	strict *base64.Encoding // RawURLEncoding.Strict(): one spelling per token
	macs   *sync.Pool       // of hash.Hash: HMAC-SHA256 under the key, reset
}

func newRefreshCodec(key []byte) refreshCodec {
	key = append([]byte(nil), key...)
	return refreshCodec{
		strict: base64.RawURLEncoding.Strict(),
		macs:   &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }},
	}
}

func (c refreshCodec) mac(dst, idAndGen []byte) []byte {
	m := c.macs.Get().(hash.Hash)
	m.Write([]byte(refreshTokenLabel))
	m.Write(idAndGen)
	dst = m.Sum(dst)
	m.Reset()
	c.macs.Put(m)
	return dst
}

// encode returns the refresh token of generation gen of session id (a UUID).
// It returns "" if id is not a UUID.
func (c refreshCodec) encode(id string, gen int64) string {
	raw := make([]byte, refreshIDLen+refreshGenLen, refreshRawLen)
	if !parseUUID(raw[:refreshIDLen], id) {
		return ""
	}
	binary.BigEndian.PutUint64(raw[refreshIDLen:], uint64(gen))
	raw = c.mac(raw, raw)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decode returns the session id and generation of token, and false if token
// is malformed or its MAC does not verify. The MAC is compared in constant time.
func (c refreshCodec) decode(token string) (id string, gen int64, ok bool) {
	if len(token) != refreshTokenLen {
		return "", 0, false
	}
	var raw [refreshRawLen]byte
	n, err := c.strict.Decode(raw[:], []byte(token))
	if err != nil || n != refreshRawLen {
		return "", 0, false
	}
	body := raw[:refreshIDLen+refreshGenLen]
	var want [refreshMACLen]byte
	if !hmac.Equal(c.mac(want[:0], body), raw[refreshIDLen+refreshGenLen:]) {
		return "", 0, false
	}
	g := binary.BigEndian.Uint64(raw[refreshIDLen:])
	if g == 0 || g > 1<<62 {
		return "", 0, false
	}
	return formatUUID(raw[:refreshIDLen]), int64(g), true
}
