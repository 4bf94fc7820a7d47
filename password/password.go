// Package password hashes and verifies user passwords for authstore.
//
// New hashes are argon2id with OWASP parameters by default, encoded as PHC
// strings in the format of the reference argon2 implementation. Verify also
// accepts argon2id hashes with other (bounded) parameters and bcrypt hashes,
// and asks for a re-hash when the stored hash is not in the current format.
//
// A Hasher computes when called: it holds no slots or queues. Each argon2id
// computation holds its memory (Params.Memory) while it runs, so the caller
// bounds how many run at once; auth.Service does (Config.PasswordHashes).
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/authstore/auth"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Bounds on hash parameters. Verify treats a stored hash outside them as
// a mismatch, so a crafted hash cannot make one verification arbitrarily
// expensive; Params.Validate holds the current parameters to them too.
const (
	MaxMemory  = 256 * 1024 // KiB (256 MiB)
	MaxTime    = 32
	MaxWork    = 1024 * 1024 // Memory*Time, in KiB passes (1 GiB)
	MaxThreads = 16
	MinSaltLen = 8
	MaxSaltLen = 64
	MinKeyLen  = 16
	MaxKeyLen  = 128
	// MaxBcryptCost is the highest bcrypt cost Verify computes; a stored
	// bcrypt hash with a higher cost is a mismatch.
	MaxBcryptCost = 14
)

var _ auth.PasswordHasher = (*Hasher)(nil)

// Params are argon2id parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// OWASP returns the argon2id parameters the OWASP Password Storage Cheat
// Sheet recommends: 19 MiB of memory, 2 passes, 1 lane, a 16-byte salt and a
// 32-byte key.
func OWASP() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p is within the bounds this package accepts
// (Max*, Min* and Memory >= 8*Threads).
func (p Params) Validate() error {
	switch {
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("password: threads %d outside 1..%d", p.Threads, MaxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("password: memory %d KiB outside %d..%d", p.Memory, 8*uint32(p.Threads), MaxMemory)
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("password: time %d outside 1..%d", p.Time, MaxTime)
	case uint64(p.Memory)*uint64(p.Time) > MaxWork:
		return fmt.Errorf("password: memory*time %d above %d", uint64(p.Memory)*uint64(p.Time), MaxWork)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("password: salt length %d outside %d..%d", p.SaltLen, MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("password: key length %d outside %d..%d", p.KeyLen, MinKeyLen, MaxKeyLen)
	}
	return nil
}

// Options configure a Hasher. Zero fields take their defaults.
type Options struct {
	// Params are the parameters of new hashes; zero means OWASP(). New
	// panics if they are set and fail Validate.
	Params Params
	// Rand supplies salts; nil means crypto/rand.
	Rand io.Reader
}

// Hasher implements auth.PasswordHasher. It is safe for concurrent use.
type Hasher struct {
	params Params
	rand   io.Reader
}

// New returns a Hasher configured by o. It panics if o.Params is non-zero
// and invalid, which is a programming error; check it with Params.Validate.
func New(o Options) *Hasher {
	if o.Params == (Params{}) {
		o.Params = OWASP()
	}
	if err := o.Params.Validate(); err != nil {
		panic(err)
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return &Hasher{params: o.Params, rand: o.Rand}
}

// Params returns the parameters of new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string of an argon2id hash of password under the
// current parameters and a fresh salt:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in standard base64 without padding. It fails with an
// error wrapping ctx.Err() when ctx has ended before the call, or when Rand
// fails.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("password: %w", err)
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, a PHC argon2id string or
// a bcrypt hash ($2a$, $2b$ or $2y$), comparing in constant time. rehash is
// true when ok and encoded is bcrypt or argon2id with parameters other than
// the current ones.
//
// An encoded hash that is empty, unparsable, of another algorithm or version,
// or whose parameters exceed the package bounds (including bcrypt cost above
// MaxBcryptCost) gives ok=false, rehash=false and a nil error after spending
// the work of one hash with the current parameters. So Verify(ctx, "", pw)
// costs what a real verification costs, which hides whether a login exists.
//
// bcrypt only reads the first 72 bytes of a password.
//
// The only error is one wrapping ctx.Err() when ctx has ended before the
// call.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, false, fmt.Errorf("password: %w", err)
	}

	if isBcrypt(encoded) {
		ok := h.verifyBcrypt(encoded, password)
		return ok, ok, nil
	}
	p, salt, key, parsed := parsePHC(encoded)
	if !parsed {
		h.dummy(password)
		return false, false, nil
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// verifyBcrypt compares password with a bcrypt hash of bounded cost; any
// failure before the comparison spends one dummy hash instead.
func (h *Hasher) verifyBcrypt(encoded, password string) bool {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil || cost > MaxBcryptCost {
		h.dummy(password)
		return false
	}
	err = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	if err == nil {
		return true
	}
	if !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		// The hash failed to decode before any work was done.
		h.dummy(password)
	}
	return false
}

// dummy spends the work of one hash with the current parameters.
func (h *Hasher) dummy(password string) {
	salt := make([]byte, h.params.SaltLen)
	argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
}

// bcryptLen is the length of every well-formed bcrypt hash.
const bcryptLen = 60

func isBcrypt(s string) bool {
	if len(s) != bcryptLen {
		return false
	}
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}
