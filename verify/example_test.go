package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/authstore/auth/verify"
	"github.com/go-jose/go-jose/v4"
)

// exampleAuthstore stands in for authstore: it serves the public half of one
// Ed25519 key at /.well-known/jwks.json and returns a function issuing
// access tokens signed with it.
func exampleAuthstore() (srv *httptest.Server, issue func(sub string) (string, error), err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: pub, KeyID: "key-1", Algorithm: "EdDSA", Use: "sig"},
	}})
	if err != nil {
		return nil, nil, err
	}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=270")
		w.Write(set)
	}))
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: "key-1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"),
	)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	issue = func(sub string) (string, error) {
		now := time.Now()
		claims, err := json.Marshal(map[string]any{
			"iss": "authstore", "aud": "authstore", "sub": sub,
			"iat": now.Unix(), "exp": now.Add(20 * time.Minute).Unix(),
			"jti": "b2f1c7d4-1e0a-4c3b-9a8f-7d6e5c4b3a21", "sid": "session-1",
		})
		if err != nil {
			return "", err
		}
		jws, err := signer.Sign(claims)
		if err != nil {
			return "", err
		}
		return jws.CompactSerialize()
	}
	return srv, issue, nil
}

// A resource server verifies an access token offline against authstore's
// published keys.
func Example() {
	authstore, issue, err := exampleAuthstore()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer authstore.Close()
	accessToken, err := issue("0b6c5a3e-3f4d-4a8e-9c1b-6c0a8e2f7d11")
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background()
	v, err := verify.New(ctx, verify.Config{
		JWKSURL:  authstore.URL + "/.well-known/jwks.json",
		Issuer:   "authstore", // authstore serve --issuer
		Audience: "authstore", // authstore serve --audience
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := v.Verify(ctx, accessToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("user", claims.Subject, "session", claims.SessionID)
	// Output: user 0b6c5a3e-3f4d-4a8e-9c1b-6c0a8e2f7d11 session session-1
}

// Middleware guards a handler: it finds the caller in the request context,
// and requests without a good bearer token never reach it.
func ExampleVerifier_Middleware() {
	authstore, issue, err := exampleAuthstore()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer authstore.Close()
	v, err := verify.New(context.Background(), verify.Config{
		JWKSURL:  authstore.URL + "/.well-known/jwks.json",
		Issuer:   "authstore",
		Audience: "authstore",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	orders := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "orders of %s", claims.Subject)
	}))

	accessToken, err := issue("0b6c5a3e-3f4d-4a8e-9c1b-6c0a8e2f7d11")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, authorization := range []string{"Bearer " + accessToken, "", "Bearer forged"} {
		req := httptest.NewRequest("GET", "/orders", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		orders.ServeHTTP(rec, req)
		var body struct{ Message string }
		if rec.Code != http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &body) == nil {
			fmt.Println(rec.Code, body.Message)
			continue
		}
		fmt.Println(rec.Code, rec.Body)
	}
	// Output:
	// 200 orders of 0b6c5a3e-3f4d-4a8e-9c1b-6c0a8e2f7d11
	// 401 Unauthorised user (empty bearer token)
	// 401 Invalid token
}
