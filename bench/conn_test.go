package bench_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authstore/auth/bench"
)

// The load generator's connection reads answers as an HTTP/1.1 client must.
func TestRawConn(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hints":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Write([]byte("final"))
		case "/chunked":
			w.Write([]byte("one "))
			w.(http.Flusher).Flush()
			w.Write([]byte("two"))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Write([]byte(r.URL.Path))
		}
	}))
	srv.Config.IdleTimeout = 100 * time.Millisecond
	srv.Start()
	defer srv.Close()
	c := bench.NewRawConn(srv.URL)
	get := func(path string, wantStatus int, wantBody string) {
		t.Helper()
		status, body, err := bench.RawGet(c, path)
		if err != nil || status != wantStatus || body != wantBody {
			t.Errorf("GET %s = %d %q, %v; want %d %q", path, status, body, err, wantStatus, wantBody)
		}
	}
	get("/hints", http.StatusOK, "final") // the 103 skipped, not taken for the answer
	get("/second", http.StatusOK, "/second")
	get("/chunked", http.StatusOK, "one two")
	get("/empty", http.StatusNoContent, "")
	get("/after-empty", http.StatusOK, "/after-empty")
	// The server closes the idle connection; the next request dials again.
	time.Sleep(300 * time.Millisecond)
	get("/after-idle", http.StatusOK, "/after-idle")
}
