package bench

import (
	"bytes"
	"context"
	"time"
)

// Internal helpers exposed to the external tests.
var (
	ParseStatusBytes = parseStatusBytes
	ParseStatCPU     = parseStatCPU
	RefreshTokenOf   = refreshTokenOf
)

var ServerLogLevel = serverLogLevel

// Count returns how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// RawGet sends GET path on c, a connection from NewRawConn, and returns the
// status and body of the answer.
func RawGet(c *conn, path string) (int, string, error) {
	var buf bytes.Buffer
	status, err := c.do(context.Background(), "GET", path, "", nil, &buf)
	return status, buf.String(), err
}

// NewRawConn is the load generator's own connection to base.
func NewRawConn(base string) *conn { return newConn(base, 5*time.Second) }
