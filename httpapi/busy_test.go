package httpapi_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/sqlstore"
	"github.com/authstore/auth/token"
)

// gateReader blocks every Read until open is closed, so a hash that reads
// its salt from it holds its place for as long as the test wants.
type gateReader struct{ open chan struct{} }

func (g gateReader) Read(p []byte) (int, error) {
	<-g.open
	return rand.Read(p)
}

// With every place taken (one, hashing), a signup is answered 503 "Service
// busy, please retry" with Retry-After once its short wait is over, not
// queued.
func TestBusyHashingAnswers503(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, t.TempDir()+"/auth.db", sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, _ := token.NewSealer(make([]byte, token.SealerKeySize))
	ring, err := token.LoadKeys(ctx, token.KeysConfig{Store: db, Sealer: sealer, Algorithm: token.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	gate := gateReader{open: make(chan struct{})}
	hasher := password.New(password.Options{
		Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		Rand:   gate,
	})
	svc, err := auth.NewService(auth.Config{
		Store: db, Signer: ring, Hasher: hasher, RefreshKey: make([]byte, 32),
		PasswordHashes: 1, MaxPasswordChecks: 1, PasswordCheckWait: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Config{}, svc))
	t.Cleanup(srv.Close)

	post := func(login string) *http.Response {
		body := `{"firstName":"A","lastName":"B","login":"` + login + `","email":"` + login + `@example.com","password":"password123"}`
		res, err := http.Post(srv.URL+"/auth/signup", "application/json", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return nil
		}
		res.Body.Close()
		return res
	}
	var wg sync.WaitGroup
	var first *http.Response
	wg.Go(func() { first = post("first") })
	for svc.HashingStats().InFlight == 0 {
		time.Sleep(time.Millisecond)
	}
	res := post("second")
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("saturated signup: %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	close(gate.open)
	wg.Wait()
	if first == nil || first.StatusCode != http.StatusOK {
		t.Fatalf("the signup holding the place must succeed: %v", first)
	}
	if post("third").StatusCode != http.StatusOK {
		t.Fatal("signup after the place is free must succeed")
	}
	if s := svc.HashingStats(); s != (auth.HashingStats{Slots: 1, Rejected: 1}) {
		t.Errorf("HashingStats = %+v, want one slot and the one refusal", s)
	}
}
