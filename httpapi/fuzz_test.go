package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/sqlstore"
)

// The fuzz targets post fuzzed bodies through the real handler and service
// on a real SQLite database. The access-token signer is a stub: signing is
// not under test, and the token package has fuzz targets of its own.

// fuzzRoutes are the endpoints whose bodies are fuzzed, chosen by the
// fuzzed route byte.
var fuzzRoutes = [...]string{"/auth/signup", "/auth/signin", "/auth/refresh"}

// stubSigner signs nothing: it returns a fixed compact JWS.
type stubSigner struct{}

func (stubSigner) Sign(context.Context, auth.AccessClaims) (string, error) {
	return "eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl", nil
}

// newFuzzServer returns the real handler over a fresh database, with
// hashing cheap enough for many executions a second.
func newFuzzServer(tb testing.TB) http.Handler {
	tb.Helper()
	db, err := sqlstore.Open(context.Background(), tb.TempDir()+"/auth.db", sqlstore.Options{Migrate: true})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	svc, err := auth.NewService(auth.Config{
		Store:  db,
		Signer: stubSigner{},
		Hasher: password.New(password.Options{
			Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		}),
		RefreshKey:   []byte("fuzz refresh key, 32 bytes long!"),
		RefreshGrace: 10 * time.Second,
	})
	if err != nil {
		tb.Fatalf("service: %v", err)
	}
	return httpapi.NewServer(httpapi.Config{}, svc)
}

// postFuzzed posts body with Content-Type ctype to the route chosen by
// route and checks the invariants of every answer: no 5xx but a 503 busy,
// the security headers, and a JSON body that is either TokensDetails (200)
// or the error shape with the answer's status and the request's path.
func postFuzzed(t *testing.T, h http.Handler, route uint8, ctype string, body []byte) {
	path := fuzzRoutes[int(route)%len(fuzzRoutes)]
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	checkAnswer(t, rec, path)
}

// checkAnswer checks the invariants every answer of the API holds.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, path string) {
	t.Helper()
	if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("%s answered %d: %s", path, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s answered %d with Content-Type %q", path, rec.Code, ct)
	}
	checkSecurityHeaders(t, rec.Header())
	if rec.Code == http.StatusOK {
		var tok struct {
			AccessToken  *string `json:"access_token"`
			RefreshToken *string `json:"refresh_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == nil || tok.RefreshToken == nil {
			t.Fatalf("%s answered 200 without TokensDetails: %s", path, rec.Body)
		}
		return
	}
	var e struct {
		StatusCode int             `json:"statusCode"`
		Message    json.RawMessage `json:"message"`
		Timestamp  string          `json:"timestamp"`
		Path       string          `json:"path"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("%s answered %d with a body that is not JSON: %q", path, rec.Code, rec.Body)
	}
	var one string
	var many []string
	isMessage := json.Unmarshal(e.Message, &one) == nil || (json.Unmarshal(e.Message, &many) == nil && many != nil)
	if e.StatusCode != rec.Code || !isMessage || e.Timestamp == "" || e.Path != path {
		t.Fatalf("%s answered %d outside the error shape: %s", path, rec.Code, rec.Body)
	}
}

// checkSecurityHeaders checks the headers every response carries.
func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", got)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q, want no-referrer", got)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q, want default-src 'none' and frame-ancestors 'none'", csp)
	}
}

func FuzzJSONBody(f *testing.F) {
	seeds := []string{
		`{"firstName":"Evgeny","lastName":"Smirnov","login":"fuzzjson","email":"fuzzjson@example.com","password":"correct horse battery"}`,
		`{"login":"fuzzjson","password":"correct horse battery"}`,
		`{"login":"fuzzjson","password":"wrong password"}`,
		`{"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
		`{"refresh_token":12}`, `{"refresh_token":null}`, `{"login":[],"password":{}}`,
		`{"login":"a","login":"b"}`, `{"login":"\u0000\ud800"}`, "{\"login\":\"\xff\xfe\"}",
		`[[[[[[[[]]]]]]]]`, `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		`{} {}`, `{"login": `, `null`, `"str"`, `1e999`, ``, ` `, "\x00",
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	h := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		postFuzzed(t, h, route, "application/json", body)
	})
}

func FuzzFormBody(f *testing.F) {
	seeds := []string{
		"firstName=Evgeny&lastName=Smirnov&login=fuzzform&email=fuzzform%40example.com&password=correct+horse+battery",
		"login=fuzzform&password=correct+horse+battery",
		"login=a&login=b&password=%00%ff",
		"refresh_token=AAAA&refresh_token=BBBB",
		"refresh_token=%zz", "a;b=c", "=&=&&", "login", "%", "",
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	h := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		postFuzzed(t, h, route, "application/x-www-form-urlencoded", body)
	})
}

// multipartSeed encodes name, value pairs as multipart form fields with
// boundary; a name "file:NAME" becomes a file part.
func multipartSeed(boundary string, kv ...string) []byte {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.SetBoundary(boundary)
	for i := 0; i+1 < len(kv); i += 2 {
		if name, ok := strings.CutPrefix(kv[i], "file:"); ok {
			fw, _ := w.CreateFormFile(name, "a.txt")
			fw.Write([]byte(kv[i+1]))
			continue
		}
		w.WriteField(kv[i], kv[i+1])
	}
	w.Close()
	return b.Bytes()
}

func FuzzMultipartBody(f *testing.F) {
	const b = "fuzz-boundary"
	seeds := [][]byte{
		multipartSeed(b, "firstName", "Evgeny", "lastName", "Smirnov", "login", "fuzzmulti", "email", "fuzzmulti@example.com", "password", "correct horse battery"),
		multipartSeed(b, "login", "fuzzmulti", "password", "correct horse battery"),
		multipartSeed(b, "login", "a", "login", "b", "refresh_token", "x"),
		multipartSeed(b, "file:password", "correct horse battery"),
		[]byte("--" + b + "\r\nContent-Disposition: form-data; name=\"login\"; filename=\"\"\r\n\r\nx\r\n--" + b + "--\r\n"),
		[]byte("--" + b + "\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\ncut short"),
		[]byte("--" + b + "\r\nContent-Type: text/plain\r\n\r\nno name\r\n--" + b + "--\r\n"),
		[]byte("--" + b + "--\r\n"),
		nil,
	}
	for i, s := range seeds {
		f.Add(uint8(i), b, s)
	}
	f.Add(uint8(0), "", []byte("x"))
	h := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, boundary string, body []byte) {
		postFuzzed(t, h, route, `multipart/form-data; boundary="`+strings.ReplaceAll(boundary, `"`, ``)+`"`, body)
	})
}
