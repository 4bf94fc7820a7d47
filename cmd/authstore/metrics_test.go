package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetricsEndpoint(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, nil, "--db", filepath.Join(dir, "a.db"), "--metrics")
	up := s.post(t, "/auth/signup", map[string]any{"firstName": "M", "lastName": "E", "login": "metric", "email": "m@example.com", "password": "correct horse battery"})
	up.want(t, 200, "")
	s.post(t, "/auth/signin", map[string]any{"login": "metric", "password": "wrong password"}).want(t, 400, "")
	r1 := s.post(t, refreshPath(up.str("refresh_token")), nil)
	r1.want(t, 200, "")
	r2 := s.post(t, refreshPath(r1.str("refresh_token")), nil)
	r2.want(t, 200, "")
	// Two generations back: reuse.
	s.post(t, refreshPath(up.str("refresh_token")), nil).want(t, 401, "Invalid token")
	s.post(t, "/no/such/route", nil).want(t, 404, "")

	res, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(b)
	for _, want := range []string{
		`authstore_http_requests_total{method="POST",route="POST /auth/signup",status="200"} 1`,
		`authstore_http_requests_total{method="POST",route="POST /auth/refresh",status="200"} 2`,
		`authstore_http_requests_total{method="POST",route="POST /auth/refresh",status="401"} 1`,
		`authstore_http_requests_total{method="-",route="unmatched",status="404"} 1`,
		`authstore_http_request_duration_seconds_bucket{route="POST /auth/signin",le="+Inf"} 1`,
		`authstore_events_total{event="signup"} 1`,
		`authstore_events_total{event="signin_failed"} 1`,
		`authstore_events_total{event="refresh_reuse"} 1`,
		`authstore_hashing_slots `,
		`authstore_hashing_queue_depth 0`,
		`authstore_hashing_rejected_total 0`,
		`authstore_db_connections_open `,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}

	off := startServer(t, nil, "--db", filepath.Join(dir, "b.db")) // off by default
	res, err = http.Get(off.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("without --metrics: /metrics answers %d, want 404", res.StatusCode)
	}
}
