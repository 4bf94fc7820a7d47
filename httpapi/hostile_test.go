package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth/httpapi"
)

// hostile is one request an attacker or a broken client may send, and the
// answer it must get from the real handler.
type hostile struct {
	name        string
	target      string // method is POST
	ctype       string // "" sends no Content-Type
	body        string
	header      map[string]string
	wantStatus  int
	wantMessage []string // exact messages; nil checks only the shape
}

// signinAs returns a JSON signin body.
func signinAs(login, pw string) string {
	b, _ := json.Marshal(map[string]string{"login": login, "password": pw})
	return string(b)
}

// Every hostile request gets a 4xx in the error shape (or a 200 where the
// request is in fact acceptable), with the security headers; none gets a
// 5xx or panics. Bodies past the 64 KiB default limit are not read past it.
func TestHostileRequests(t *testing.T) {
	hs := newHarness(t, httpapi.Config{})
	hs.do(t, http.MethodPost, "/auth/signup", signupBody("hostile"), nil).tokens(t)
	const pw = "correct horse battery"

	tenMB := strings.Repeat("x", 10<<20)
	signinMissing := []string{"login must be longer than or equal to 3 characters", "login must be a string", "password must be longer than or equal to 8 characters", "password must be a string"}
	incorrect := []string{"The login or password is incorrect"}
	tooLarge := []string{"Payload too large"}
	deepObject := strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000)

	cases := []hostile{
		// Size.
		{name: "huge JSON field under the limit", target: "/auth/signup", ctype: "application/json",
			body:       `{"firstName":"A","lastName":"B","login":"huge1","email":"huge1@example.com","password":"` + strings.Repeat("p", 60<<10) + `"}`,
			wantStatus: 400, wantMessage: []string{"password must be shorter than or equal to 128 characters"}},
		{name: "10 MB JSON", target: "/auth/signup", ctype: "application/json", body: `{"login":"` + tenMB + `"}`,
			wantStatus: 413, wantMessage: tooLarge},
		{name: "10 MB urlencoded", target: "/auth/signin", ctype: "application/x-www-form-urlencoded", body: "login=" + tenMB,
			wantStatus: 413, wantMessage: tooLarge},
		{name: "10 MB multipart", target: "/auth/signin", ctype: "multipart/form-data; boundary=b",
			body:       "--b\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\n" + tenMB + "\r\n--b--\r\n",
			wantStatus: 413, wantMessage: tooLarge},
		{name: "10 MB refresh body", target: "/auth/refresh", ctype: "application/json", body: `{"refresh_token":"` + tenMB + `"}`,
			wantStatus: 413, wantMessage: tooLarge},
		{name: "10 MB text/plain is not read", target: "/auth/signin", ctype: "text/plain", body: tenMB,
			wantStatus: 400, wantMessage: signinMissing},
		{name: "10 MB body beside rt is not read", target: "/auth/refresh?rt=abc", ctype: "application/json", body: tenMB,
			wantStatus: 401, wantMessage: []string{"Invalid token"}},

		// Depth.
		{name: "JSON nested past the decoder's depth limit", target: "/auth/signin", ctype: "application/json",
			body:       strings.Repeat("[", 30000) + strings.Repeat("]", 30000),
			wantStatus: 400, wantMessage: []string{"Unexpected token in JSON at position 10000"}},
		{name: "JSON object nested 5,000 deep in a field", target: "/auth/signin", ctype: "application/json",
			body:       `{"login":` + deepObject + `,"password":"x"}`,
			wantStatus: 400, wantMessage: []string{"login must be longer than or equal to 3 and shorter than or equal to 24 characters", "login must be a string", "password must be longer than or equal to 8 characters"}},

		// Duplicates.
		{name: "duplicate JSON keys: the last wins", target: "/auth/signin", ctype: "application/json",
			body:       `{"login":"nobody","login":"hostile","password":"wrong","password":"` + pw + `"}`,
			wantStatus: 200},
		{name: "duplicate JSON keys: the last wins, even when wrong", target: "/auth/signin", ctype: "application/json",
			body:       `{"login":"hostile","password":"` + pw + `","password":"wrong password"}`,
			wantStatus: 400, wantMessage: incorrect},
		{name: "repeated form field is an array", target: "/auth/signin", ctype: "application/x-www-form-urlencoded",
			body:       "login=hostile&login=hostile&password=" + url.QueryEscape(pw),
			wantStatus: 400, wantMessage: []string{"login must be longer than or equal to 3 characters", "login must be a string"}},
		{name: "repeated multipart field is an array", target: "/auth/signin", ctype: "multipart/form-data; boundary=b",
			body:       "--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\ny\r\n--b\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\nhostile\r\n--b--\r\n",
			wantStatus: 400, wantMessage: []string{"password must be longer than or equal to 8 characters", "password must be a string"}},

		// Encoding.
		{name: "invalid UTF-8 in JSON strings", target: "/auth/signin", ctype: "application/json",
			body: "{\"login\":\"host\xffile\",\"password\":\"\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\"}", wantStatus: 400, wantMessage: incorrect},
		{name: "invalid UTF-8 in a form login", target: "/auth/signin", ctype: "application/x-www-form-urlencoded",
			body: "login=host%FFile&password=" + url.QueryEscape(pw), wantStatus: 400, wantMessage: incorrect},
		// Form bodies turn invalid UTF-8 into U+FFFD, as JSON does
		// (TestFormInvalidUTF8IsReplaced checks what is stored).
		{name: "invalid UTF-8 in a form signup", target: "/auth/signup", ctype: "application/x-www-form-urlencoded",
			body:       "firstName=%FF%FE&lastName=B&login=utf%C3x&email=utf8form%40example.com&password=" + url.QueryEscape(pw),
			wantStatus: 200},
		{name: "escaped NUL in a JSON login", target: "/auth/signup", ctype: "application/json",
			body:       `{"firstName":"A","lastName":"B","login":"nul\u0000nul","email":"nul@example.com","password":"` + pw + `"}`,
			wantStatus: 400, wantMessage: []string{"login must not contain control characters"}},
		{name: "raw NUL byte in JSON", target: "/auth/signin", ctype: "application/json",
			body: "{\"login\":\"a\x00b\"}", wantStatus: 400, wantMessage: []string{"Unexpected token in JSON at position 11"}},
		{name: "NUL in a form password", target: "/auth/signin", ctype: "application/x-www-form-urlencoded",
			body: "login=hostile&password=" + url.QueryEscape(pw) + "%00", wantStatus: 400, wantMessage: incorrect},
		{name: "NUL bytes as the whole body", target: "/auth/signin", ctype: "application/json",
			body: "\x00\x00\x00\x00", wantStatus: 400, wantMessage: []string{"Unexpected token in JSON at position 0"}},
		{name: "NUL in the path", target: "/auth/signin%00", ctype: "application/json", body: signinAs("hostile", pw),
			wantStatus: 404, wantMessage: []string{"Cannot POST /auth/signin%00"}},

		// Headers.
		{name: "1 MB User-Agent", target: "/auth/signin", ctype: "application/json", body: signinAs("hostile", pw),
			header: map[string]string{"User-Agent": strings.Repeat("u", 1<<20)}, wantStatus: 200},
		{name: "1 MB X-Request-Id", target: "/auth/signin", ctype: "application/json", body: signinAs("hostile", "wrong password"),
			header: map[string]string{"X-Request-Id": strings.Repeat("r", 1<<20)}, wantStatus: 400, wantMessage: incorrect},
		{name: "1 MB Origin and request headers", target: "/auth/signin", ctype: "application/json", body: signinAs("hostile", "wrong password"),
			header:     map[string]string{"Origin": "http://" + strings.Repeat("o", 1<<20), "Access-Control-Request-Headers": strings.Repeat("h,", 1<<19)},
			wantStatus: 400, wantMessage: incorrect},
		{name: "1 MB Content-Type", target: "/auth/signin", ctype: "application/json; a=" + strings.Repeat("c", 1<<20), body: signinAs("hostile", pw),
			wantStatus: 200},

		// Content types.
		{name: "JSON sent as text/plain", target: "/auth/signin", ctype: "text/plain", body: signinAs("hostile", pw),
			wantStatus: 400, wantMessage: signinMissing},
		{name: "JSON sent without a Content-Type", target: "/auth/signin", body: signinAs("hostile", pw),
			wantStatus: 400, wantMessage: signinMissing},
		{name: "JSON sent as a form", target: "/auth/signin", ctype: "application/x-www-form-urlencoded", body: signinAs("hostile", pw),
			wantStatus: 400, wantMessage: signinMissing},
		{name: "a form sent as JSON", target: "/auth/signin", ctype: "application/json", body: "login=hostile",
			wantStatus: 400, wantMessage: []string{"Unexpected token in JSON at position 0"}},
		{name: "multipart without a boundary", target: "/auth/signin", ctype: "multipart/form-data", body: "--b--\r\n",
			wantStatus: 400, wantMessage: []string{"Multipart: Boundary not found"}},
		{name: "multipart with another boundary: no parts", target: "/auth/signin", ctype: "multipart/form-data; boundary=zzz",
			body: "--b\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\nx\r\n--b--\r\n", wantStatus: 400, wantMessage: signinMissing},
		{name: "multipart with a file part", target: "/auth/signup", ctype: "multipart/form-data; boundary=b",
			body:       "--b\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\nfilepart\r\n--b\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--b--\r\n",
			wantStatus: 400, wantMessage: []string{"Unexpected field - avatar"}},

		// The refresh token in the query.
		{name: "rt repeated", target: "/auth/refresh?rt=a&rt=b", wantStatus: 401, wantMessage: []string{"Invalid token"}},
		{name: "rt repeated, both empty", target: "/auth/refresh?rt=&rt=", wantStatus: 401, wantMessage: []string{"Invalid token"}},
		{name: "rt repeated 10,000 times", target: "/auth/refresh?" + strings.Repeat("rt=x&", 9999) + "rt=x", wantStatus: 401, wantMessage: []string{"Invalid token"}},
		// net/url refuses a query of more than 10,000 parameters whole, and
		// a semicolon pair alone: the handler then sees no rt at all.
		{name: "more than 10,000 query parameters: the first 1000 read", target: "/auth/refresh?" + strings.Repeat("rt=x&", 10001), wantStatus: 401, wantMessage: []string{"Invalid token"}},
		{name: "rt of 1 MB", target: "/auth/refresh?rt=" + strings.Repeat("A", 1<<20), wantStatus: 401, wantMessage: []string{"Invalid token"}},
		{name: "rt with a semicolon: part of the token", target: "/auth/refresh?rt=a;b", wantStatus: 401, wantMessage: []string{"Invalid token"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, c.target, strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			hs.h.ServeHTTP(rec, req)
			if rec.Code != c.wantStatus {
				t.Fatalf("status %d, want %d: %.300s", rec.Code, c.wantStatus, rec.Body)
			}
			checkAnswer(t, rec, req.URL.Path)
			if c.wantMessage != nil {
				_, msgs, _, _ := exchange{status: rec.Code, body: rec.Body.Bytes()}.errorBody(t)
				if !slices.Equal(msgs, c.wantMessage) {
					t.Errorf("messages %q, want %q", msgs, c.wantMessage)
				}
			}
			if id := rec.Header().Get("X-Request-Id"); len(id) > 64 {
				t.Errorf("X-Request-Id echoed %d bytes", len(id))
			}
			if strings.Contains(hs.logs.String(), "panic") {
				t.Fatalf("the log holds a panic:\n%.2000s", hs.logs.String())
			}
		})
	}
}

