package httpapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/authstore/auth/httpapi"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	const app = "http://app.example"
	preflight := map[string]string{"Origin": app, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-request-id"}
	tests := []struct {
		name        string
		origins     []string
		method, url string
		header      map[string]string
		wantStatus  int
		want        map[string]string // "" means absent
	}{
		{"preflight, any origin", nil, "OPTIONS", "/auth/signin", preflight, 204, map[string]string{
			"Access-Control-Allow-Origin":      app,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "GET, POST, DELETE, OPTIONS",
			"Access-Control-Allow-Headers":     "content-type, x-request-id",
			"Access-Control-Max-Age":           "600",
		}},
		{"preflight, star", []string{"*"}, "OPTIONS", "/auth/refresh", preflight, 204, map[string]string{
			"Access-Control-Allow-Origin": app, "Access-Control-Allow-Credentials": "true",
		}},
		{"preflight without requested headers", nil, "OPTIONS", "/auth/signup",
			map[string]string{"Origin": app, "Access-Control-Request-Method": "POST"}, 204, map[string]string{
				"Access-Control-Allow-Headers": "Content-Type, Authorization, X-Request-Id",
			}},
		{"preflight with odd requested headers", nil, "OPTIONS", "/auth/signup",
			map[string]string{"Origin": app, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x\r\ny"}, 204, map[string]string{
				"Access-Control-Allow-Headers": "Content-Type, Authorization, X-Request-Id",
			}},
		{"preflight, listed origin", []string{"http://other.example", app}, "OPTIONS", "/auth/signin", preflight, 204, map[string]string{
			"Access-Control-Allow-Origin": app, "Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "600",
		}},
		{"preflight, unlisted origin", []string{"http://other.example"}, "OPTIONS", "/auth/signin", preflight, 204, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Access-Control-Allow-Methods": "",
		}},
		{"simple request, any origin", nil, "GET", "/healthz", map[string]string{"Origin": app}, 200, map[string]string{
			"Access-Control-Allow-Origin": app, "Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers": "X-Request-Id, Retry-After, RateLimit, RateLimit-Policy", "Access-Control-Allow-Methods": "",
		}},
		{"simple request, unlisted origin", []string{"http://other.example"}, "GET", "/healthz", map[string]string{"Origin": app}, 200, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "",
		}},
		{"error answer, any origin", nil, "POST", "/auth/refresh", map[string]string{"Origin": app}, 400, map[string]string{
			"Access-Control-Allow-Origin": app, "Access-Control-Allow-Credentials": "true",
		}},
		{"no origin", nil, "GET", "/healthz", nil, 200, map[string]string{"Access-Control-Allow-Origin": ""}},
		{"OPTIONS without a request method is answered as a preflight", nil, "OPTIONS", "/auth/signin", map[string]string{"Origin": app}, 204, map[string]string{
			"Access-Control-Allow-Origin": app, "Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
		}},
		{"OPTIONS on an unknown path", nil, "OPTIONS", "/no/such/path", map[string]string{"Origin": app}, 204, map[string]string{
			"Access-Control-Allow-Origin": app,
		}},
		{"OPTIONS without an Origin", nil, "OPTIONS", "/auth/refresh", nil, 204, map[string]string{
			"Access-Control-Allow-Origin": "",
		}},
		{"OPTIONS from an origin not allowed: 204 without CORS headers", []string{app}, "OPTIONS", "/auth/signin", map[string]string{"Origin": "http://evil.example"}, 204, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t, httpapi.Config{CORSOrigins: tt.origins})
			ex := hs.do(t, tt.method, tt.url, payload{}, tt.header)
			if ex.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", ex.status, tt.wantStatus, ex.body)
			}
			for k, v := range tt.want {
				if got := ex.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(strings.Join(ex.header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary %q lacks Origin", ex.header.Values("Vary"))
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{MaxBodyBytes: 16})
	want := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	}
	requests := []struct {
		method, url string
		body        payload
		header      map[string]string
	}{
		{"GET", "/healthz", payload{}, nil},
		{"POST", "/auth/signup", signupBody("headers1"), nil}, // 413 under this limit
		{"POST", "/auth/refresh?rt=x", payload{}, nil},
		{"POST", "/auth/nothing", payload{}, nil},
		{"PUT", "/auth/signin", payload{}, nil},
		{"OPTIONS", "/auth/signin", payload{}, map[string]string{"Origin": "http://a.example", "Access-Control-Request-Method": "POST"}},
		{"GET", "/.well-known/jwks.json", payload{}, nil},
	}
	for _, r := range requests {
		t.Run(r.method+" "+r.url, func(t *testing.T) {
			ex := hs.do(t, r.method, r.url, r.body, r.header)
			for k, v := range want {
				if got := ex.header.Get(k); got != v {
					t.Errorf("%d: %s = %q, want %q", ex.status, k, got, v)
				}
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"absent", "", false},
		{"printable", "abc-123_XYZ.9", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"65 characters", strings.Repeat("a", 65), false},
		{"space", "a b", false},
		{"non-ASCII", "idé", false},
		{"quote", `a"b`, false},
		{"equals and colon", "level=ERROR:x", false},
		{"slash", "a/b", false},
		{"plus", "a+b", false},
		{"uuid", "0b6a4d1e-5c7e-4a53-9f0e-2b1f3c4d5e6f", true},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h map[string]string
			if tt.in != "" {
				h = map[string]string{"X-Request-Id": tt.in}
			}
			got := hs.do(t, "GET", "/healthz", payload{}, h).header.Get("X-Request-Id")
			switch {
			case tt.keep && got != tt.in:
				t.Errorf("X-Request-Id %q, want the incoming %q", got, tt.in)
			case !tt.keep && (got == "" || got == tt.in || seen[got]):
				t.Errorf("X-Request-Id %q, want a fresh one", got)
			}
			seen[got] = true
		})
	}
}

