package httpapi_test

import (
	"context"
	"errors"
	"log/slog"
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

// downStore is a Store whose failure-count reads and login and email
// checks fail as a database outage does.
type downStore struct{ auth.Store }

func outage(op string) error {
	return &auth.Error{Kind: auth.KindUnavailable, Message: "Database unavailable", Op: op, Err: errors.New("disk I/O error")}
}

func (downStore) LoginFailures(context.Context, string) (auth.LoginFailures, error) {
	return auth.LoginFailures{}, outage("sqlstore: login failures")
}

func (downStore) KeysTaken(context.Context, string, string, string) (bool, bool, error) {
	return false, false, outage("sqlstore: keys taken")
}

// settable is a clock tests move by hand.
type settable struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settable) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *settable) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// The cause of a 503 Database unavailable is logged, at most once per cause
// every 10 seconds, with the count of the answers it did not log.
func TestUnavailableCauseLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, t.TempDir()+"/auth.db", sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, err := token.NewSealer(randomBytes(t, token.SealerKeySize))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := token.LoadKeys(ctx, token.KeysConfig{Store: db, Sealer: sealer, Algorithm: token.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.NewService(auth.Config{
		Store: downStore{db}, Signer: ring, RefreshKey: randomBytes(t, 32),
		Hasher: password.New(password.Options{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	clk := &settable{now: fixedNow}
	h := httpapi.NewServer(httpapi.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: clk.Now}, svc)
	post := func(target, body string) {
		t.Helper()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("POST %s: %d %s", target, rec.Code, rec.Body)
		}
	}
	signin := func() { post("/auth/signin", `{"login":"alice","password":"some password"}`) }
	signup := func() { post("/auth/signup", signupBody("bob").body) }

	type want struct {
		cause      string
		suppressed float64
	}
	steps := []struct {
		name string
		do   func()
		want []want // the lines this step adds
	}{
		{"first signin", signin, []want{{"sqlstore: login failures", 0}}},
		{"four more signins", func() { signin(); signin(); signin(); signin() }, nil},
		{"another cause", signup, []want{{"sqlstore: keys taken", 0}}},
		{"9 s later", func() { clk.Add(9 * time.Second); signin() }, nil},
		{"10 s after the first", func() { clk.Add(time.Second); signin() }, []want{{"sqlstore: login failures", 5}}},
	}
	seen := 0
	for _, st := range steps {
		st.do()
		var lines []logLine
		for _, l := range parseLog(t, logs.String()) {
			if l["msg"] == "unavailable" {
				lines = append(lines, l)
			}
		}
		added := lines[seen:]
		seen = len(lines)
		if len(added) != len(st.want) {
			t.Fatalf("%s: %d lines logged, want %d:\n%s", st.name, len(added), len(st.want), logs)
		}
		for i, w := range st.want {
			if added[i]["cause"] != w.cause || added[i]["suppressed"] != w.suppressed || added[i]["error"] == "" {
				t.Errorf("%s: line %v, want cause %q suppressed %v", st.name, added[i], w.cause, w.suppressed)
			}
		}
	}
}
