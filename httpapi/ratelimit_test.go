package httpapi_test

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
	"github.com/authstore/auth/password"
)

// throttleSigner signs nothing; these tests only need a non-empty access token.
type throttleSigner struct{}

func (throttleSigner) Sign(context.Context, auth.AccessClaims) (string, error) { return "a.b.c", nil }

// throttleClock is a settable clock for the rate limits and the service's
// throttle.
type throttleClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *throttleClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *throttleClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// trustedProxy is the trusted proxy the throttled harness's requests come through
// (httptest.NewRequest's RemoteAddr); X-Forwarded-For names the client.
const trustedProxy = "192.0.2.1/32"

// newThrottledHarness is a harness whose server has the rate limits of
// limits, over a service configured by svcCfg (nil for none), on the
// harness's database, both on its clock, behind one trusted proxy. suspect
// reports whether the server holds the source of a client IP suspect.
func newThrottledHarness(t *testing.T, limits httpapi.Config, svcCfg func(*auth.Config)) (hs *harness, clk *throttleClock, suspect func(ip string) bool) {
	t.Helper()
	cfg := httpapi.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix(trustedProxy)}}
	hs = newHarness(t, cfg)
	clk = &throttleClock{now: fixedNow}
	acfg := auth.Config{
		Store:      hs.db,
		Signer:     throttleSigner{},
		Hasher:     password.New(password.Options{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}),
		RefreshKey: randomBytes(t, 32),
		Now:        clk.Now,
		Logger:     slog.New(slog.DiscardHandler),
	}
	if svcCfg != nil {
		svcCfg(&acfg)
	}
	svc, err := auth.NewService(acfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.IPRateLimit, cfg.IPRefreshRateLimit, cfg.SubnetRateLimit, cfg.IPRateLimitKeys =
		limits.IPRateLimit, limits.IPRefreshRateLimit, limits.SubnetRateLimit, limits.IPRateLimitKeys
	cfg.Now = clk.Now
	cfg.Logger = slog.New(slog.NewJSONHandler(hs.logs, nil))
	hs.h, suspect = httpapi.NewServerSuspects(cfg, svc)
	return hs, clk, suspect
}

func viaProxy(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }

// wantThrottled checks a 429 in the error shape with its headers.
func wantThrottled(t *testing.T, ex exchange, path, retryAfter string, header map[string]string) {
	t.Helper()
	status, msgs, ts, p := ex.errorBody(t)
	if ex.status != 429 || status != 429 || len(msgs) != 1 || msgs[0] != "Too many requests, please try again later." || ts != fixedTimestamp || p != path {
		t.Errorf("got %d %s, want 429 Too many requests for %s", ex.status, ex.body, path)
	}
	if got := ex.header.Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After = %q, want %q", got, retryAfter)
	}
	wantHeaderValues(t, ex, header)
}

