package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// b64 is the base64 of PHC strings: standard alphabet, no padding, zero
// trailing bits.
func b64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

// encodePHC formats an argon2id hash as the reference implementation does.
func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64().EncodeToString(salt), b64().EncodeToString(key))
}

// maxPHCLen bounds the length of a PHC string worth parsing; the longest
// valid one is well under it.
const maxPHCLen = 512

// parsePHC parses the exact format encodePHC writes, with any parameters
// that pass Params.Validate. Base64 must be canonical: no padding, no
// whitespace, zero trailing bits.
func parsePHC(s string) (p Params, salt, key []byte, ok bool) {
	if len(s) > maxPHCLen {
		return Params{}, nil, nil, false
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, false
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return Params{}, nil, nil, false
	}
	m, ok1 := param(kv[0], "m=", 32)
	t, ok2 := param(kv[1], "t=", 32)
	l, ok3 := param(kv[2], "p=", 8)
	salt, ok4 := decode(parts[4])
	key, ok5 := decode(parts[5])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return Params{}, nil, nil, false
	}
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(l), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if p.Validate() != nil {
		return Params{}, nil, nil, false
	}
	return p, salt, key, true
}

// param parses "name=decimal" with no sign and no leading zero.
func param(s, name string, bits int) (uint64, bool) {
	v, found := strings.CutPrefix(s, name)
	if !found || v == "" || (len(v) > 1 && v[0] == '0') || v[0] < '0' || v[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, bits)
	return n, err == nil
}

// decode decodes canonical unpadded standard base64.
func decode(s string) ([]byte, bool) {
	if s == "" || len(s) > 4*MaxKeyLen {
		return nil, false
	}
	b, err := b64().DecodeString(s)
	if err != nil || b64().EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}
