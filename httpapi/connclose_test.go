package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authstore/auth/httpapi"
)

// A request with both Transfer-Encoding and Content-Length is answered and
// then its connection is closed (RFC 9112 section 6.1), so bytes a front end
// framed differently can never be read as a next request. A request with
// Content-Length alone keeps its connection.
func TestTransferEncodingClosesConnection(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, httpapi.Config{})
	srv := httptest.NewServer(hs.h)
	t.Cleanup(srv.Close)
	body := `{"login":"nobody","password":"x"}`
	tests := []struct {
		name      string
		request   string
		wantClose bool
	}{
		{"chunked and content-length", "POST /auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x", len(body)) + "\r\n" + body + "\r\n0\r\n\r\n", true},
		{"chunked", "POST /auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x", len(body)) + "\r\n" + body + "\r\n0\r\n\r\n", true},
		{"content-length", "POST /auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tt.request); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400 (the body was read)", res.StatusCode)
			}
			// A closed connection reads EOF at once; an open one
			// times out.
			conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			_, err = br.ReadByte()
			closed := err == io.EOF
			if !closed {
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					t.Fatalf("after the response: %v", err)
				}
			}
			if closed != tt.wantClose {
				t.Errorf("connection closed %v, want %v (Connection: %q)", closed, tt.wantClose, res.Header.Get("Connection"))
			}
		})
	}
}
