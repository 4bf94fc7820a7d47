package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheck is `authstore healthcheck [--url URL] [--timeout D]`: it GETs
// url (default /healthz on the port of AUTHSTORE_ADDR, or 8080, on the
// loopback address) and returns nil on a 200, an error otherwise, so the
// process exits 0 or 1. It lets a container image without a shell have a
// HEALTHCHECK.
func healthcheck(ctx context.Context, e cmdEnv, url string, timeout time.Duration, pos []string) error {
	if len(pos) > 0 {
		return usageError{Msg: fmt.Sprintf("healthcheck takes no arguments, got %q", pos)}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usageError{Msg: fmt.Sprintf("--url: %v", err)}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", url, res.Status)
	}
	fmt.Fprintln(e.stdout, "healthy")
	return nil
}

// defaultHealthURL is http://127.0.0.1:PORT/healthz for the port of addr
// (an --addr value such as ":8080" or "0.0.0.0:9000"), or 8080 when addr is
// empty or has no port.
func defaultHealthURL(addr string) string {
	port := "8080"
	if _, p, err := net.SplitHostPort(addr); err == nil && p != "" {
		port = p
	}
	return "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
}
