package main

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestDiscoveryVerifiesWithGoOIDC runs the server with --issuer set to its
// own URL, as a deployment does, and has a standard OpenID Connect library
// (coreos/go-oidc) verify a signed-in user's access token from the issuer
// URL alone: discovery, then the JWK Set it names, for each signing
// algorithm.
func TestDiscoveryVerifiesWithGoOIDC(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			// The issuer must be known before the server listens: take a
			// free port and give it back.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := ln.Addr().(*net.TCPAddr).Port
			ln.Close()
			addr := "127.0.0.1:" + strconv.Itoa(port)
			issuer := "http://" + addr
			s := startServer(t, nil, "--addr", addr, "--db", t.TempDir()+"/auth.db",
				"--issuer", issuer, "--audience", "shop", "--signing-alg", alg)

			res := s.post(t, "/auth/signup", map[string]string{"firstName": "Ada", "lastName": "Lovelace",
				"login": "ada", "email": "ada@example.com", "password": "correct horse battery"})
			res.want(t, 200, "")
			access := res.str("access_token")

			ctx := context.Background()
			provider, err := oidc.NewProvider(ctx, issuer)
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			var algs struct {
				Algs []string `json:"id_token_signing_alg_values_supported"`
			}
			if err := provider.Claims(&algs); err != nil || len(algs.Algs) != 1 || algs.Algs[0] != alg {
				t.Errorf("id_token_signing_alg_values_supported %q (%v), want [%s]", algs.Algs, err, alg)
			}
			tok, err := provider.Verifier(&oidc.Config{ClientID: "shop"}).Verify(ctx, access)
			if err != nil {
				t.Fatalf("go-oidc refused the access token: %v", err)
			}
			if tok.Issuer != issuer || tok.Subject == "" {
				t.Errorf("iss %q sub %q", tok.Issuer, tok.Subject)
			}
			// The same verifier refuses a token for another audience.
			if _, err := provider.Verifier(&oidc.Config{ClientID: "other"}).Verify(ctx, access); err == nil {
				t.Error("go-oidc accepted a token for another audience")
			}
		})
	}
}
