package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the authstore command: with
// AUTHSTORE_TEST_MAIN set, it runs main with the arguments after "--".
func TestMain(m *testing.M) {
	if os.Getenv("AUTHSTORE_TEST_MAIN") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"authstore"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		return
	}
	os.Exit(m.Run())
}

// SIGTERM and SIGINT stop the real process cleanly: exit status 0, after
// the shutdown is logged.
func TestSignalsStopCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "serve", "--addr", "127.0.0.1:0", "--shutdown-delay", "100ms", "--db", filepath.Join(t.TempDir(), "a.db"))
			cmd.Env = append(os.Environ(), "AUTHSTORE_TEST_MAIN=1")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			m := listening.FindStringSubmatch(line)
			if err != nil || m == nil {
				cmd.Process.Kill()
				t.Fatalf("no listening line: %q %v\n%s", line, err, stderr.String())
			}
			if res, err := http.Get(m[1] + "/healthz"); err != nil || res.StatusCode != 200 {
				t.Fatalf("healthz: %v", err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after %v: %v\n%s", sig, err, stderr.String())
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatal("process did not stop")
			}
			if !strings.Contains(stderr.String(), "stopped") {
				t.Errorf("shutdown not logged:\n%s", stderr.String())
			}
		})
	}
}