// Fresh request ids are unique and tell nothing of the traffic between
// them: consecutive ones share no common prefix beyond chance.
func TestFreshRequestIDsLookRandom(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	valid := regexp.MustCompile(`^[A-Z2-7]{26}$`)
	seen := map[string]bool{}
	var prev string
	shared := 0
	for range 200 {
		id := hs.do(t, "GET", "/healthz", payload{}, nil).header.Get("X-Request-Id")
		if !valid.MatchString(id) || seen[id] {
			t.Fatalf("X-Request-Id %q: want 26 characters of base32, never repeated", id)
		}
		seen[id] = true
		if prev != "" && id[:4] == prev[:4] {
			shared++
		}
		prev = id
	}
	// Random ids share their first 4 characters once in 2^20 pairs; a
	// counter, in nearly every pair.
	if shared > 1 {
		t.Errorf("%d of 199 consecutive ids share their first 4 characters", shared)
	}
}

// logLine is one JSON line of the captured log.
type logLine map[string]any

func parseLog(t *testing.T, s string) []logLine {
	t.Helper()
	var lines []logLine
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		lines = append(lines, l)
	}
	return lines
}

func TestAccessLogKeepsSecretsOut(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	const pw = "secret-password-value"
	before := len(hs.logs.String()) // the harness's own GET /openapi.json
	signup := hs.do(t, "POST", "/auth/signup", jsonFields("firstName", "A", "lastName", "B", "login", "logger", "email", "logger@example.com", "password", pw), nil)
	at, rt := signup.tokens(t)
	_, rt2 := hs.do(t, "POST", "/auth/refresh?rt="+url.QueryEscape(rt), payload{}, map[string]string{"Authorization": "Bearer " + at}).tokens(t)
	_, rt3 := hs.do(t, "POST", "/auth/refresh", jsonFields("refresh_token", rt2), nil).tokens(t)
	hs.do(t, "POST", "/auth/signin", formBody("login", "logger", "password", pw+"x"), nil)
	hs.do(t, "POST", "/auth/refresh?rt=garbage-token-value", payload{}, nil)
	hs.do(t, "POST", "/auth/refresh?rt="+url.QueryEscape(rt), payload{}, nil) // reuse: revokes
	hs.do(t, "POST", "/auth/nothing?rt="+url.QueryEscape(rt3), payload{}, nil)
	hs.do(t, "GET", "/healthz?rt=query-secret", payload{}, map[string]string{"X-Request-Id": "req-1"})

	logs := hs.logs.String()
	for _, secret := range []string{pw, at, rt, rt2, rt3, "garbage-token-value", "query-secret", "rt=", "Bearer"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	var requests []logLine
	for _, l := range parseLog(t, logs[before:]) {
		if l["msg"] == "request" {
			requests = append(requests, l)
		}
	}
	if len(requests) != 8 {
		t.Fatalf("%d access-log lines, want 8 (one per request):\n%s", len(requests), logs)
	}
	first, last := requests[0], requests[len(requests)-1]
	wantFirst := logLine{"method": "POST", "route": "POST /auth/signup", "path": "/auth/signup", "status": float64(200)}
	for k, v := range wantFirst {
		if first[k] != v {
			t.Errorf("first line %s = %v, want %v", k, first[k], v)
		}
	}
	if last["path"] != "/healthz" || last["request_id"] != "req-1" || last["route"] != "GET /healthz" {
		t.Errorf("last line: %v", last)
	}
	if n, ok := first["bytes"].(float64); !ok || n <= 0 {
		t.Errorf("bytes %v, want > 0", first["bytes"])
	}
	if _, ok := first["duration"]; !ok {
		t.Error("no duration")
	}
	if id, _ := first["request_id"].(string); id == "" {
		t.Error("no request id")
	}
	if requests[6]["status"] != float64(404) || requests[6]["route"] != "" {
		t.Errorf("unknown route logged as %v", requests[6])
	}
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	cfg := httpapi.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantBody   string
	}{
		{"before writing", func(w http.ResponseWriter, r *http.Request) { panic("boom: secret detail") }, 500, `"message":"Internal server error"`},
		{"after writing", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, "partial")
			panic("boom: secret detail")
		}, 202, "partial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpapi.WithMiddleware(cfg, tt.handler).ServeHTTP(rec, httptest.NewRequest("GET", "/x?rt=abc", nil))
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("%d %s, want %d with %s", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			if strings.Contains(rec.Body.String(), "secret detail") {
				t.Errorf("the panic reached the client: %s", rec.Body)
			}
		})
	}
	if got := strings.Count(logs.String(), `"msg":"panic"`); got != 2 {
		t.Errorf("%d panics logged, want 2:\n%s", got, logs)
	}
}

