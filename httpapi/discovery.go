package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// DiscoveryPath is where the OpenID Connect discovery document is served.
const DiscoveryPath = "/.well-known/openid-configuration"

// jwksPath is where the JWK Set is served, relative to the issuer.
const jwksPath = "/.well-known/jwks.json"

// discoverable reports whether issuer can anchor a discovery document: an
// absolute http or https URL without query or fragment (OpenID Connect
// Discovery 1.0, section 3), so that <issuer>/.well-known/... are URLs too.
func discoverable(issuer string) bool {
	u, err := url.Parse(issuer)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery
}

// discovery is the OpenID Connect discovery document. authstore is not an
// OpenID Provider: it has no authorization or token endpoint and issues no
// ID tokens. The document exists so that libraries which find keys through
// discovery can verify its access tokens from the issuer URL alone; the
// required fields that describe an authorization endpoint hold the values
// Kubernetes' service-account issuer discovery uses for the same purpose.
type discovery struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
}

// handleDiscovery serves GET /.well-known/openid-configuration for issuer,
// which must be discoverable. The signing algorithms are those of the keys
// in the JWK Set that jwks returns at each request, sorted; the answer is
// cacheable like the JWK Set, since it changes with it.
func handleDiscovery(issuer string, jwks func() []byte, cacheControl string) http.Handler {
	base := strings.TrimSuffix(issuer, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cacheControl)
		encode(w, http.StatusOK, discovery{
			Issuer:                           issuer,
			JWKSURI:                          base + jwksPath,
			ResponseTypesSupported:           []string{"id_token"},
			SubjectTypesSupported:            []string{"public"},
			IDTokenSigningAlgValuesSupported: jwksAlgs(jwks()),
		})
	})
}

// jwksAlgs returns the distinct "alg" values of the keys of a JWK Set,
// sorted; an empty (not nil) slice if there are none or the set does not
// parse.
func jwksAlgs(set []byte) []string {
	var v struct {
		Keys []struct {
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	algs := []string{}
	if json.Unmarshal(set, &v) != nil {
		return algs
	}
	for _, k := range v.Keys {
		if k.Alg != "" && !slices.Contains(algs, k.Alg) {
			algs = append(algs, k.Alg)
		}
	}
	slices.Sort(algs)
	return algs
}
