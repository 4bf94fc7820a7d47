package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// keyTests are the subtests of auth.KeyStore.
func keyTests() []subtest[auth.KeyStore] {
	return []subtest[auth.KeyStore]{
		{"SigningKeys", testSigningKeys},
		{"DuplicateSigningKey", testDuplicateSigningKey},
		{"DuplicateSigningKeySerial", testDuplicateSigningKeySerial},
		{"RemoveSigningKey", testRemoveSigningKey},
	}
}

func testSigningKeys(t *testing.T, s auth.KeyStore) {
	ctx := t.Context()
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys(empty): %v", err)
	}
	if len(keys) != 0 {
		t.Fatalf("SigningKeys(empty) = %d keys, want 0", len(keys))
	}
	mk := func(id, alg string, serial int64, created time.Time) *auth.SigningKey {
		return &auth.SigningKey{
			ID: id, Algorithm: alg, Serial: serial, CreatedAt: created,
			ActivatesAt: created.Add(time.Duration(serial) * time.Minute),
			Private:     []byte("sealed\x00private " + id),
			Public:      []byte(`{"kty":"OKP","kid":"` + id + `"}`),
		}
	}
	// Inserted out of order, and neither ID nor CreatedAt order is Serial
	// order: the store must sort by Serial.
	first := mk("k-b", "ES256", 1, at(3*time.Hour))
	second := mk("k-c", "EdDSA", 2, at(time.Hour))
	third := mk("k-a", "RS256", 3, at(2*time.Hour))
	for _, k := range []*auth.SigningKey{second, third, first} {
		if err := s.CreateSigningKey(ctx, k); err != nil {
			t.Fatalf("CreateSigningKey(%s): %v", k.ID, err)
		}
	}
	keys, err = s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	want := []*auth.SigningKey{first, second, third}
	if len(keys) != len(want) {
		t.Fatalf("SigningKeys = %d keys, want %d", len(keys), len(want))
	}
	for i, w := range want {
		g := keys[i]
		if g.ID != w.ID || g.Serial != w.Serial || g.Algorithm != w.Algorithm ||
			!bytes.Equal(g.Private, w.Private) || !bytes.Equal(g.Public, w.Public) ||
			!sameTime(g.CreatedAt, w.CreatedAt) || !sameTime(g.ActivatesAt, w.ActivatesAt) {
			t.Errorf("SigningKeys[%d] = {%s #%d %s %v %v}, want {%s #%d %s %v %v}", i,
				g.ID, g.Serial, g.Algorithm, g.CreatedAt, g.ActivatesAt,
				w.ID, w.Serial, w.Algorithm, w.CreatedAt, w.ActivatesAt)
		}
	}
}

func testDuplicateSigningKey(t *testing.T, s auth.KeyStore) {
	ctx := t.Context()
	k := &auth.SigningKey{ID: "k1", Serial: 1, Algorithm: "EdDSA", Private: []byte("p"), Public: []byte("{}"), CreatedAt: at(0), ActivatesAt: at(0)}
	if err := s.CreateSigningKey(ctx, k); err != nil {
		t.Fatalf("CreateSigningKey: %v", err)
	}
	dup := &auth.SigningKey{ID: "k1", Serial: 2, Algorithm: "ES256", Private: []byte("q"), Public: []byte("{}"), CreatedAt: at(time.Hour), ActivatesAt: at(time.Hour)}
	if err := s.CreateSigningKey(ctx, dup); !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("CreateSigningKey(duplicate) error = %v, want ErrDuplicate", err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(keys) != 1 || keys[0].Algorithm != "EdDSA" {
		t.Errorf("SigningKeys = %+v, want only the first k1", keys)
	}
}

func testDuplicateSigningKeySerial(t *testing.T, s auth.KeyStore) {
	ctx := t.Context()
	k := &auth.SigningKey{ID: "k1", Serial: 7, Algorithm: "EdDSA", Private: []byte("p"), Public: []byte("{}"), CreatedAt: at(0), ActivatesAt: at(time.Hour)}
	if err := s.CreateSigningKey(ctx, k); err != nil {
		t.Fatalf("CreateSigningKey: %v", err)
	}
	dup := &auth.SigningKey{ID: "k2", Serial: 7, Algorithm: "ES256", Private: []byte("q"), Public: []byte("{}"), CreatedAt: at(time.Minute), ActivatesAt: at(time.Hour)}
	if err := s.CreateSigningKey(ctx, dup); !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("CreateSigningKey(same serial) error = %v, want ErrDuplicate", err)
	}
	next := &auth.SigningKey{ID: "k3", Serial: 8, Algorithm: "ES256", Private: []byte("r"), Public: []byte("{}"), CreatedAt: at(time.Minute), ActivatesAt: at(time.Hour)}
	if err := s.CreateSigningKey(ctx, next); err != nil {
		t.Fatalf("CreateSigningKey(next serial): %v", err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if len(keys) != 2 || keys[0].ID != "k1" || keys[1].ID != "k3" {
		t.Errorf("SigningKeys = %+v, want k1 and k3", keys)
	}
}

func testRemoveSigningKey(t *testing.T, s auth.KeyStore) {
	ctx := t.Context()
	for i, id := range []string{"k1", "k2", "k3"} {
		k := &auth.SigningKey{ID: id, Serial: int64(i + 1), Algorithm: "EdDSA", Private: []byte("p"), Public: []byte("{}"), CreatedAt: at(0), ActivatesAt: at(0)}
		if err := s.CreateSigningKey(ctx, k); err != nil {
			t.Fatalf("CreateSigningKey(%s): %v", id, err)
		}
	}
	// A created key with the removal times set keeps them.
	pre := &auth.SigningKey{ID: "k4", Serial: 4, Algorithm: "EdDSA", Private: []byte("p"), Public: []byte("{}"),
		CreatedAt: at(0), ActivatesAt: at(0), RemovedAt: at(time.Minute), RefusedAt: at(time.Minute)}
	if err := s.CreateSigningKey(ctx, pre); err != nil {
		t.Fatalf("CreateSigningKey(k4): %v", err)
	}
	steps := []struct {
		id     string
		at     time.Time
		refuse bool
	}{
		{"k1", at(time.Hour), false},
		{"k1", at(2 * time.Hour), true},  // keeps the first removal, refuses now
		{"k1", at(3 * time.Hour), true},  // changes nothing
		{"k2", at(4 * time.Hour), true},  // both at once
		{"k4", at(5 * time.Hour), false}, // keeps both
	}
	for _, st := range steps {
		if err := s.RemoveSigningKey(ctx, st.id, st.at, st.refuse); err != nil {
			t.Fatalf("RemoveSigningKey(%s, %v): %v", st.id, st.refuse, err)
		}
	}
	if err := s.RemoveSigningKey(ctx, "nope", at(time.Hour), true); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RemoveSigningKey(unknown) = %v, want ErrNotFound", err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	want := []struct{ removed, refused time.Time }{
		{at(time.Hour), at(2 * time.Hour)},
		{at(4 * time.Hour), at(4 * time.Hour)},
		{},
		{at(time.Minute), at(time.Minute)},
	}
	if len(keys) != len(want) {
		t.Fatalf("SigningKeys = %d keys, want %d", len(keys), len(want))
	}
	for i, w := range want {
		if !sameTime(keys[i].RemovedAt, w.removed) || !sameTime(keys[i].RefusedAt, w.refused) {
			t.Errorf("key %s removed, refused = %v, %v; want %v, %v", keys[i].ID, keys[i].RemovedAt, keys[i].RefusedAt, w.removed, w.refused)
		}
	}
}
