package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/sqlstore"
	"github.com/authstore/auth/token"
)

// fixedNow is the clock of error timestamps in these tests.
var fixedNow = time.Date(2026, 11, 27, 22, 5, 13, 0, time.UTC)

const fixedTimestamp = "2026-11-27T22:05:13.000Z"

// lockedBuffer is an io.Writer safe for the concurrent writes of a logger.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a real server over a real service and a fresh SQLite database,
// with its log captured and every exchange checked against openapi.json.
type harness struct {
	h      http.Handler
	logs   *lockedBuffer
	router routers.Router
	db     *sqlstore.DB
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newService wires the real packages with hashing parameters small enough
// for tests. logger receives the service's audit log; change, if given,
// edits the Config before the Service is built.
func newService(t testing.TB, logger *slog.Logger, change ...func(*auth.Config)) (*auth.Service, *token.Keys, *sqlstore.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, t.TempDir()+"/auth.db", sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, err := token.NewSealer(randomBytes(t, token.SealerKeySize))
	if err != nil {
		t.Fatalf("sealer: %v", err)
	}
	ring, err := token.LoadKeys(ctx, token.KeysConfig{Store: db, Sealer: sealer, Algorithm: token.EdDSA})
	if err != nil {
		t.Fatalf("key ring: %v", err)
	}
	hasher := password.New(password.Options{
		Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	})
	svcCfg := auth.Config{
		Store:             db,
		Signer:            ring,
		Hasher:            hasher,
		RefreshKey:        randomBytes(t, 32),
		Issuer:            "http://test",
		AccessTTL:         20 * time.Minute,
		RefreshTTL:        720 * time.Hour,
		RefreshGrace:      10 * time.Second,
		PasswordMaxLength: 128,
		Logger:            logger,
	}
	for _, c := range change {
		c(&svcCfg)
	}
	svc, err := auth.NewService(svcCfg)
	if err != nil {
		t.Fatalf("service: %v", err)
	}
	return svc, ring, db
}

// newHarness returns a harness whose server uses cfg with the logger, JWKS
// and clock filled in; change, if given, edits the service's Config.
func newHarness(t *testing.T, cfg httpapi.Config, change ...func(*auth.Config)) *harness {
	t.Helper()
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, ring, db := newService(t, logger, change...)
	cfg.Logger = logger
	cfg.JWKS = ring.JWKS
	if cfg.JWKSMaxAge == 0 {
		cfg.JWKSMaxAge = 270 * time.Second
	}
	cfg.Now = func() time.Time { return fixedNow }
	hs := &harness{h: httpapi.NewServer(cfg, svc), logs: logs, db: db}

	// The document is the one the server serves.
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", rec.Code)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	hs.router, err = gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return hs
}

// payload is a request body with its Content-Type.
type payload struct {
	ctype string
	body  string
}

func jsonBody(s string) payload { return payload{"application/json", s} }

// formBody encodes name, value pairs as urlencoded; a name may repeat.
func formBody(kv ...string) payload {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return payload{"application/x-www-form-urlencoded", v.Encode()}
}

// multipartBody encodes name, value pairs as multipart form fields; a name
// may repeat. A name of the form "file:NAME" becomes a file part.
func multipartBody(kv ...string) payload {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.SetBoundary("authstore-test-boundary")
	for i := 0; i+1 < len(kv); i += 2 {
		if name, ok := strings.CutPrefix(kv[i], "file:"); ok {
			fw, _ := w.CreateFormFile(name, "a.txt")
			io.WriteString(fw, kv[i+1])
			continue
		}
		w.WriteField(kv[i], kv[i+1])
	}
	w.Close()
	return payload{w.FormDataContentType(), b.String()}
}

// exchange is one request and its answer.
type exchange struct {
	status int
	header http.Header
	body   []byte
}

// errorBody decodes an error answer; it fails the test if the body is not in
// the error shape.
func (e exchange) errorBody(t *testing.T) (statusCode int, messages []string, timestamp, path string) {
	t.Helper()
	var b struct {
		StatusCode *int            `json:"statusCode"`
		Message    json.RawMessage `json:"message"`
		Timestamp  *string         `json:"timestamp"`
		Path       *string         `json:"path"`
	}
	if err := json.Unmarshal(e.body, &b); err != nil || b.StatusCode == nil || b.Timestamp == nil || b.Path == nil || b.Message == nil {
		t.Fatalf("not the error shape: %s", e.body)
	}
	var one string
	if err := json.Unmarshal(b.Message, &one); err == nil {
		messages = []string{one}
	} else if err := json.Unmarshal(b.Message, &messages); err != nil {
		t.Fatalf("message is neither a string nor an array of strings: %s", b.Message)
	}
	return *b.StatusCode, messages, *b.Timestamp, *b.Path
}

// tokens decodes a 200 TokensDetails answer.
func (e exchange) tokens(t *testing.T) (access, refresh string) {
	t.Helper()
	var b struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if e.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", e.status, e.body)
	}
	if err := json.Unmarshal(e.body, &b); err != nil || b.AccessToken == "" || b.RefreshToken == "" {
		t.Fatalf("not TokensDetails: %s", e.body)
	}
	return b.AccessToken, b.RefreshToken
}

