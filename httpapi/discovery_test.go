package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/authstore/auth/httpapi"
)

// TestDiscovery checks the OpenID Connect discovery document: served only
// when the issuer is a URL, naming the JWK Set under the issuer, the
// algorithms of the keys in that set, and matching openapi.json.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		issuer, wantJWKS string
	}{
		{"https://auth.example.com", "https://auth.example.com/.well-known/jwks.json"},
		{"https://example.com/auth/", "https://example.com/auth/.well-known/jwks.json"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/.well-known/jwks.json"},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t, httpapi.Config{Issuer: tc.issuer})
			ex := hs.do(t, "GET", httpapi.DiscoveryPath, payload{}, nil)
			if ex.status != http.StatusOK {
				t.Fatalf("status %d: %s", ex.status, ex.body)
			}
			var doc struct {
				Issuer        string   `json:"issuer"`
				JWKSURI       string   `json:"jwks_uri"`
				Algs          []string `json:"id_token_signing_alg_values_supported"`
				SubjectTypes  []string `json:"subject_types_supported"`
				ResponseTypes []string `json:"response_types_supported"`
			}
			if err := json.Unmarshal(ex.body, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Issuer != tc.issuer || doc.JWKSURI != tc.wantJWKS {
				t.Errorf("issuer %q, jwks_uri %q; want %q, %q", doc.Issuer, doc.JWKSURI, tc.issuer, tc.wantJWKS)
			}
			if !slices.Equal(doc.Algs, []string{"EdDSA"}) {
				t.Errorf("id_token_signing_alg_values_supported %q, want [EdDSA] (the harness's key)", doc.Algs)
			}
			if !slices.Equal(doc.SubjectTypes, []string{"public"}) || len(doc.ResponseTypes) == 0 {
				t.Errorf("subject_types_supported %q, response_types_supported %q", doc.SubjectTypes, doc.ResponseTypes)
			}
			if got := ex.header.Get("Cache-Control"); got != "public, max-age=270" {
				t.Errorf("Cache-Control %q, want the JWKS's", got)
			}
		})
	}
}

// TestDiscoveryNeedsAnIssuerURL checks that an issuer which is not an
// absolute http(s) URL, such as the default "authstore", serves no
// discovery document, since it could name no JWK Set URL.
func TestDiscoveryNeedsAnIssuerURL(t *testing.T) {
	t.Parallel()
	for _, issuer := range []string{"", "authstore", "/relative", "ftp://x", "https://x?q=1", "https://"} {
		h := newHarness(t, httpapi.Config{Issuer: issuer}).h
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", httpapi.DiscoveryPath, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("issuer %q: status %d, want 404", issuer, rec.Code)
		}
	}
}