// newTimeoutServer serves h as cmd/authstore serve does, with its read
// timeouts shortened so the test does not wait for the real ones (5 s for
// headers, 15 s for the whole request).
func newTimeoutServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadHeaderTimeout = 300 * time.Millisecond
	srv.Config.ReadTimeout = 600 * time.Millisecond
	srv.Config.MaxHeaderBytes = 32 << 10
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// drip writes head at once, then tail one byte every 20 ms until it is
// written, the server closes the connection, or stop is closed.
func drip(conn net.Conn, head, tail string, stop <-chan struct{}) {
	if _, err := io.WriteString(conn, head); err != nil {
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < len(tail); i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if _, err := conn.Write([]byte{tail[i]}); err != nil {
			return
		}
	}
}

// A client that sends its request a byte at a time is cut off by the read
// timeouts: a dripped body is answered 400 in the error shape once the
// request's time is up; dripped headers never reach a handler, and net/http
// closes the connection (answering its own plain 400). Neither holds a
// handler or a connection for longer than the timeouts.
func TestSlowDripRequests(t *testing.T) {
	hs := newHarness(t, httpapi.Config{})
	srv := newTimeoutServer(t, hs.h)
	host := strings.TrimPrefix(srv.URL, "http://")
	body := strings.Repeat(`{"login":"drip","password":"correct horse battery"}`, 20) // 1,000 bytes: 20 s at the drip rate

	tests := []struct {
		name       string
		head, tail string
		wantStatus int // 0: net/http closes the connection, with or without its own 4xx
	}{
		{"dripped body", "POST /auth/signin HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
			body, http.StatusBadRequest},
		{"dripped headers", "POST /auth/signin HTTP/1.1\r\nHost: " + host + "\r\n",
			strings.Repeat("X-Drip: 1\r\n", 100), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			stop := make(chan struct{})
			defer close(stop)
			go drip(conn, tt.head, tt.tail, stop)

			// A hang guard, not a timing assertion: the drip alone would
			// take 20 s.
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if tt.wantStatus == 0 {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatal("the server kept the connection open past its header timeout")
				}
				if err == nil {
					res.Body.Close()
					if res.StatusCode < 400 || res.StatusCode >= 500 || !res.Close {
						t.Fatalf("got %s (close %v), want a 4xx and the connection closed", res.Status, res.Close)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.wantStatus, b)
			}
			rec := httptest.NewRecorder()
			rec.Code = res.StatusCode
			for k, v := range res.Header {
				rec.Header()[k] = v
			}
			rec.Body = bytes.NewBuffer(b)
			checkAnswer(t, rec, "/auth/signin")
		})
	}
}