// do sends one request to the server and checks the exchange against
// openapi.json: a request the server accepts (2xx) must be one the document
// accepts, every answer must be documented for its route and status, and a
// method or path the document does not know must be a 405 or 404.
func (hs *harness) do(t *testing.T, method, target string, p payload, header map[string]string) exchange {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(p.body))
	if p.ctype != "" {
		req.Header.Set("Content-Type", p.ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, req)
	res := rec.Result()
	ex := exchange{status: res.StatusCode, header: res.Header, body: rec.Body.Bytes()}
	hs.checkDoc(t, method, target, p, header, ex)
	return ex
}

// checkDoc validates one exchange against the document.
func (hs *harness) checkDoc(t *testing.T, method, target string, p payload, header map[string]string, ex exchange) {
	t.Helper()
	if method == http.MethodOptions {
		return // CORS preflights are answered by middleware on every path
	}
	req := httptest.NewRequest(method, target, strings.NewReader(contentOf(p.body, header["Content-Encoding"])))
	if p.ctype != "" {
		req.Header.Set("Content-Type", p.ctype)
	}
	for k, v := range header {
		if k != "Content-Encoding" {
			req.Header.Set(k, v)
		}
	}
	// The document names each path in its canonical form; the server
	// matches any case and one trailing slash, as Express does.
	// A percent-escape is not decoded for matching.
	if p := strings.ToLower(req.URL.EscapedPath()); len(p) > 1 {
		req.URL.Path, req.URL.RawPath = strings.TrimSuffix(p, "/"), ""
	}
	route, params, err := hs.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		if ex.status != http.StatusNotFound {
			t.Errorf("openapi.json has no path %s, but the server answered %d", req.URL.Path, ex.status)
		}
		return
	case errors.Is(err, routers.ErrMethodNotAllowed):
		if ex.status != http.StatusMethodNotAllowed {
			t.Errorf("openapi.json has no %s %s, but the server answered %d", method, req.URL.Path, ex.status)
		}
		return
	case err != nil:
		t.Fatalf("find route %s %s: %v", method, target, err)
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	ctx := context.Background()
	if ex.status >= 200 && ex.status < 300 {
		if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
			t.Errorf("the server accepted a request openapi.json refuses: %v", err)
		}
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 ex.status,
		Header:                 ex.header,
		Body:                   io.NopCloser(bytes.NewReader(ex.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	})
	if err != nil {
		t.Errorf("answer %d to %s %s does not match openapi.json: %v", ex.status, method, req.URL.Path, err)
	}
}

// signupBody is a valid CreateUserDto for login tag.
func signupBody(tag string) payload {
	return jsonBody(`{"firstName":"Evgeny","lastName":"Smirnov","login":"` + tag +
		`","email":"` + tag + `@example.com","password":"correct horse battery"}`)
}

// contentOf is body as the document describes it: inflated per encoding
// (gzip, deflate), without a leading byte order mark. A body that does not
// inflate is returned as it is.
func contentOf(body, encoding string) string {
	var r io.Reader
	var err error
	switch strings.ToLower(encoding) {
	case "gzip":
		r, err = gzip.NewReader(strings.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(strings.NewReader(body))
	}
	if r != nil && err == nil {
		if b, err := io.ReadAll(io.LimitReader(r, 1<<20)); err == nil {
			body = string(b)
		}
	}
	return strings.TrimPrefix(body, "\uFEFF")
}
