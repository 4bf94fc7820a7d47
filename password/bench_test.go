package password_test

import (
	"context"
	"testing"

	"github.com/authstore/auth/password"
	"golang.org/x/crypto/bcrypt"
)

func BenchmarkHashOWASP(b *testing.B) {
	h := password.New(password.Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyOWASP(b *testing.B) {
	h := password.New(password.Options{})
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, enc, "correct horse battery staple"); !ok || err != nil {
			b.Fatal("verify failed", err)
		}
	}
}

// BenchmarkVerifyUnknown measures Verify of an empty hash, which the service
// uses for unknown logins; it should cost what BenchmarkVerifyOWASP costs.
func BenchmarkVerifyUnknown(b *testing.B) {
	h := password.New(password.Options{})
	ctx := context.Background()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "", "correct horse battery staple"); ok || err != nil {
			b.Fatal("verify of empty hash", ok, err)
		}
	}
}

func BenchmarkVerifyBcrypt10(b *testing.B) {
	h := password.New(password.Options{})
	ctx := context.Background()
	enc, err := bcrypt.GenerateFromPassword([]byte("correct horse battery staple"), 10)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, string(enc), "correct horse battery staple"); !ok || err != nil {
			b.Fatal("verify failed", err)
		}
	}
}