func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	hs.do(t, "POST", "/auth/signup", signupBody("down1"), nil).tokens(t)
	if err := hs.db.Close(); err != nil {
		t.Fatal(err)
	}
	ready := hs.do(t, "GET", "/readyz", payload{}, nil)
	if _, msgs, _, _ := ready.errorBody(t); ready.status != 503 || ready.header.Get("Retry-After") == "" || msgs[0] != "Service unavailable" {
		t.Errorf("readyz: %d Retry-After %q %s", ready.status, ready.header.Get("Retry-After"), ready.body)
	}
	signin := hs.do(t, "POST", "/auth/signin", jsonFields("login", "down1", "password", "correct horse battery"), nil)
	_, msgs, _, _ := signin.errorBody(t)
	if signin.status < 500 || len(msgs) != 1 || (msgs[0] != "Internal server error" && signin.status == 500) {
		t.Errorf("signin with the database down: %d %s", signin.status, signin.body)
	}
	if strings.Contains(string(signin.body), "sql") || strings.Contains(string(signin.body), "database is closed") {
		t.Errorf("details reached the client: %s", signin.body)
	}
	if !strings.Contains(hs.logs.String(), `"level":"ERROR"`) && !strings.Contains(hs.logs.String(), `"msg":"not ready"`) {
		t.Errorf("nothing logged:\n%s", hs.logs)
	}
}

// TestConcurrentSignups races 50 signups for one login over real HTTP.
func TestConcurrentSignups(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	srv := httptest.NewServer(hs.h)
	defer srv.Close()

	const n = 50
	type answer struct {
		status int
		body   string
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"firstName":"A","lastName":"B","login":"racer","email":"racer%d@example.com","password":"correct horse battery"}`, i)
			res, err := srv.Client().Post(srv.URL+"/auth/signup", "application/json", strings.NewReader(body))
			if err != nil {
				answers[i] = answer{-1, err.Error()}
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			answers[i] = answer{res.StatusCode, string(b)}
		})
	}
	wg.Wait()
	ok, used := 0, 0
	for _, a := range answers {
		switch {
		case a.status == 200:
			ok++
		case a.status == 400 && strings.Contains(a.body, `"message":"Login already used"`):
			used++
		default:
			t.Errorf("unexpected answer %d %s", a.status, a.body)
		}
	}
	if ok != 1 || used != n-1 {
		t.Errorf("%d signups succeeded and %d got Login already used, want 1 and %d", ok, used, n-1)
	}
}
