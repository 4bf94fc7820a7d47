package password_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/authstore/auth/password"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// fast are cheap parameters so tests do not spend OWASP work on every call.
var fast = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newFast(t testing.TB) *password.Hasher {
	t.Helper()
	return password.New(password.Options{Params: fast})
}

func phc(p password.Params, salt, key []byte) string {
	e := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s",
		p.Memory, p.Time, p.Threads, e.EncodeToString(salt), e.EncodeToString(key))
}

func TestHashFormat(t *testing.T) {
	t.Parallel()
	salt := bytes.Repeat([]byte{0xA5}, 16)
	h := password.New(password.Options{Rand: bytes.NewReader(salt)})
	if h.Params() != password.OWASP() {
		t.Fatalf("default params %+v, want OWASP %+v", h.Params(), password.OWASP())
	}
	got, err := h.Hash(context.Background(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	o := password.OWASP()
	want := phc(o, salt, argon2.IDKey([]byte("correct horse"), salt, o.Time, o.Memory, o.Threads, o.KeyLen))
	if !strings.HasPrefix(want, "$argon2id$v=19$m=19456,t=2,p=1$pa") {
		t.Fatalf("test builds %q", want)
	}
	if got != want {
		t.Fatalf("Hash = %q, want %q", got, want)
	}
}

func TestHashFreshSalt(t *testing.T) {
	t.Parallel()
	h := newFast(t)
	a, err := h.Hash(context.Background(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(context.Background(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of one password are equal: %q", a)
	}
}

func TestHashRandError(t *testing.T) {
	t.Parallel()
	h := password.New(password.Options{Params: fast, Rand: bytes.NewReader(nil)})
	if _, err := h.Hash(context.Background(), "pw"); err == nil {
		t.Fatal("Hash with an empty Rand succeeded")
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	h := newFast(t)
	for _, pw := range []string{"", "password", "pässwörd ✓", strings.Repeat("x", 500)} {
		t.Run(fmt.Sprintf("len%d", len(pw)), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			enc, err := h.Hash(ctx, pw)
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := h.Verify(ctx, enc, pw)
			if err != nil || !ok || rehash {
				t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			ok, rehash, err = h.Verify(ctx, enc, pw+"!")
			if err != nil || ok || rehash {
				t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestVerifyReferenceVector checks a hash printed by the reference argon2 CLI:
// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1
func TestVerifyReferenceVector(t *testing.T) {
	t.Parallel()
	const enc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	h := newFast(t)
	ok, rehash, err := h.Verify(context.Background(), enc, "password")
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	ok, rehash, err = h.Verify(context.Background(), enc, "Password")
	if err != nil || ok || rehash {
		t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
}

func TestVerifyRehash(t *testing.T) {
	t.Parallel()
	salt := []byte("0123456789abcdef")
	tests := []struct {
		name   string
		p      password.Params
		rehash bool
	}{
		{"current", fast, false},
		{"memory", password.Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"time", password.Params{Memory: 64, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"threads", password.Params{Memory: 64, Time: 1, Threads: 4, SaltLen: 16, KeyLen: 32}, true},
		{"salt", password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32}, true},
		{"key", password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 16}, true},
	}
	h := newFast(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := salt[:tt.p.SaltLen]
			enc := phc(tt.p, s, argon2.IDKey([]byte("hunter22"), s, tt.p.Time, tt.p.Memory, tt.p.Threads, tt.p.KeyLen))
			ok, rehash, err := h.Verify(context.Background(), enc, "hunter22")
			if err != nil || !ok || rehash != tt.rehash {
				t.Fatalf("Verify(%q) = %v, %v, %v; want true, %v, nil", enc, ok, rehash, err, tt.rehash)
			}
			ok, rehash, err = h.Verify(context.Background(), enc, "hunter23")
			if err != nil || ok || rehash {
				t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyBcrypt(t *testing.T) {
	t.Parallel()
	b, err := bcrypt.GenerateFromPassword([]byte("letmein!"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	base := string(b)
	if !strings.HasPrefix(base, "$2a$04$") {
		t.Fatalf("bcrypt made %q", base)
	}
	h := newFast(t)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			enc := prefix + base[4:]
			ok, rehash, err := h.Verify(context.Background(), enc, "letmein!")
			if err != nil || !ok || !rehash {
				t.Fatalf("Verify(right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			ok, rehash, err = h.Verify(context.Background(), enc, "letmein?")
			if err != nil || ok || rehash {
				t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	const pw = "hunter22"
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, fast.Time, fast.Memory, fast.Threads, fast.KeyLen)
	valid := phc(fast, salt, key)
	b64 := base64.RawStdEncoding.EncodeToString
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	validBcrypt := string(bc)
	plusSlash := []byte{0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff} // "+//+" in std base64
	validPlusSlash := phc(fast, plusSlash, argon2.IDKey([]byte(pw), plusSlash, fast.Time, fast.Memory, fast.Threads, fast.KeyLen))
	urlSafe := strings.NewReplacer("+", "-", "/", "_").Replace(validPlusSlash)

	h := newFast(t)
	for _, enc := range []string{valid, validBcrypt, validPlusSlash} {
		if ok, _, err := h.Verify(context.Background(), enc, pw); !ok || err != nil {
			t.Fatalf("the unmutated hash %q does not verify: %v, %v", enc, ok, err)
		}
	}
	sub := func(old, new string) string {
		if !strings.Contains(valid, old) {
			t.Fatalf("%q is not in %q", old, valid)
		}
		return strings.Replace(valid, old, new, 1)
	}
	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"algorithm only", "$argon2id$"},
		{"random", "not a hash at all"},
		{"dollars", "$$$$$$"},
		{"argon2i", sub("$argon2id$", "$argon2i$")},
		{"argon2d", sub("$argon2id$", "$argon2d$")},
		{"upper case", sub("$argon2id$", "$ARGON2ID$")},
		{"version 16", sub("$v=19$", "$v=16$")},
		{"no version", sub("$v=19", "")},
		{"leading zero", sub("m=64,", "m=064,")},
		{"plus sign", sub("m=64,", "m=+64,")},
		{"reordered", sub("m=64,t=1,p=1", "t=1,m=64,p=1")},
		{"extra param", sub("p=1", "p=1,k=2")},
		{"missing param", sub("m=64,", "")},
		{"m zero", sub("m=64,", "m=0,")},
		{"m below 8p", sub("m=64,t=1,p=1", "m=8,t=1,p=2")},
		{"huge m", sub("m=64,", "m=4194304,")},
		{"m overflow", sub("m=64,", "m=4294967296,")},
		{"huge t", sub("t=1,", "t=4294967295,")},
		{"t zero", sub("t=1,", "t=0,")},
		{"too much work", sub("m=64,t=1,", "m=262144,t=5,")},
		{"p zero", sub("p=1$", "p=0$")},
		{"huge p", sub("p=1$", "p=255$")},
		{"p overflow", sub("p=1$", "p=256$")},
		{"short salt", sub(b64(salt), b64(salt[:7]))},
		{"long salt", sub(b64(salt), b64(bytes.Repeat(salt, 5)))},
		{"short key", sub(b64(key), b64(key[:15]))},
		{"long key", sub(b64(key), b64(bytes.Repeat(key, 5)))},
		{"bad base64", sub(b64(key), "!"+b64(key)[1:])},
		{"padded base64", valid + "="},
		{"url base64", urlSafe},
		{"newline in base64", sub(b64(key), b64(key)[:10]+"\n"+b64(key)[10:])},
		{"trailing bits", sub(b64(key), b64(key)[:len(b64(key))-1]+"d")},
		{"empty salt", sub(b64(salt), "")},
		{"trailing dollar", valid + "$"},
		{"leading space", " " + valid},
		{"very long", valid + strings.Repeat("A", 10000)},
		{"bcrypt cost too high", validBcrypt[:4] + "15" + validBcrypt[6:]},
		{"bcrypt cost out of range", validBcrypt[:4] + "99" + validBcrypt[6:]},
		{"bcrypt bad salt", validBcrypt[:7] + "!!!!" + validBcrypt[11:]},
		{"bcrypt short", validBcrypt[:59]},
		{"bcrypt long", validBcrypt + "A"},
		{"bcrypt 2x", "$2x$" + validBcrypt[4:]},
		{"bcrypt 2", "$2$" + validBcrypt[4:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(context.Background(), tt.enc, pw)
			if ok || rehash || err != nil {
				t.Fatalf("Verify(%q) = %v, %v, %v; want false, false, nil", tt.enc, ok, rehash, err)
			}
		})
	}
}

func TestParamsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    password.Params
		ok   bool
	}{
		{"owasp", password.OWASP(), true},
		{"fast", fast, true},
		{"zero", password.Params{}, false},
		{"no threads", password.Params{Memory: 64, Time: 1, SaltLen: 16, KeyLen: 32}, false},
		{"no time", password.Params{Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{"memory too big", password.Params{Memory: password.MaxMemory + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{"short salt", password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}, false},
		{"short key", password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.p.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", tt.p, err, tt.ok)
			}
		})
	}
}

func TestNewPanicsOnInvalidParams(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("New accepted Time 0")
		}
	}()
	password.New(password.Options{Params: password.Params{Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}})
}
