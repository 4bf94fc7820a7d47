package auth_test

import (
	"testing"

	"github.com/authstore/auth"
)

func TestFold(t *testing.T) {
	tests := []struct{ a, b string }{
		{"Alice", "aLICE"},
		{"  alice\t", "alice"},
		{"ΟΔΟΣ", "οδος"},
		{"οδος", "οδοσ"},
		{"STRASSE", "straße"},
		{"caf\u00e9", "CAFE\u0301"}, // composed and decomposed é
		{"Evgeny@Example.COM", "evgeny@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.a, func(t *testing.T) {
			if ka, kb := auth.Fold(tt.a), auth.Fold(tt.b); ka != kb {
				t.Errorf("Fold(%q) = %q, Fold(%q) = %q; want one key", tt.a, ka, tt.b, kb)
			}
		})
	}
	if auth.Fold("alice") == auth.Fold("alicE1") {
		t.Error("different logins must not share a key")
	}
}
