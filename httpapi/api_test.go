package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/authstore/auth/httpapi"
)

// scenario is one request against a server holding the user "seeded" (email
// seeded@example.com, password "correct horse battery"). In url and body,
// {rt} and {at} stand for a refresh and an access token of a fresh signin.
type scenario struct {
	name        string
	method, url string
	body        payload
	header      map[string]string
	wantStatus  int
	wantBody    []string          // substrings of the body
	notBody     []string          // substrings the body must not hold
	wantHeader  map[string]string // exact header values
	wantMessage []string          // the exact messages of an error body
}

func TestScenarios(t *testing.T) {
	hs := newHarness(t, httpapi.Config{MaxBodyBytes: 4 << 10})
	hs.do(t, http.MethodPost, "/auth/signup", signupBody("seeded"), nil).tokens(t)

	big := strings.Repeat("x", 5<<10)
	noStore := map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"}
	tokens := []string{`"access_token":"`, `"refresh_token":"`}
	seededIn := func(ct func(...string) payload) payload {
		return ct("login", "SEEDED", "password", "correct horse battery")
	}

	scenarios := []scenario{
		// Signup.
		{name: "signup json", method: "POST", url: "/auth/signup", body: signupBody("json1"),
			wantStatus: 200, wantBody: tokens, wantHeader: noStore},
		{name: "signup urlencoded", method: "POST", url: "/auth/signup",
			body:       formBody("firstName", "A", "lastName", "B", "login", "form1", "email", "form1@example.com", "password", "correct horse battery"),
			wantStatus: 200, wantBody: tokens, wantHeader: noStore},
		{name: "signup multipart", method: "POST", url: "/auth/signup",
			body:       multipartBody("firstName", "A", "lastName", "B", "login", "multi1", "email", "multi1@example.com", "password", "correct horse battery"),
			wantStatus: 200, wantBody: tokens, wantHeader: noStore},
		{name: "signup trims and ignores unknown fields", method: "POST", url: "/auth/signup",
			body:       jsonBody(`{"firstName":" A ","lastName":"B","login":"  trim1  ","email":" trim1@example.com ","password":"correct horse battery","admin":true}`),
			wantStatus: 200, wantBody: tokens},
		{name: "signup duplicate keys: the last wins", method: "POST", url: "/auth/signup",
			body:       jsonBody(`{"firstName":"A","lastName":"B","login":"seeded","login":"dupkey1","email":"dupkey1@example.com","password":"correct horse battery"}`),
			wantStatus: 200, wantBody: tokens},
		{name: "signup login taken in another case", method: "POST", url: "/auth/signup", body: signupBody("SEEDED"),
			wantStatus: 400, wantMessage: []string{"Login and email already used"}},
		{name: "signup login taken", method: "POST", url: "/auth/signup",
			body:       jsonBody(`{"firstName":"A","lastName":"B","login":"Seeded","email":"other1@example.com","password":"correct horse battery"}`),
			wantStatus: 400, wantMessage: []string{"Login already used"}, wantHeader: noStore},
		{name: "signup email taken", method: "POST", url: "/auth/signup",
			body:       jsonBody(`{"firstName":"A","lastName":"B","login":"other2","email":"SEEDED@example.com","password":"correct horse battery"}`),
			wantStatus: 400, wantMessage: []string{"Email already used"}},
		{name: "malformed JSON, cut short", method: "POST", url: "/auth/signup", body: jsonBody(`{"login": `),
			wantStatus: 400, wantMessage: []string{"Unexpected end of JSON input"}},
		{name: "malformed JSON, bad token", method: "POST", url: "/auth/signup", body: jsonBody(`{"login" 1}`),
			wantStatus: 400, wantMessage: []string{"Unexpected token in JSON at position 9"}},
		{name: "JSON with trailing data", method: "POST", url: "/auth/signup", body: jsonBody(`{} {}`),
			wantStatus: 400, wantMessage: []string{"Unexpected token in JSON at position 3"}},
		{name: "JSON with one trailing byte", method: "POST", url: "/auth/signup", body: jsonBody(`{"login":1}x`),
			wantStatus: 400, wantMessage: []string{"Unexpected token in JSON at position 11"}},
		{name: "JSON array body: an object with no fields", method: "POST", url: "/auth/signin", body: jsonBody(`["login"]`),
			wantStatus: 400, wantMessage: []string{"login must be longer than or equal to 3 characters", "login must be a string", "password must be longer than or equal to 8 characters", "password must be a string"}},
		{name: "JSON null body: strict JSON refuses it", method: "POST", url: "/auth/signin", body: jsonBody(`null`),
			wantStatus: 400, wantMessage: []string{"Unexpected token in JSON at position 0"}},
		{name: "JSON string body: strict JSON refuses it", method: "POST", url: "/auth/signin", body: jsonBody(` "seeded"`),
			wantStatus: 400, wantMessage: []string{"Unexpected token in JSON at position 1"}},
		{name: "deeply nested JSON", method: "POST", url: "/auth/signin",
			body:       jsonBody(`{"login":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`),
			wantStatus: 400, wantMessage: []string{"login must be longer than or equal to 3 characters", "login must be a string", "password must be longer than or equal to 8 characters", "password must be a string"}},
		{name: "invalid UTF-8 in JSON strings", method: "POST", url: "/auth/signup",
			body:       jsonBody("{\"firstName\":\"\xff\xfe\",\"lastName\":\"B\",\"login\":\"utf\xc3\",\"email\":\"utf8@example.com\",\"password\":\"correct horse battery\xff\"}"),
			wantStatus: 200, wantBody: tokens},
		{name: "invalid UTF-8 in an email", method: "POST", url: "/auth/signup",
			body:       jsonBody("{\"firstName\":\"A\",\"lastName\":\"B\",\"login\":\"utf2\",\"email\":\"\xff@example.com\",\"password\":\"correct horse battery\"}"),
			wantStatus: 400, wantMessage: []string{"email must be an email"}},
		{name: "no Content-Type: no fields", method: "POST", url: "/auth/signin", body: payload{"", `{"login":"seeded"}`},
			wantStatus: 400, wantMessage: []string{"login must be longer than or equal to 3 characters", "login must be a string", "password must be longer than or equal to 8 characters", "password must be a string"}},
		{name: "text/plain: no fields", method: "POST", url: "/auth/signin", body: payload{"text/plain", `login=seeded`},
			wantStatus: 400, wantMessage: []string{"login must be longer than or equal to 3 characters", "login must be a string", "password must be longer than or equal to 8 characters", "password must be a string"}},
		{name: "malformed Content-Type: no fields", method: "POST", url: "/auth/signin", body: payload{"application/json; =", `{}`},
			wantStatus: 400, wantMessage: []string{"login must be longer than or equal to 3 characters", "login must be a string", "password must be longer than or equal to 8 characters", "password must be a string"}},
		{name: "Content-Type is case-insensitive", method: "POST", url: "/auth/signin",
			body: payload{"Application/JSON; charset=UTF-8", `{"login":"seeded","password":"correct horse battery"}`}, wantStatus: 200},
		{name: "multipart file part", method: "POST", url: "/auth/signin",
			body:       multipartBody("login", "seeded", "file:password", "correct horse battery"),
			wantStatus: 400, wantMessage: []string{"Unexpected field - password"}},
		{name: "multipart file part with an empty filename", method: "POST", url: "/auth/signin",
			body:       payload{"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"login\"; filename=\"\"\r\n\r\nseeded\r\n--b--\r\n"},
			wantStatus: 400, wantMessage: []string{"Unexpected field - login"}},
		{name: "multipart without boundary", method: "POST", url: "/auth/signin", body: payload{"multipart/form-data", "x"},
			wantStatus: 400, wantMessage: []string{"Multipart: Boundary not found"}},
		{name: "multipart cut short", method: "POST", url: "/auth/signin",
			body:       payload{"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\nseeded"},
			wantStatus: 400, wantMessage: []string{"Multipart: Unexpected end of form"}},
		{name: "malformed escape in urlencoded: kept as written", method: "POST", url: "/auth/signin", body: payload{"application/x-www-form-urlencoded", "login=%zz"},
			wantStatus: 400, wantMessage: []string{"password must be longer than or equal to 8 characters", "password must be a string"}},
		{name: "JSON body too large", method: "POST", url: "/auth/signin", body: jsonBody(`{"login":"` + big + `"}`),
			wantStatus: 413, wantMessage: []string{"Payload too large"}},
		{name: "urlencoded body too large", method: "POST", url: "/auth/signup", body: formBody("login", big),
			wantStatus: 413, wantMessage: []string{"Payload too large"}},
		{name: "multipart body too large", method: "POST", url: "/auth/signup", body: multipartBody("login", big),
			wantStatus: 413, wantMessage: []string{"Payload too large"}},
		{name: "refresh body too large", method: "POST", url: "/auth/refresh", body: jsonBody(`{"refresh_token":"` + big + `"}`),
			wantStatus: 413, wantMessage: []string{"Payload too large"}},

		// Signin.
		{name: "signin json, login in another case", method: "POST", url: "/auth/signin", body: seededIn(jsonFields),
			wantStatus: 200, wantBody: tokens, wantHeader: noStore},
		{name: "signin urlencoded", method: "POST", url: "/auth/signin", body: seededIn(formBody), wantStatus: 200, wantBody: tokens},
		{name: "signin multipart", method: "POST", url: "/auth/signin", body: seededIn(multipartBody), wantStatus: 200, wantBody: tokens},
		{name: "signin wrong password", method: "POST", url: "/auth/signin",
			body:       jsonFields("login", "seeded", "password", "wrong password"),
			wantStatus: 400, wantMessage: []string{"The login or password is incorrect"}, notBody: []string{"wrong password"}},
		{name: "signin unknown login", method: "POST", url: "/auth/signin",
			body:       jsonFields("login", "nobody", "password", "correct horse battery"),
			wantStatus: 400, wantMessage: []string{"The login or password is incorrect"}},

		// Refresh.
		{name: "refresh without a token", method: "POST", url: "/auth/refresh",
			wantStatus: 400, wantMessage: []string{"Refresh token must not be empty"}, wantBody: []string{`"message":"Refresh token must not be empty"`}},
		{name: "refresh with a blank rt", method: "POST", url: "/auth/refresh?rt=%20%20",
			wantStatus: 400, wantMessage: []string{"Refresh token must not be empty"}},
		{name: "refresh with a null body field", method: "POST", url: "/auth/refresh", body: jsonBody(`{"refresh_token":null}`),
			wantStatus: 400, wantMessage: []string{"Refresh token must not be empty"}},
		{name: "refresh with a garbage rt", method: "POST", url: "/auth/refresh?rt=garbage-token-value",
			wantStatus: 401, wantMessage: []string{"Invalid token"}, notBody: []string{"garbage-token-value", "rt="},
			wantBody: []string{`"path":"/auth/refresh"`, `"timestamp":"` + fixedTimestamp + `"`}, wantHeader: noStore},
		{name: "refresh with a repeated rt", method: "POST", url: "/auth/refresh?rt={rt}&rt={rt}",
			wantStatus: 401, wantMessage: []string{"Invalid token"}},
		{name: "refresh with a number body field", method: "POST", url: "/auth/refresh", body: jsonBody(`{"refresh_token":12}`),
			wantStatus: 401, wantMessage: []string{"Invalid token"}},
		{name: "refresh with a repeated form field", method: "POST", url: "/auth/refresh", body: formBody("refresh_token", "{rt}", "refresh_token", "{rt}"),
			wantStatus: 401, wantMessage: []string{"Invalid token"}},
		{name: "refresh with an access token", method: "POST", url: "/auth/refresh?rt={at}",
			wantStatus: 401, wantMessage: []string{"Invalid token"}},
		{name: "refresh via rt", method: "POST", url: "/auth/refresh?rt={rt}", wantStatus: 200, wantBody: tokens, wantHeader: noStore},
		{name: "refresh via a JSON body", method: "POST", url: "/auth/refresh", body: jsonFields("refresh_token", "{rt}"),
			wantStatus: 200, wantBody: tokens, wantHeader: noStore},
		{name: "refresh via an urlencoded body", method: "POST", url: "/auth/refresh", body: formBody("refresh_token", "{rt}"),
			wantStatus: 200, wantBody: tokens},
		{name: "refresh via a multipart body", method: "POST", url: "/auth/refresh", body: multipartBody("refresh_token", "{rt}"),
			wantStatus: 200, wantBody: tokens},
		{name: "rt wins over the body", method: "POST", url: "/auth/refresh?rt=garbage", body: jsonFields("refresh_token", "{rt}"),
			wantStatus: 401, wantMessage: []string{"Invalid token"}},

		// Routing.
		{name: "unknown route", method: "POST", url: "/auth/nothing?rt=secret-value", body: jsonBody(`{}`),
			wantStatus: 404, wantMessage: []string{"Cannot POST /auth/nothing"}, notBody: []string{"secret-value"},
			wantBody: []string{`"path":"/auth/nothing"`}},
		{name: "unknown route, GET", method: "GET", url: "/", wantStatus: 404, wantMessage: []string{"Cannot GET /"}},
		{name: "unclean path is not redirected", method: "POST", url: "/auth//refresh?rt=secret-value",
			wantStatus: 404, wantMessage: []string{"Cannot POST /auth//refresh"}, notBody: []string{"secret-value"},
			wantHeader: map[string]string{"Location": ""}},
		{name: "wrong method", method: "GET", url: "/auth/signin",
			wantStatus: 405, wantMessage: []string{"Cannot GET /auth/signin"}, wantHeader: map[string]string{"Allow": "POST"}},
		{name: "wrong method on an ops route", method: "DELETE", url: "/healthz",
			wantStatus: 405, wantMessage: []string{"Cannot DELETE /healthz"}, wantHeader: map[string]string{"Allow": "GET, HEAD"}},

		// Operations.
		{name: "healthz", method: "GET", url: "/healthz", wantStatus: 200, wantBody: []string{`{"status":"ok"}`}},
		{name: "readyz", method: "GET", url: "/readyz", wantStatus: 200, wantBody: []string{`{"status":"ok"}`}},
		{name: "openapi", method: "GET", url: "/openapi.json", wantStatus: 200,
			wantBody: []string{`"openapi": "3.1.0"`, `"/auth/signup"`, `"/auth/signin"`, `"/auth/refresh"`}},
		{name: "jwks", method: "GET", url: "/.well-known/jwks.json", wantStatus: 200, wantBody: []string{`"keys"`, `"kid"`},
			wantHeader: map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=270"}},
	}

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			target, body := sc.url, sc.body
			if strings.Contains(target+body.body, "rt}") || strings.Contains(target+body.body, "at}") ||
				strings.Contains(body.body, "rt%7D") {
				at, rt := hs.do(t, "POST", "/auth/signin", seededIn(jsonFields), nil).tokens(t)
				escaped := strings.NewReplacer("{rt}", url.QueryEscape(rt), "{at}", url.QueryEscape(at),
					"%7Brt%7D", url.QueryEscape(rt), "%7Bat%7D", url.QueryEscape(at))
				target = escaped.Replace(target)
				if body.ctype == "application/x-www-form-urlencoded" {
					body.body = escaped.Replace(body.body)
				} else {
					body.body = strings.NewReplacer("{rt}", rt, "{at}", at).Replace(body.body)
				}
			}
			ex := hs.do(t, sc.method, target, body, sc.header)
			if ex.status != sc.wantStatus {
				t.Fatalf("status %d, want %d: %s", ex.status, sc.wantStatus, ex.body)
			}
			for _, s := range sc.wantBody {
				if !strings.Contains(string(ex.body), s) {
					t.Errorf("body lacks %q: %s", s, ex.body)
				}
			}
			for _, s := range sc.notBody {
				if strings.Contains(string(ex.body), s) {
					t.Errorf("body holds %q: %s", s, ex.body)
				}
			}
			for k, v := range sc.wantHeader {
				if got := ex.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if ex.status >= 400 {
				code, msgs, ts, path := ex.errorBody(t)
				if code != ex.status {
					t.Errorf("statusCode %d, status %d", code, ex.status)
				}
				if ts != fixedTimestamp {
					t.Errorf("timestamp %q, want %q", ts, fixedTimestamp)
				}
				if want, _, _ := strings.Cut(target, "?"); path != want {
					t.Errorf("path %q, want %q", path, want)
				}
				if sc.wantMessage != nil && !slices.Equal(msgs, sc.wantMessage) {
					t.Errorf("messages %q, want %q", msgs, sc.wantMessage)
				}
			}
		})
	}
}

// jsonFields encodes name, value string pairs as a JSON object.
func jsonFields(kv ...string) payload {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(kv[i]) + ":" + quote(kv[i+1]))
	}
	b.WriteByte('}')
	return jsonBody(b.String())
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "\r", `\r`, "\x01", `\u0001`, "\x7f", `\u007f`)
	return `"` + r.Replace(s) + `"`
}
