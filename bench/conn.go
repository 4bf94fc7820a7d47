package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// conn is a virtual client's own keep-alive HTTP/1.1 connection to a
// plain-http server, its requests written and its answers read by hand.
// On this machine net/http's client spent more CPU per request than the
// server it measured (about 0.2 ms against 0.13 ms per refresh), and the
// load generator shares the server's CPUs; this reads only what the bench
// needs: the status, Content-Length or chunked framing, Connection: close.
// Servers at https:// URLs are driven through net/http instead.
type conn struct {
	addr, host string
	prefix     string // the base URL's path, put before every request's
	timeout    time.Duration
	nc         net.Conn
	br         *bufio.Reader
	req        []byte
}

// newConn returns the connection for base, or nil if base is not a plain
// http:// URL.
func newConn(base string, timeout time.Duration) *conn {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &conn{addr: addr, host: u.Host, prefix: u.EscapedPath(), timeout: timeout}
}

// errBadAnswer is an answer this client cannot read as HTTP/1.1.
var errBadAnswer = errors.New("bench: malformed HTTP answer")

// do sends one request and reads the whole answer into buf. headers are
// extra header lines, each ending in CRLF. A failure closes the
// connection; the next request dials again.
func (c *conn) do(ctx context.Context, method, path string, headers string, body []byte, buf *bytes.Buffer) (status int, err error) {
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	r := append(c.req[:0], method...)
	r = append(append(append(append(r, ' '), c.prefix...), path...), " HTTP/1.1\r\nHost: "...)
	r = append(append(r, c.host...), "\r\n"...)
	if body != nil {
		r = append(r, "Content-Type: application/json\r\nContent-Length: "...)
		r = append(strconv.AppendInt(r, int64(len(body)), 10), "\r\n"...)
	}
	r = append(append(append(r, headers...), "\r\n"...), body...)
	c.req = r
	// A kept-alive connection the server closed meanwhile fails before
	// any byte of the answer: that one is dialled again and the request
	// sent once more, as net/http's client does.
	for attempt := 0; ; attempt++ {
		reused := c.nc != nil
		status, answered, err := c.exchange(ctx, deadline, method, buf)
		if err == nil || !reused || answered || attempt > 0 || ctx.Err() != nil {
			return status, err
		}
	}
}

// exchange sends c.req on the connection (dialling one if there is none)
// and reads the answer; answered reports whether any byte of it came. A
// failure closes the connection.
func (c *conn) exchange(ctx context.Context, deadline time.Time, method string, buf *bytes.Buffer) (status int, answered bool, err error) {
	if c.nc == nil {
		d := net.Dialer{Deadline: deadline, KeepAlive: 30 * time.Second}
		nc, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return 0, false, err
		}
		c.nc = nc
		if c.br == nil {
			c.br = bufio.NewReaderSize(nc, 16<<10)
		} else {
			c.br.Reset(nc)
		}
	}
	defer func() {
		if err != nil {
			c.close()
			if ctx.Err() != nil {
				err = ctx.Err()
			}
		}
	}()
	nc := c.nc
	nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		// A callback already started may set its past deadline after
		// this returns: the connection cannot be trusted with another
		// request then.
		if !stop() {
			c.close()
		}
	}()
	if _, err := nc.Write(c.req); err != nil {
		return 0, false, err
	}
	if _, err := c.br.Peek(1); err != nil {
		return 0, false, err
	}
	status, err = c.readAnswer(method, buf)
	return status, true, err
}

// readAnswer reads one answer's status line, headers and body.
// An interim answer (1xx other than 101) is skipped: the final one follows.
func (c *conn) readAnswer(method string, buf *bytes.Buffer) (int, error) {
	for {
		status, err := c.readOne(method, buf)
		if err != nil || status < 100 || status > 199 || status == 101 {
			return status, err
		}
	}
}

// readOne reads one answer, interim or final.
func (c *conn) readOne(method string, buf *bytes.Buffer) (int, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, errBadAnswer
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, errBadAnswer
	}
	length, chunked, closing := int64(-1), false, false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, errBadAnswer
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return 0, errBadAnswer
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	buf.Reset()
	switch {
	case method == "HEAD" || status == 204 || status == 304 || status/100 == 1:
	case chunked:
		if err := c.readChunked(buf); err != nil {
			return 0, err
		}
	case length >= 0:
		if _, err := io.CopyN(buf, c.br, length); err != nil {
			return 0, err
		}
	default: // the body runs to the end of the connection
		if _, err := buf.ReadFrom(c.br); err != nil {
			return 0, err
		}
		closing = true
	}
	if closing {
		c.close()
	}
	return status, nil
}

// readChunked reads a chunked body (RFC 9112 §7.1), trailers ignored.
func (c *conn) readChunked(buf *bytes.Buffer) error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errBadAnswer, size)
		}
		if n == 0 {
			for { // trailers, then the blank line
				line, err := c.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := io.CopyN(buf, c.br, n); err != nil {
			return err
		}
		if _, err := c.br.Discard(2); err != nil { // CRLF
			return err
		}
	}
}

// close drops the connection, if any.
func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}
