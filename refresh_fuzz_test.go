package auth

// An internal test: the refresh-token codec is unexported, and fuzzing it
// through Service.Refresh would spend most of each run in the database.

import "testing"

// fuzzRefreshKey is the MAC key of the fuzzed codec.
const fuzzRefreshKey = "fuzz refresh key, 32 bytes long!"

// FuzzRefreshToken checks the refresh-token parser on any input: it never
// panics; a token it accepts re-encodes to exactly the same string; a token
// it mints from any session id and generation is accepted exactly when the
// generation is in 1..2^62; and that token with any one byte changed is
// refused.
func FuzzRefreshToken(f *testing.F) {
	c := newRefreshCodec([]byte(fuzzRefreshKey))
	other := newRefreshCodec([]byte("another refresh key, 32 bytes!!!"))
	valid := c.encode("0f8fad5b-d9cb-469f-a165-70867728950e", 1)
	seeds := []struct {
		token string
		id    []byte
		gen   uint64
		pos   uint8
		b     byte
	}{
		{valid, []byte("0123456789abcdef"), 1, 0, 'A'},
		{c.encode("00000000-0000-0000-0000-000000000000", 1<<62), make([]byte, 16), 1 << 62, 74, 'B'},
		{valid[:len(valid)-1] + "B", []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), 0, 74, 'A'},
		{valid + "=", nil, 1<<62 + 1, 37, '-'},
		{valid[:40] + "+" + valid[41:], []byte("short"), 1<<64 - 1, 40, '_'},
		{"", nil, 2, 0, 0},
		{"nonsense", nil, 3, 200, 0xff},
		{"eyJhbGciOiJFZERTQSJ9.e30.c2ln", nil, 4, 1, '.'},
	}
	for _, s := range seeds {
		f.Add(s.token, s.id, s.gen, s.pos, s.b)
	}
	f.Fuzz(func(t *testing.T, token string, idBytes []byte, gen uint64, pos uint8, b byte) {
		// Any input: no panic, and acceptance means the canonical spelling.
		if id, g, ok := c.decode(token); ok {
			if again := c.encode(id, g); again != token {
				t.Fatalf("decode(%q) = %s, %d, which encodes to %q", token, id, g, again)
			}
		}

		// A token minted for a fuzzed session id and generation.
		var raw [refreshIDLen]byte
		copy(raw[:], idBytes)
		id := formatUUID(raw[:])
		tok := c.encode(id, int64(gen))
		if len(tok) != refreshTokenLen {
			t.Fatalf("encode(%s, %d) has length %d, want %d", id, gen, len(tok), refreshTokenLen)
		}
		gotID, gotGen, ok := c.decode(tok)
		wantOK := gen >= 1 && gen <= 1<<62
		if ok != wantOK {
			t.Fatalf("decode(encode(%s, %d)) ok = %v, want %v", id, gen, ok, wantOK)
		}
		if ok && (gotID != id || uint64(gotGen) != gen) {
			t.Fatalf("decode(encode(%s, %d)) = %s, %d", id, gen, gotID, gotGen)
		}

		// The same token with one byte changed, to any other byte.
		i := int(pos) % len(tok)
		if tok[i] == b {
			b ^= 1
		}
		changed := tok[:i] + string([]byte{b}) + tok[i+1:]
		if _, _, ok := c.decode(changed); ok {
			t.Fatalf("decode accepted %q, %q with byte %d changed", changed, tok, i)
		}

		// Another key refuses what this one minted.
		if _, _, ok := other.decode(tok); ok {
			t.Fatalf("a token minted under one key was accepted under another")
		}
	})
}

// A token whose generation is outside 1..2^62 is refused even under a valid
// MAC.
func TestRefreshTokenGenerationBounds(t *testing.T) {
	c := newRefreshCodec([]byte(fuzzRefreshKey))
	id := "0f8fad5b-d9cb-469f-a165-70867728950e"
	tests := []struct {
		gen uint64
		ok  bool
	}{
		{0, false}, {1, true}, {1 << 62, true}, {1<<62 + 1, false}, {1<<64 - 1, false},
	}
	for _, tt := range tests {
		if _, g, ok := c.decode(c.encode(id, int64(tt.gen))); ok != tt.ok || (ok && uint64(g) != tt.gen) {
			t.Errorf("generation %d: decode = %d, %v; want ok=%v", tt.gen, g, ok, tt.ok)
		}
	}
}
