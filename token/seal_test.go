package token_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/authstore/auth/token"
)

func newSealer(t testing.TB, fill byte) *token.Sealer {
	t.Helper()
	s, err := token.NewSealer(bytes.Repeat([]byte{fill}, token.SealerKeySize))
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	return s
}

func TestNewSealerKeySize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := token.NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer(%d bytes): no error", n)
		}
	}
	if _, err := token.NewSealer(make([]byte, 32)); err != nil {
		t.Errorf("NewSealer(32 bytes): %v", err)
	}
}

func TestSealRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	for _, plain := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("secret"), 500)} {
		sealed, err := s.Seal(plain, []byte("kid-1"))
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if len(plain) > 4 && bytes.Contains(sealed, plain[:5]) {
			t.Errorf("sealed blob contains plaintext")
		}
		got, err := s.Open(sealed, []byte("kid-1"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("Open = %q, want %q", got, plain)
		}
	}
}

func TestSealFreshNonce(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	a, _ := s.Seal([]byte("same"), nil)
	b, _ := s.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext are equal")
	}

	// An injected Rand decides the nonce.
	s.Rand = bytes.NewReader(make([]byte, 24))
	c, _ := s.Seal([]byte("same"), nil)
	d, _ := s.Seal([]byte("same"), nil)
	if !bytes.Equal(c, d) {
		t.Error("seals with the same injected nonce differ")
	}
	if _, err := s.Seal([]byte("same"), nil); err == nil {
		t.Error("Seal with an exhausted Rand: no error")
	}
}

func TestOpenFails(t *testing.T) {
	t.Parallel()
	s := newSealer(t, 1)
	other := newSealer(t, 2)
	sealed, err := s.Seal([]byte("private key bytes"), []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		sealer *token.Sealer
		blob   []byte
		ad     string
	}{
		{"other key", other, sealed, "kid-1"},
		{"other additional data", s, sealed, "kid-2"},
		{"no additional data", s, sealed, ""},
		{"version flipped", s, flip(0), "kid-1"},
		{"nonce flipped", s, flip(1), "kid-1"},
		{"ciphertext flipped", s, flip(14), "kid-1"},
		{"tag flipped", s, flip(len(sealed) - 1), "kid-1"},
		{"truncated", s, sealed[:len(sealed)-1], "kid-1"},
		{"too short", s, sealed[:20], "kid-1"},
		{"empty", s, nil, "kid-1"},
		{"appended", s, append(bytes.Clone(sealed), 0), "kid-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.sealer.Open(tt.blob, []byte(tt.ad))
			if !errors.Is(err, token.ErrOpen) {
				t.Errorf("Open err = %v, want ErrOpen", err)
			}
			if got != nil {
				t.Errorf("Open returned %d bytes with an error", len(got))
			}
		})
	}
}
