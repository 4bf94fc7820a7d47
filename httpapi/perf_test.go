package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
)

// BenchmarkRefreshHandler measures one POST /auth/refresh through the whole
// handler chain (middleware, access log at info level into io.Discard,
// service, SQLite file store, Ed25519 signature), without the network:
// the server's own CPU and allocations per refresh. Each parallel worker
// keeps its own chain, as real clients do.
func BenchmarkRefreshHandler(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	svc, ring, _ := newService(b, logger)
	h := httpapi.NewServer(httpapi.Config{Logger: logger, JWKS: ring.JWKS}, svc)
	ctx := context.Background()
	var n int
	next := func() string {
		n++
		login := "bench" + strconv.Itoa(n)
		tok, err := svc.Signup(ctx, auth.SignupRequest{
			FirstName: auth.String("Bench"), LastName: auth.String("Client"),
			Login: auth.String(login), Email: auth.String(login + "@example.com"),
			Password: auth.String("correct horse battery"),
		}, auth.Client{})
		if err != nil {
			b.Fatal(err)
		}
		return tok.RefreshToken
	}
	chains := make(chan string, 64)
	for range cap(chains) {
		chains <- next()
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rt := <-chains
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/auth/refresh", strings.NewReader(`{"refresh_token":"`+rt+`"}`))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("refresh: %d %s", rec.Code, rec.Body)
				return
			}
			body := rec.Body.String()
			i := strings.Index(body, `"refresh_token":"`)
			rest := body[i+len(`"refresh_token":"`):]
			rt = rest[:strings.IndexByte(rest, '"')]
		}
	})
}

// FuzzFlatStrings checks that the fast reading of flat string objects
// agrees with the general one wherever it answers.
func FuzzFlatStrings(f *testing.F) {
	for _, s := range []string{
		`{"refresh_token":"abc.def-ghi_jkl"}`,
		`{"login":"ada","password":"correct horse battery"}`,
		` { "a" : "1" , "a":"2" } `,
		"{\"a\":\"1\"}\n",
		`{}`, `{ }`, `{"a":1}`, `{"a":"\u0041"}`, `{"a":"é"}`, `{"a":"x",}`, `{"a" "x"}`,
		`{"a":"x"}{}`, `["a"]`, `{"__proto__":"x"}`, `{"a":"<&>"}`, "{\"a\":\"\t\"}", `{"":""}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fast, ok := httpapi.FlatStrings(text)
		if !ok {
			return
		}
		slow, err := httpapi.ParseJSON(text)
		if err != nil {
			t.Fatalf("%q: fast path read %v, general path refused: %v", text, fast, err)
		}
		if len(fast) != len(slow) {
			t.Fatalf("%q: fast %v, general %v", text, fast, slow)
		}
		for k, v := range slow {
			if fast[k] != v {
				t.Fatalf("%q: field %q: fast %+v, general %+v", text, k, fast[k], v)
			}
		}
	})
}
