package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/authstore/auth/httpapi"
)

// TestDocsPage checks GET /docs and every asset it references: served with
// their media types and the docs page's CSP (scripts and styles from 'self'
// only), every reference relative to this origin, and documented in
// openapi.json.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	page := hs.get("/docs")
	if page.status != http.StatusOK {
		t.Fatalf("GET /docs: %d %s", page.status, page.body)
	}
	if ct := page.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	checkDocsCSP(t, "/docs", page.header.Get("Content-Security-Policy"))

	// Every src and href but the empty data: icon (which spares a
	// request for /favicon.ico).
	var refs []string
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(page.body), -1) {
		if m[1] != "data:," {
			refs = append(refs, m[1])
		}
	}
	want := map[string]string{ // the page's references and their media types
		"docs/swagger-ui.css":       "text/css; charset=utf-8",
		"docs/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
		"docs/init.js":              "text/javascript; charset=utf-8",
	}
	if len(refs) != len(want) {
		t.Errorf("the page references %d assets, want %d: %q", len(refs), len(want), refs)
	}
	base, _ := url.Parse("http://authstore.test/docs")
	for _, r := range refs {
		ref, err := url.Parse(r)
		if err != nil || ref.IsAbs() || ref.Host != "" || strings.HasPrefix(r, "//") {
			t.Errorf("asset URL %q points off-site", r)
			continue
		}
		ctype, ok := want[r]
		if !ok {
			t.Errorf("unexpected asset %q", r)
			continue
		}
		path := base.ResolveReference(ref).Path
		ex := hs.get(path)
		if ex.status != http.StatusOK || len(ex.body) == 0 {
			t.Errorf("GET %s: %d", path, ex.status)
			continue
		}
		if got := ex.header.Get("Content-Type"); got != ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, ctype)
		}
		if ex.header.Get("ETag") == "" || ex.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: ETag %q, X-Content-Type-Options %q", path, ex.header.Get("ETag"), ex.header.Get("X-Content-Type-Options"))
		}
		checkDocsCSP(t, path, ex.header.Get("Content-Security-Policy"))
	}

	// The start-up script loads the document from this origin only.
	init := hs.get("/docs/init.js")
	if !strings.Contains(string(init.body), "url: 'openapi.json'") || strings.Contains(string(init.body), "://") {
		t.Errorf("init.js does not load the relative openapi.json, or names another origin:\n%s", init.body)
	}

	// Any other name is a 404 in the error shape, and the API keeps its CSP.
	for _, p := range []string{"/docs/index.html", "/docs/LICENSE", "/docs/..%2fopenapi.json", "/docs/README.md"} {
		ex := hs.do(t, "GET", p, payload{}, nil)
		if ex.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, ex.status)
			continue
		}
		ex.errorBody(t)
	}
	api := hs.do(t, "GET", "/healthz", payload{}, nil)
	if got := api.header.Get("Content-Security-Policy"); got != "default-src 'none'; frame-ancestors 'none'" {
		t.Errorf("the API's CSP changed: %q", got)
	}
}

// checkDocsCSP fails unless csp lets the page run only its own scripts and
// styles: no inline code, no other origin, no framing.
func checkDocsCSP(t *testing.T, path, csp string) {
	t.Helper()
	directives := map[string]string{}
	for d := range strings.SplitSeq(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for name, want := range map[string]string{
		"default-src": "'none'", "script-src": "'self'", "style-src": "'self'",
		"connect-src": "'self'", "frame-ancestors": "'none'",
	} {
		if directives[name] != want {
			t.Errorf("GET %s: CSP %s %q, want %q (CSP %q)", path, name, directives[name], want, csp)
		}
	}
}

// get answers GET path without checking the answer against openapi.json,
// whose validator decodes no HTML, CSS or JavaScript.
func (hs *harness) get(path string) exchange {
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return exchange{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
}