func wantHeaderValues(t *testing.T, ex exchange, header map[string]string) {
	t.Helper()
	for k, v := range header {
		if got := ex.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// Signup and signin share the per-IP limit of 7 a minute (one every
// 60/7 s); the answers carry RateLimit-Policy and RateLimit; the 8th is a
// 429 with Retry-After rounded up; other IPs and other routes are apart.
func TestThrottleSigninPerIP(t *testing.T) {
	hs, clk, _ := newThrottledHarness(t, httpapi.Config{IPRateLimit: 7}, nil)
	const policy = `"signin-ip";q=7;w=60`
	client := viaProxy("198.51.100.7")
	for i := range 7 {
		var ex exchange
		if i%2 == 0 {
			ex = hs.do(t, "POST", "/auth/signin", jsonFields("login", "nobody", "password", "wrong password"), client)
		} else {
			ex = hs.do(t, "POST", "/auth/signup", signupBody("user"+string(rune('a'+i))), client)
		}
		if ex.status == 429 {
			t.Fatalf("request %d refused: %s", i+1, ex.body)
		}
		reset := (time.Duration(i+1)*time.Minute/7 + time.Second - 1) / time.Second
		wantHeaderValues(t, ex, map[string]string{
			"RateLimit-Policy": policy,
			"RateLimit":        `"signin-ip";r=` + strconv.Itoa(6-i) + ";t=" + strconv.Itoa(int(reset)),
		})
	}
	refused := hs.do(t, "POST", "/auth/signin", jsonFields("login", "nobody", "password", "wrong password"), client)
	wantThrottled(t, refused, "/auth/signin", "9", map[string]string{"RateLimit-Policy": policy, "RateLimit": `"signin-ip";r=0;t=60`})
	wantThrottled(t, hs.do(t, "POST", "/auth/signup", signupBody("late"), client), "/auth/signup", "9", nil)
	// The limit is the route's: a refusal is logged (and observed) with
	// its route pattern.
	if !strings.Contains(hs.logs.String(), `"route":"POST /auth/signin","path":"/auth/signin","status":429`) {
		t.Errorf("no access-log line of the 429 with its route:\n%s", hs.logs)
	}

	// Another client behind the same proxy has its own count.
	if ex := hs.do(t, "POST", "/auth/signup", signupBody("other"), viaProxy("198.51.100.8")); ex.status != 200 {
		t.Errorf("another client: %d %s", ex.status, ex.body)
	}
	// A client cannot pose as another by sending X-Forwarded-For itself.
	if ex := hs.do(t, "POST", "/auth/signup", signupBody("spoof"), viaProxy("198.51.100.9, 198.51.100.7")); ex.status != 429 {
		t.Errorf("spoofed X-Forwarded-For: %d, want 429", ex.status)
	}
	// Other routes are not limited here (IPRefreshRateLimit 0): no headers.
	if ex := hs.do(t, "GET", "/healthz", payload{}, client); ex.status != 200 || ex.header.Get("RateLimit") != "" {
		t.Errorf("healthz: %d, RateLimit %q", ex.status, ex.header.Get("RateLimit"))
	}
	// One interval later, one more request.
	clk.Add(time.Minute / 7)
	if ex := hs.do(t, "POST", "/auth/signup", signupBody("later"), client); ex.status != 200 {
		t.Errorf("after the interval: %d %s", ex.status, ex.body)
	}
}

// Every other route has the looser per-IP limit, 429 included in
// openapi.json for each. Unrouted requests are not counted.
func TestThrottleOtherRoutesPerIP(t *testing.T) {
	hs, _, _ := newThrottledHarness(t, httpapi.Config{IPRateLimit: 100, IPRefreshRateLimit: 1}, nil)
	tests := []struct {
		method, path string
		body         payload
	}{
		{"GET", "/healthz", payload{}},
		{"GET", "/readyz", payload{}},
		{"GET", "/openapi.json", payload{}},
		{"GET", "/.well-known/jwks.json", payload{}},
		{"POST", "/auth/refresh", jsonFields("refresh_token", "nonsense")},
	}
	for i, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			client := viaProxy("198.51.100." + strconv.Itoa(i+1))
			first := hs.do(t, tt.method, tt.path, tt.body, client)
			if first.status == 429 {
				t.Fatalf("first request refused")
			}
			wantHeaderValues(t, first, map[string]string{"RateLimit-Policy": `"ip";q=1;w=60`, "RateLimit": `"ip";r=0;t=60`})
			wantThrottled(t, hs.do(t, tt.method, tt.path, tt.body, client), tt.path, "60",
				map[string]string{"RateLimit-Policy": `"ip";q=1;w=60`, "RateLimit": `"ip";r=0;t=60`})
			if ex := hs.do(t, tt.method, "/auth/nothing", payload{}, client); ex.status != 404 {
				t.Errorf("unknown route: %d, want 404", ex.status)
			}
			// Signin has its own limit.
			if ex := hs.do(t, "POST", "/auth/signin", jsonFields("login", "x"+strconv.Itoa(i), "password", "wrong password"), client); ex.status != 400 {
				t.Errorf("signin: %d %s", ex.status, ex.body)
			}
		})
	}
}

// Failed signins of one login are throttled per account: after five, 429
// with Retry-After, whatever the client IP.
func TestThrottleSigninPerAccount(t *testing.T) {
	hs, clk, _ := newThrottledHarness(t, httpapi.Config{}, nil)
	if ex := hs.do(t, "POST", "/auth/signup", signupBody("victim"), viaProxy("198.51.100.1")); ex.status != 200 {
		t.Fatalf("signup: %d %s", ex.status, ex.body)
	}
	guess := jsonFields("login", "victim", "password", "wrong password")
	for i := range 5 {
		if ex := hs.do(t, "POST", "/auth/signin", guess, viaProxy("203.0.113."+strconv.Itoa(i+1))); ex.status != 400 {
			t.Fatalf("failure %d: %d %s", i+1, ex.status, ex.body)
		}
	}
	ex := hs.do(t, "POST", "/auth/signin", jsonFields("login", "VICTIM", "password", "correct horse battery"), viaProxy("198.51.100.1"))
	wantThrottled(t, ex, "/auth/signin", "1", nil)
	if ex.header.Get("RateLimit") != "" {
		t.Errorf("no per-IP limit is configured, yet RateLimit = %q", ex.header.Get("RateLimit"))
	}
	clk.Add(time.Second)
	if ex := hs.do(t, "POST", "/auth/signin", jsonFields("login", "victim", "password", "correct horse battery"), viaProxy("198.51.100.1")); ex.status != 200 {
		t.Fatalf("signin after the delay: %d %s", ex.status, ex.body)
	}
}

// The session records the client IP from X-Forwarded-For of the trusted
// proxy.
func TestSessionRecordsClientIP(t *testing.T) {
	hs, _, _ := newThrottledHarness(t, httpapi.Config{}, nil)
	if ex := hs.do(t, "POST", "/auth/signup", signupBody("carol"), viaProxy("2001:db8::7, 192.0.2.1")); ex.status != 200 {
		t.Fatalf("signup: %d %s", ex.status, ex.body)
	}
	ctx := context.Background()
	u, err := hs.db.UserByLoginKey(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := hs.db.UserSessions(ctx, u.ID)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions: %v %v", sessions, err)
	}
	if sessions[0].IP != "2001:db8::7" {
		t.Errorf("session IP = %q, want 2001:db8::7", sessions[0].IP)
	}
}
