package token_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/token"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// hmacSecret is a 32-byte shared secret, as an operator would type it.
const hmacSecret = "the store's shared secret, 32+ b"

func mustHMAC(t *testing.T, secret string, now func() time.Time) *token.HMAC {
	t.Helper()
	h, err := token.NewHMAC([]byte(secret), now)
	if err != nil {
		t.Fatalf("NewHMAC: %v", err)
	}
	return h
}

// macToken returns header.payload.MAC under key with HMAC-SHA256, built by
// hand, for tokens the package would never issue.
func macToken(header, payload string, key []byte) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return input + "." + enc.EncodeToString(m.Sum(nil))
}

func TestHMACSignVerify(t *testing.T) {
	t.Parallel()
	h := mustHMAC(t, hmacSecret, fixedNow(t0))
	c := sampleClaims()
	tok, err := h.Sign(context.Background(), c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	parts := strings.Split(tok, ".")
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || string(header) != `{"alg":"HS256","typ":"JWT"}` {
		t.Errorf("header = %s (%v), want exactly {\"alg\":\"HS256\",\"typ\":\"JWT\"}", header, err)
	}

	// Plain HMAC-SHA256 of the signing input under the secret's bytes, as
	// any HS256 library computes it.
	m := hmac.New(sha256.New, []byte(hmacSecret))
	m.Write([]byte(parts[0] + "." + parts[1]))
	if want := base64.RawURLEncoding.EncodeToString(m.Sum(nil)); parts[2] != want {
		t.Errorf("signature is not HMAC-SHA256 of the signing input under the secret")
	}

	// go-jose, independently, with the secret.
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatalf("ParseSigned: %v", err)
	}
	raw := map[string]any{}
	if err := parsed.Claims([]byte(hmacSecret), &raw); err != nil {
		t.Fatalf("go-jose refuses the token with the secret: %v", err)
	}
	want := map[string]any{
		"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience, "jti": c.ID, "sid": c.SessionID,
		"iat": float64(c.IssuedAt.Unix()), "exp": float64(c.ExpiresAt.Unix()),
	}
	if fmt.Sprint(raw["amr"]) != "[pwd otp]" {
		t.Errorf("amr = %v, want [pwd otp]", raw["amr"])
	}
	delete(raw, "amr")
	if len(raw) != len(want) {
		t.Errorf("claims = %v, want %v", raw, want)
	}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("claim %s = %v, want %v", k, raw[k], v)
		}
	}
	if err := parsed.Claims([]byte(strings.Repeat("x", 32)), &raw); err == nil {
		t.Error("go-jose accepts the token under another secret")
	}

	got, err := h.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("Verify = %+v, want %+v", got, c)
	}
	if !bytes.Equal(h.JWKS(), []byte(`{"keys":[]}`)) {
		t.Errorf("JWKS = %s, want {\"keys\":[]}", h.JWKS())
	}
}

func TestNewHMACSecretLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret string
		ok     bool
	}{
		{"missing", "", false},
		{"31 bytes", strings.Repeat("s", 31), false},
		{"32 bytes", strings.Repeat("s", 32), true},
		{"64 bytes", strings.Repeat("s", 64), true},
	}
	for _, tt := range tests {
		_, err := token.NewHMAC([]byte(tt.secret), nil)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
			t.Errorf("%s: the error quotes the secret", tt.name)
		}
	}
}

// TestHMACAlgConfusion: in HS256 mode only HS256 tokens MACed with the
// secret pass, and outside it no HS256 token passes, whatever its key.
func TestHMACAlgConfusion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &clock{t: t0}
	h := mustHMAC(t, hmacSecret, clk.Now)
	payload, err := json.Marshal(map[string]any{"iss": "https://auth.example", "sub": "u", "exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix()})
	if err != nil {
		t.Fatal(err)
	}

	// Asymmetric tokens, each verifying with its own Keys, never pass HMAC.
	for _, alg := range token.Algorithms() {
		keys := mustKeys(t, token.KeysConfig{Store: &memStore{}, Sealer: newSealer(t, 1), Algorithm: alg, Now: clk.Now, Retention: time.Hour})
		tok := sign(t, keys, t0)
		if _, err := keys.Verify(ctx, tok); err != nil {
			t.Fatalf("%s: Keys.Verify of its own token: %v", alg, err)
		}
		if _, err := h.Verify(ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("HMAC.Verify of an %s token: %v, want ErrInvalidToken", alg, err)
		}

		// The classic confusion: an HS256 token whose MAC key is the
		// published public JWK (or the secret itself), with the key's kid.
		kid := jwksKIDs(t, keys.JWKS())[0]
		pub := keyPublic(t, keys, kid)
		for name, key := range map[string][]byte{"the public JWK": pub, "the secret": []byte(hmacSecret)} {
			forged := macToken(`{"alg":"HS256","kid":"`+kid+`","typ":"at+jwt"}`, string(payload), key)
			if _, err := keys.Verify(ctx, forged); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("%s: Keys.Verify of HS256 MACed with %s: %v, want ErrInvalidToken", alg, name, err)
			}
		}
		own, err := h.Sign(ctx, sampleClaims())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := keys.Verify(ctx, own); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: Keys.Verify of an HMAC-signed token: %v, want ErrInvalidToken", alg, err)
		}
	}

	good := macToken(`{"alg":"HS256","typ":"JWT"}`, string(payload), []byte(hmacSecret))
	tests := []struct {
		name string
		tok  string
		at   time.Time
		want error
	}{
		{"good", good, t0, nil},
		{"good, with a kid", macToken(`{"alg":"HS256","kid":"x","typ":"JWT"}`, string(payload), []byte(hmacSecret)), t0, nil},
		{"expired", good, t0.Add(time.Hour), auth.ErrTokenExpired},
		{"another secret", macToken(`{"alg":"HS256","typ":"JWT"}`, string(payload), []byte(strings.Repeat("x", 32))), t0, auth.ErrInvalidToken},
		{"typ at+jwt", macToken(`{"alg":"HS256","typ":"at+jwt"}`, string(payload), []byte(hmacSecret)), t0, auth.ErrInvalidToken},
		{"no typ", macToken(`{"alg":"HS256"}`, string(payload), []byte(hmacSecret)), t0, auth.ErrInvalidToken},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + strings.Split(good, ".")[1] + ".", t0, auth.ErrInvalidToken},
		{"tampered payload", strings.Split(good, ".")[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","exp":9999999999}`)) + "." + strings.Split(good, ".")[2], t0, auth.ErrInvalidToken},
		{"padded signature", good + "=", t0, auth.ErrInvalidToken},
	}
	for _, tt := range tests {
		clk.Set(tt.at)
		_, err := h.Verify(ctx, tt.tok)
		if (tt.want == nil && err != nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}
