package bench_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/sqlstore"
	"github.com/authstore/auth/token"
)

// serverEnv makes the test binary act as a stand-in for `authstore serve`
// (see TestMain).
const serverEnv = "BENCH_TEST_SERVER"

// TestMain lets the test binary stand in for `authstore serve`: with
// serverEnv set it serves the real API on the --addr it is given, prints the
// listening line, and stops on SIGTERM. Its help lists the per-IP rate limit
// flags, and it refuses to start unless StartLocal turned them off and passed
// "--extra yes" through.
func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) == "1" {
		os.Exit(fakeServe(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeServe(args []string) int {
	if slices.Contains(args, "--help") {
		fmt.Fprintln(os.Stderr, "  --ip-rate-limit (AUTHSTORE_IP_RATE_LIMIT)\n  --ip-refresh-rate-limit (AUTHSTORE_IP_REFRESH_RATE_LIMIT)")
		return 0
	}
	flags := map[string]string{}
	for i := 1; i+1 < len(args); i += 2 {
		flags[args[i]] = args[i+1]
	}
	if args[0] != "serve" || flags["--ip-rate-limit"] != "0" || flags["--ip-refresh-rate-limit"] != "0" ||
		flags["--log-level"] != "" || flags["--extra"] != "yes" || flags["--db"] == "" {
		fmt.Fprintf(os.Stderr, "unexpected arguments %q\n", args)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	h, closeDB, err := newHandler(ctx, flags["--db"])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer closeDB()
	ln, err := net.Listen("tcp", flags["--addr"])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: h}
	fmt.Printf("authstore listening on http://%s\n", ln.Addr())
	go srv.Serve(ln)
	<-ctx.Done()
	if err := srv.Shutdown(context.Background()); err != nil {
		return 1
	}
	return 0
}

// newHandler wires the real packages over the SQLite database dsn, with
// hashing parameters small enough for tests.
func newHandler(ctx context.Context, dsn string) (http.Handler, func(), error) {
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Migrate: true})
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	sealKey, macKey := make([]byte, token.SealerKeySize), make([]byte, 32)
	rand.Read(sealKey)
	rand.Read(macKey)
	sealer, err := token.NewSealer(sealKey)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("sealer: %w", err)
	}
	ring, err := token.LoadKeys(ctx, token.KeysConfig{Store: db, Sealer: sealer, Algorithm: token.EdDSA})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("key ring: %w", err)
	}
	svc, err := auth.NewService(auth.Config{
		Store:  db,
		Signer: ring,
		Hasher: password.New(password.Options{
			Params: testParams(),
		}),
		RefreshKey:   macKey,
		Issuer:       "http://bench.test",
		AccessTTL:    20 * time.Minute,
		RefreshTTL:   720 * time.Hour,
		RefreshGrace: 10 * time.Second,
	})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("service: %w", err)
	}
	return httpapi.NewServer(httpapi.Config{JWKS: ring.JWKS}, svc), func() { db.Close() }, nil
}

// testParams are argon2id parameters cheap enough for tests.
func testParams() password.Params {
	return password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// newServer returns an in-process server over the real packages and an
// in-memory database.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, closeDB, err := newHandler(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		closeDB()
	})
	return srv
}
