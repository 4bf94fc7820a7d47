package httpapi_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/authstore/auth/httpapi"
)

// Requests are read as Express, body-parser, qs and multer read them, so that
// a front end written against the original sees the same answers.

func gzipped(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func zlibbed(s string) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func rawDeflated(s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func TestBodiesAsBodyParserReadsThem(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	signup := func(tag string) string {
		return `{"firstName":"Evgeny","lastName":"Smirnov","login":"` + tag + `","email":"` + tag + `@example.com","password":"correct horse battery"}`
	}
	form := func(tag string) string {
		return url.Values{"firstName": {"Evgeny"}, "lastName": {"Smirnov"}, "login": {tag}, "email": {tag + "@example.com"}, "password": {"correct horse battery"}}.Encode()
	}
	mp := func(tag string) payload {
		return multipartBody("firstName", "Evgeny", "lastName", "Smirnov", "login", tag, "email", tag+"@example.com", "password", "correct horse battery")
	}
	const (
		ctJSON = "application/json"
		ctForm = "application/x-www-form-urlencoded"
	)
	loginDto := []string{"login must be longer than or equal to 3 characters", "login must be a string", "password must be longer than or equal to 8 characters", "password must be a string"}
	// A body of exactly n bytes that fails validation on its login only.
	padded := func(n int) string {
		head, tail := `{"login":"ab","password":"correct horse battery","pad":"`, `"}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	bomb := gzipped(`{"login":"` + strings.Repeat("a", 10<<20) + `"}`) // 10 MB inflated
	tests := []struct {
		name     string
		target   string
		ctype    string
		encoding string
		body     string
		status   int
		msgs     []string // for an error
	}{
		{"JSON after a UTF-8 BOM", "/auth/signup", ctJSON, "", "\ufeff" + signup("bomjson"), 200, nil},
		{"urlencoded after a UTF-8 BOM", "/auth/signup", ctForm, "", "\ufeff" + form("bomform"), 200, nil},
		{"JSON in gzip", "/auth/signup", ctJSON, "gzip", gzipped(signup("gzjson")), 200, nil},
		{"urlencoded in gzip", "/auth/signup", ctForm, "GZIP", gzipped(form("gzform")), 200, nil},
		{"multipart in gzip", "/auth/signup", mp("gzmp").ctype, "gzip", gzipped(mp("gzmp").body), 200, nil},
		{"JSON in deflate (zlib)", "/auth/signup", ctJSON, "deflate", zlibbed(signup("dfjson")), 200, nil},
		{"identity", "/auth/signup", ctJSON, "identity", signup("idjson"), 200, nil},
		{"raw deflate without the zlib header", "/auth/signin", ctJSON, "deflate", rawDeflated(`{}`), 400, []string{"incorrect header check"}},
		{"gzip cut short", "/auth/signin", ctJSON, "gzip", gzipped(signup("cut"))[:20], 400, []string{"unexpected end of file"}},
		{"not gzip at all", "/auth/signin", ctJSON, "gzip", `{"login":"x"}`, 400, []string{"incorrect header check"}},
		{"a decompression bomb is a 413", "/auth/signin", ctJSON, "gzip", bomb, 413, []string{"Payload too large"}},
		{"brotli is a 415", "/auth/signin", ctJSON, "br", `{}`, 415, []string{`unsupported content encoding "br"`}},
		{"two encodings are a 415", "/auth/signin", ctJSON, "gzip, gzip", gzipped(gzipped(`{}`)), 415, []string{`unsupported content encoding "gzip, gzip"`}},
		{"an unknown encoding without a body type is not read", "/auth/signin", "text/plain", "br", `{}`, 400, loginDto},
		{"JSON in Latin-1 is a 415", "/auth/signin", ctJSON + "; charset=latin1", "", `{}`, 415, []string{`unsupported charset "LATIN1"`}},
		{"urlencoded in UTF-16 is a 415", "/auth/signin", ctForm + "; charset=utf-16", "", ``, 415, []string{`unsupported charset "UTF-16"`}},
		{"JSON in UTF-16LE", "/auth/signin", ctJSON + "; charset=utf-16le", "", "{\x00}\x00", 400, loginDto},
		{"100 KB exactly is read", "/auth/signin", ctJSON, "", padded(100 << 10), 400, []string{"login must be longer than or equal to 3 characters"}},
		{"one byte more is a 413", "/auth/signin", ctJSON, "", padded(100<<10 + 1), 413, []string{"Payload too large"}},
		{"the limit counts inflated bytes", "/auth/signin", ctJSON, "gzip", gzipped(padded(100<<10 + 1)), 413, []string{"Payload too large"}},
		{"a JSON array reads as no fields", "/auth/signin", ctJSON, "", `[{"login":"alice","password":"correct horse battery"}]`, 400, loginDto},
		{"strict JSON: a number body", "/auth/signin", ctJSON, "", ` 42`, 400, []string{"Unexpected token in JSON at position 1"}},
		{"a malformed escape is kept as written", "/auth/signin", ctForm, "", "login=a%ZZ&password=correct+horse+battery", 400, []string{"The login or password is incorrect"}},
		{"a malformed escape counts as written", "/auth/signin", ctForm, "", "login=%Z&password=correct+horse+battery", 400, []string{"login must be longer than or equal to 3 characters"}},
		{"qs brackets: an array", "/auth/signin", ctForm, "", "login[]=alice&password=correct+horse+battery", 400, []string{"login must be longer than or equal to 3 characters", "login must be a string"}},
		{"qs brackets: an index past the array limit is an object key", "/auth/signin", ctForm, "", "login[101]=alice&password=correct+horse+battery", 400, []string{"login must be longer than or equal to 3 and shorter than or equal to 24 characters", "login must be a string"}},
		{"qs: a string then an object key make an array", "/auth/signin", ctForm, "", "login=alice&login[x]=b&password=correct+horse+battery", 400, []string{"login must be longer than or equal to 3 characters", "login must be a string"}},
		{"qs: escaped brackets are brackets", "/auth/signin", ctForm, "", "login%5B%5D=alice&password=correct+horse+battery", 400, []string{"login must be longer than or equal to 3 characters", "login must be a string"}},
		{"more than 1000 parameters is a 413", "/auth/signin", ctForm, "", strings.Repeat("a=1&", 1000) + "b=2", 413, []string{"too many parameters"}},
		{"multipart: a file part names its field", "/auth/signin", "", "", "", 400, []string{"Unexpected field - avatar"}},
		{"multipart: cut short", "/auth/signin", "multipart/form-data; boundary=b", "", "--b\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\nalice", 400, []string{"Multipart: Unexpected end of form"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := payload{tt.ctype, tt.body}
			if tt.name == "multipart: a file part names its field" {
				p = multipartBody("login", "alice", "file:avatar", "x")
			}
			var header map[string]string
			if tt.encoding != "" {
				header = map[string]string{"Content-Encoding": tt.encoding}
			}
			ex := hs.do(t, http.MethodPost, tt.target, p, header)
			if ex.status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", ex.status, tt.status, ex.body)
			}
			if tt.status == 200 {
				ex.tokens(t)
				return
			}
			if _, msgs, _, _ := ex.errorBody(t); !slices.Equal(msgs, tt.msgs) {
				t.Errorf("messages\n got %q\nwant %q", msgs, tt.msgs)
			}
		})
	}
}

func TestRoutingAsExpressRoutes(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	loginDto := []string{"login must be longer than or equal to 3 characters", "login must be a string", "password must be longer than or equal to 8 characters", "password must be a string"}
	tests := []struct {
		name, method, target string
		status               int
		msgs                 []string
		path                 string // the error body's path
	}{
		{"upper case", "POST", "/AUTH/SIGNIN", 400, loginDto, "/AUTH/SIGNIN"},
		{"mixed case and a trailing slash", "POST", "/Auth/SignIn/", 400, loginDto, "/Auth/SignIn/"},
		{"two trailing slashes", "POST", "/auth/signin//", 404, []string{"Cannot POST /auth/signin//"}, "/auth/signin//"},
		{"an escape is not decoded for matching", "POST", "/auth/%73ignin", 404, []string{"Cannot POST /auth/%73ignin"}, "/auth/%73ignin"},
		{"the 404 keeps the case and drops the query", "POST", "/Auth/Nothing?rt=secret", 404, []string{"Cannot POST /Auth/Nothing"}, "/Auth/Nothing"},
		{"a wrong method on a known path in any case", "GET", "/AUTH/SIGNIN/", 405, []string{"Cannot GET /AUTH/SIGNIN/"}, "/AUTH/SIGNIN/"},
		{"refresh in upper case", "POST", "/AUTH/REFRESH?rt=", 400, []string{"Refresh token must not be empty"}, "/AUTH/REFRESH"},
		{"rt with a malformed escape", "POST", "/auth/refresh?rt=%ZZ", 401, []string{"Invalid token"}, "/auth/refresh"},
		{"rt with an escape that is not UTF-8", "POST", "/auth/refresh?rt=%FF", 401, []string{"Invalid token"}, "/auth/refresh"},
		{"rt as a qs array", "POST", "/auth/refresh?rt[]=abc", 401, []string{"Invalid token"}, "/auth/refresh"},
		{"rt as a qs object", "POST", "/auth/refresh?rt[a]=abc", 401, []string{"Invalid token"}, "/auth/refresh"},
		{"rt without a value", "POST", "/auth/refresh?rt", 400, []string{"Refresh token must not be empty"}, "/auth/refresh"},
		{"an escaped rt name", "POST", "/auth/refresh?%72t=abc", 401, []string{"Invalid token"}, "/auth/refresh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := hs.do(t, tt.method, tt.target, payload{}, nil)
			if ex.status != tt.status {
				t.Fatalf("status %d, want %d: %s", ex.status, tt.status, ex.body)
			}
			_, msgs, _, path := ex.errorBody(t)
			if !slices.Equal(msgs, tt.msgs) || path != tt.path {
				t.Errorf("messages %q path %q, want %q %q", msgs, path, tt.msgs, tt.path)
			}
		})
	}
	t.Run("GET /HEALTHZ/", func(t *testing.T) {
		if ex := hs.do(t, "GET", "/HEALTHZ/", payload{}, nil); ex.status != 200 {
			t.Errorf("status %d, want 200", ex.status)
		}
	})
	t.Run("OPTIONS on any path is 204", func(t *testing.T) {
		for _, target := range []string{"/auth/signin", "/NOWHERE/at/all", "/auth/refresh?rt=x"} {
			ex := hs.do(t, http.MethodOptions, target, payload{}, map[string]string{"Origin": "http://app.example"})
			if ex.status != http.StatusNoContent || ex.header.Get("Access-Control-Allow-Origin") != "http://app.example" {
				t.Errorf("OPTIONS %s: %d, Allow-Origin %q", target, ex.status, ex.header.Get("Access-Control-Allow-Origin"))
			}
		}
	})
}
