package password_test

import (
	"context"
	"testing"
)

func FuzzVerify(f *testing.F) {
	seeds := []struct{ enc, pw string }{
		{"", ""},
		{"$argon2id$", "pw"},
		{"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "password"},
		{"$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "pw"},
		{"$argon2id$v=19$m=4294967295,t=4294967295,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "pw"},
		{"$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "password"},
		{"$2a$04$abcdefghijklmnopqrstuuPqYV1Z5q0mpG7ssB7hUZ7ewp9JPZ5vu", "pw"},
		{"$2b$99$abcdefghijklmnopqrstuuPqYV1Z5q0mpG7ssB7hUZ7ewp9JPZ5vu", "pw"},
		{"$2y$04$!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "pw"},
	}
	for _, s := range seeds {
		f.Add(s.enc, s.pw)
	}
	h := newFast(f)
	f.Fuzz(func(t *testing.T, enc, pw string) {
		ok, rehash, err := h.Verify(context.Background(), enc, pw)
		if err != nil {
			t.Fatalf("Verify(%q) error %v", enc, err)
		}
		if rehash && !ok {
			t.Fatalf("Verify(%q) asks a rehash of a mismatch", enc)
		}
	})
}