// Headers past the server's MaxHeaderBytes are refused by net/http itself
// with 431, before any handler runs; that answer is net/http's plain text,
// not the error shape.
func TestHeadersPastTheLimit(t *testing.T) {
	hs := newHarness(t, httpapi.Config{})
	srv := newTimeoutServer(t, hs.h)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/auth/signin", strings.NewReader(signinAs("hostile", "x")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Big", strings.Repeat("b", 64<<10))
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", res.StatusCode)
	}
}

// BenchmarkHostileBodies reports what one hostile body costs the handler:
// B/op stays near the 64 KiB body limit whatever the body's size.
func BenchmarkHostileBodies(b *testing.B) {
	h := newFuzzServer(b)
	tenMB := strings.Repeat("x", 10<<20)
	bodies := []struct {
		name, target, ctype, body string
	}{
		{"json-10MB", "/auth/signup", "application/json", `{"login":"` + tenMB + `"}`},
		{"form-10MB", "/auth/signin", "application/x-www-form-urlencoded", "login=" + tenMB},
		{"multipart-10MB", "/auth/signin", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\n" + tenMB},
		{"text-10MB", "/auth/signin", "text/plain", tenMB},
		{"json-deep", "/auth/signin", "application/json", strings.Repeat("[", 30000) + strings.Repeat("]", 30000)},
		{"json-60KB-field", "/auth/signin", "application/json", `{"login":"` + strings.Repeat("l", 60<<10) + `"}`},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, bb.target, strings.NewReader(bb.body))
				req.Header.Set("Content-Type", bb.ctype)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
