package httpapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"time"
)

// apidocs holds the page of GET /docs, its start-up script and the Swagger
// UI assets (see apidocs/README.md for their version, licence and refresh).
//
//go:embed apidocs/index.html apidocs/init.js apidocs/swagger-ui-bundle.js apidocs/swagger-ui.css
var apidocs embed.FS

// docsCSP is the Content-Security-Policy of the docs page and its assets,
// replacing the API's "default-src 'none'": scripts and styles from this
// origin only (no inline script or style element), images from this origin
// and data: URIs (Swagger UI's CSS icons), and fetches to this origin (the
// document and "Try it out").
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsAssetType returns the media type of an asset served under /docs/,
// and false for a name that is not one.
func docsAssetType(name string) (string, bool) {
	switch name {
	case "swagger-ui-bundle.js", "init.js":
		return "text/javascript; charset=utf-8", true
	case "swagger-ui.css":
		return "text/css; charset=utf-8", true
	}
	return "", false
}

// handleDocs serves GET /docs, an interactive reference of /openapi.json
// rendered by Swagger UI from assets embedded in the binary.
func handleDocs() http.Handler {
	return serveEmbedded("index.html", "text/html; charset=utf-8", "no-cache")
}

// handleDocsAsset serves GET /docs/{asset}: the scripts and style sheet of
// the docs page; any other name is a 404 in the error shape.
func handleDocsAsset(ew errorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("asset")
		ctype, ok := docsAssetType(name)
		if !ok {
			ew.write(w, r, &httpError{status: http.StatusNotFound, message: "Cannot GET " + r.URL.Path})
			return
		}
		serveEmbedded(name, ctype, "public, max-age=3600").ServeHTTP(w, r)
	})
}

// serveEmbedded serves one file of apidocs with the docs page's CSP, with
// ranges and conditional requests on an ETag of its content.
func serveEmbedded(name, ctype, cacheControl string) http.Handler {
	b, err := apidocs.ReadFile("apidocs/" + name)
	if err != nil {
		panic("httpapi: missing embedded " + name) // the embed directive lists every name
	}
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", cacheControl)
		h.Set("Content-Security-Policy", docsCSP)
		h.Set("ETag", etag)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	})
}
