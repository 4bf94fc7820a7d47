package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// op is one kind of request the load generator sends.
type op uint8

const (
	opSignup op = iota
	opSignin
	opRefresh
	opHealthz
	opUnknownLogin
	opWrongPassword
	opCorrectPassword
	opRealSignin
	numOps
)

// opNames are the names of ops in results.
var opNames = [numOps]string{
	opSignup:          "signup",
	opSignin:          "signin",
	opRefresh:         "refresh",
	opHealthz:         "healthz",
	opUnknownLogin:    "unknown_login",
	opWrongPassword:   "wrong_password",
	opCorrectPassword: "correct_password",
	opRealSignin:      "real_user_signin",
}

// expected is the status that counts as success for each op.
var expected = [numOps]int{
	opSignup:          http.StatusOK,
	opSignin:          http.StatusOK,
	opRefresh:         http.StatusOK,
	opHealthz:         http.StatusOK,
	opUnknownLogin:    http.StatusBadRequest,
	opWrongPassword:   http.StatusBadRequest,
	opCorrectPassword: http.StatusOK,
	opRealSignin:      http.StatusOK,
}

// Outcomes of a request that got no HTTP answer, as keys of Errors.
const (
	ErrTransport = "transport" // connection refused, reset, ...
	ErrTimeout   = "timeout"   // no full answer within Config.Timeout
)

// answer is the outcome of one request: an HTTP status, or a transport
// failure (status 0, failure set).
type answer struct {
	status  int
	failure string
	latency time.Duration
	body    []byte // valid until the next request of the same client
}

// client is one virtual client's connection to the server. It is used by
// one goroutine at a time.
type client struct {
	base string
	http *http.Client // for an https:// base, and for its Timeout
	// raw is the client's own connection to an http:// base (see conn);
	// nil for https:// bases.
	raw     *conn
	buf     bytes.Buffer
	reqBody bytes.Buffer
	// forwardedFor, when set, is sent as X-Forwarded-For: the client IP
	// of every request for a server that trusts this machine as a proxy.
	forwardedFor string
}

// newHTTPClient returns a keep-alive client for conns concurrent requests
// whose every request, answer included, must finish within timeout.
func newHTTPClient(conns int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// close closes the client's own connection, if it has one; a later request
// dials again.
func (c *client) close() {
	if c.raw != nil {
		c.raw.close()
	}
}

// do sends one request with an optional JSON body and reads the whole answer.
func (c *client) do(ctx context.Context, method, path string, body []byte) answer {
	if c.raw != nil {
		var hdr string
		if c.forwardedFor != "" {
			hdr = "X-Forwarded-For: " + c.forwardedFor + "\r\n"
		}
		start := time.Now()
		status, err := c.raw.do(ctx, method, path, hdr, body, &c.buf)
		lat := time.Since(start)
		if err != nil {
			return answer{failure: failureOf(err), latency: lat}
		}
		return answer{status: status, latency: lat, body: c.buf.Bytes()}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return answer{failure: ErrTransport}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", c.forwardedFor)
	}
	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		return answer{failure: failureOf(err), latency: time.Since(start)}
	}
	c.buf.Reset()
	_, err = c.buf.ReadFrom(res.Body)
	res.Body.Close()
	lat := time.Since(start)
	if err != nil {
		return answer{failure: failureOf(err), latency: lat}
	}
	return answer{status: res.StatusCode, latency: lat, body: c.buf.Bytes()}
}

// failureOf classifies a transport error.
func failureOf(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return ErrTimeout
	}
	return ErrTransport
}

// user is an account the load generator created.
type user struct {
	login, password string
}

// signup creates u. Logins and passwords the generator makes need no JSON
// escaping, but they are escaped anyway.
func (c *client) signup(ctx context.Context, u user) answer {
	c.reqBody.Reset()
	c.reqBody.WriteString(`{"firstName":"Bench","lastName":"Client","login":`)
	c.reqBody.WriteString(strconv.Quote(u.login))
	c.reqBody.WriteString(`,"email":`)
	c.reqBody.WriteString(strconv.Quote(u.login + "@bench.example.com"))
	c.reqBody.WriteString(`,"password":`)
	c.reqBody.WriteString(strconv.Quote(u.password))
	c.reqBody.WriteString(`}`)
	return c.do(ctx, http.MethodPost, "/auth/signup", c.reqBody.Bytes())
}

func (c *client) signin(ctx context.Context, login, password string) answer {
	c.reqBody.Reset()
	c.reqBody.WriteString(`{"login":`)
	c.reqBody.WriteString(strconv.Quote(login))
	c.reqBody.WriteString(`,"password":`)
	c.reqBody.WriteString(strconv.Quote(password))
	c.reqBody.WriteString(`}`)
	return c.do(ctx, http.MethodPost, "/auth/signin", c.reqBody.Bytes())
}

// refresh presents rt in the JSON body, where the contract recommends it.
func (c *client) refresh(ctx context.Context, rt string) answer {
	c.reqBody.Reset()
	c.reqBody.WriteString(`{"refresh_token":`)
	c.reqBody.WriteString(strconv.Quote(rt))
	c.reqBody.WriteString(`}`)
	return c.do(ctx, http.MethodPost, "/auth/refresh", c.reqBody.Bytes())
}

func (c *client) healthz(ctx context.Context) answer {
	return c.do(ctx, http.MethodGet, "/healthz", nil)
}

// refreshTokenKey is how the refresh token starts in a TokensDetails body.
const refreshTokenKey = `"refresh_token":"`

// refreshTokenOf returns the refresh token of a TokensDetails body. Tokens
// hold no characters JSON escapes, so the common case is a plain scan; any
// other body is decoded properly.
func refreshTokenOf(body []byte) (string, error) {
	if i := bytes.Index(body, []byte(refreshTokenKey)); i >= 0 {
		rest := body[i+len(refreshTokenKey):]
		if j := bytes.IndexByte(rest, '"'); j > 0 && bytes.IndexByte(rest[:j], '\\') < 0 {
			return string(rest[:j]), nil
		}
	}
	var t struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.RefreshToken == "" {
		return "", fmt.Errorf("bench: answer holds no refresh token (%d bytes)", len(body))
	}
	return t.RefreshToken, nil
}
