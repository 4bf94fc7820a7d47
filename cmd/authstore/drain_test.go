package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// On shutdown the server drains for --shutdown-delay before it stops
// listening: /readyz answers 503, every request sent meanwhile, on new or
// kept-alive connections, is answered (none meets a reset or EOF), and each
// answer closes its connection. The requests are POSTs, which the Go client
// never retries on a broken connection, so an EOF would show.
func TestShutdownDrain(t *testing.T) {
	t.Parallel()
	const delay = 2 * time.Second
	s := startServer(t, nil, "--db", filepath.Join(t.TempDir(), "a.db"), "--shutdown-delay", delay.String(),
		"--ip-rate-limit", "0", "--ip-refresh-rate-limit", "0")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	post := func() (*http.Response, error) {
		res, err := client.Post(s.url+"/auth/refresh", "application/json", strings.NewReader(`{}`))
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return res, err
	}

	const clients = 8
	var (
		stop              atomic.Bool
		wg                sync.WaitGroup
		mu                sync.Mutex
		errs              []error
		answered, closing atomic.Int64
	)
	var draining atomic.Bool // set once /readyz has answered 503
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				sentDraining := draining.Load()
				res, err := post()
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				if sentDraining {
					answered.Add(1)
					if res.Close {
						closing.Add(1)
					}
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // keep-alive connections in use
	start := time.Now()
	s.stop() // SIGTERM
	// /readyz turns 503 at once.
	for {
		res, err := client.Get(s.url + "/readyz")
		if err != nil {
			t.Fatalf("readyz during the drain: %v", err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			draining.Store(true)
			break
		}
		if time.Since(start) > delay/2 {
			t.Fatalf("readyz still %d %v after the signal", res.StatusCode, time.Since(start))
		}
	}
	time.Sleep(time.Until(start.Add(delay / 2)))
	stop.Store(true)
	wg.Wait()
	if len(errs) > 0 {
		t.Errorf("%d requests sent during the drain failed, first: %v", len(errs), errs[0])
	}
	if answered.Load() == 0 || closing.Load() != answered.Load() {
		t.Errorf("%d requests sent once /readyz answered 503, %d of them answered with Connection: close; want all", answered.Load(), closing.Load())
	}
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
		if took := time.Since(start); took < delay {
			t.Errorf("stopped %v after the signal, before the %v delay", took, delay)
		}
	case <-time.After(delay + 20*time.Second):
		t.Fatal("server did not stop")
	}
}
