package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authstore/auth"
	"github.com/authstore/auth/password"
	"github.com/authstore/auth/sqlstore"
	"github.com/authstore/auth/token"
)

// fastParams keep argon2id cheap in tests; the rules under test do not
// depend on the cost.
var fastParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	svc   *auth.Service
	db    *sqlstore.DB
	path  string // the SQLite file of db
	clock *clock
}

// newFixture returns a Service on a fresh SQLite file. change, if not nil,
// edits the Config before the Service is built.
func newFixture(t testing.TB, change func(*auth.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	db, err := sqlstore.Open(ctx, path, sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, err := token.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	ring, err := token.LoadKeys(ctx, token.KeysConfig{Store: db, Sealer: sealer, Algorithm: token.EdDSA, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{
		Store:        db,
		Signer:       ring,
		Hasher:       password.New(password.Options{Params: fastParams}),
		RefreshKey:   []byte("0123456789abcdef0123456789abcdef"),
		Issuer:       "https://auth.test",
		Audience:     "store",
		AccessTTL:    20 * time.Minute,
		RefreshTTL:   720 * time.Hour,
		RefreshGrace: 10 * time.Second,
		Now:          clk.Now,
	}
	if change != nil {
		change(&cfg)
	}
	svc, err := auth.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, db: db, path: path, clock: clk}
}

func signupReq(login, email string) auth.SignupRequest {
	return auth.SignupRequest{
		FirstName: auth.String("Evgeny"), LastName: auth.String("Smirnov"),
		Login: auth.String(login), Email: auth.String(email), Password: auth.String("correct horse battery"),
	}
}

func (f *fixture) signup(t *testing.T, login string) auth.Tokens {
	t.Helper()
	tok, err := f.svc.Signup(context.Background(), signupReq(login, login+"@example.com"), auth.Client{IP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		t.Fatalf("signup %s: %v", login, err)
	}
	return tok
}

func (f *fixture) refresh(rt string) (auth.Tokens, error) {
	return f.svc.Refresh(context.Background(), rt, auth.Client{})
}

// claims decodes the payload of a JWT without verifying it (the token
// package's tests verify signatures).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func TestSignupIssuesTokens(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.signup(t, "alice")
	c := claims(t, tok.AccessToken)
	u, err := f.db.UserByLoginKey(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now().Unix()
	for k, want := range map[string]any{
		"iss": "https://auth.test", "sub": u.ID, "aud": "store",
		"iat": float64(now), "exp": float64(now + 20*60),
	} {
		if c[k] != want {
			t.Errorf("claim %s = %v, want %v", k, c[k], want)
		}
	}
	if sid, _ := c["sid"].(string); sid == "" || c["jti"] == "" {
		t.Errorf("claims sid and jti must be set: %v", c)
	}
	if tok.RefreshToken == "" || strings.Count(tok.RefreshToken, ".") != 0 {
		t.Errorf("refresh token must be opaque, got %q", tok.RefreshToken)
	}
}

func TestSignupConflicts(t *testing.T) {
	f := newFixture(t, nil)
	f.signup(t, "Alice")
	ctx := context.Background()
	tests := []struct {
		name, login, email string
		want               error
	}{
		{"login in other case", "ALICE", "new@example.com", auth.ErrLoginUsed},
		{"login with spaces", "  alice ", "new@example.com", auth.ErrLoginUsed},
		{"email in other case", "bob", "ALICE@Example.com", auth.ErrEmailUsed},
		{"both", "alice", "alice@example.com", auth.ErrLoginAndEmailUsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Signup(ctx, signupReq(tt.login, tt.email), auth.Client{})
			wantErr(t, err, tt.want)
		})
	}
}

func TestSignupKeepsTypedCaseAndTrims(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.svc.Signup(ctx, signupReq("  MiXed  ", " MiXed@Example.COM "), auth.Client{}); err != nil {
		t.Fatal(err)
	}
	u, err := f.db.UserByLoginKey(ctx, "mixed")
	if err != nil {
		t.Fatal(err)
	}
	if u.Login != "MiXed" || u.Email != "MiXed@Example.COM" {
		t.Errorf("stored login %q email %q, want the trimmed text in its typed case", u.Login, u.Email)
	}
}

func TestSignupValidation(t *testing.T) {
	f := newFixture(t, nil)
	req := auth.SignupRequest{
		FirstName: auth.Value{Type: auth.ValueNull},
		LastName:  auth.String("   "),
		Login:     auth.Value{Type: auth.ValueNumber},
		Email:     auth.String("not-an-email"),
		Password:  auth.String(strings.Repeat("p", 129)),
	}
	_, err := f.svc.Signup(context.Background(), req, auth.Client{})
	want := []string{
		"firstName must be longer than or equal to 1 characters", "firstName should not be empty", "firstName must be a string",
		"lastName must be longer than or equal to 1 characters", "lastName should not be empty",
		"login must be longer than or equal to 3 characters", "login must be a string",
		"email must be an email",
		"password must be shorter than or equal to 128 characters",
	}
	if auth.ErrorKind(err) != auth.KindInvalid || strings.Join(auth.ErrorMessages(err), "|") != strings.Join(want, "|") {
		t.Fatalf("got %v (%v), want messages\n%s", auth.ErrorMessages(err), err, strings.Join(want, "\n"))
	}
}

func TestSignin(t *testing.T) {
	f := newFixture(t, nil)
	f.signup(t, "alice")
	ctx := context.Background()
	tests := []struct {
		name, login, password string
		want                  error
	}{
		{"exact", "alice", "correct horse battery", nil},
		{"login in other case", "ALICE", "correct horse battery", nil},
		{"surrounding spaces", " alice ", " correct horse battery ", nil},
		{"wrong password", "alice", "wrong horse battery", auth.ErrBadCredentials},
		{"unknown login", "nobody", "correct horse battery", auth.ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String(tt.login), Password: auth.String(tt.password)}, auth.Client{})
			if tt.want != nil {
				wantErr(t, err, tt.want)
				return
			}
			if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
				t.Fatalf("signin: %v %+v", err, tok)
			}
		})
	}
}

func TestSigninRehashesOtherParameters(t *testing.T) {
	old := password.Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	f := newFixture(t, func(c *auth.Config) { c.Hasher = password.New(password.Options{Params: old}) })
	f.signup(t, "alice")
	ctx := context.Background()
	before, _ := f.db.UserByLoginKey(ctx, "alice")

	// The same database, served with today's parameters.
	svc, err := auth.NewService(auth.Config{
		Store: f.db, Signer: mustRing(t, f.db), Hasher: password.New(password.Options{Params: fastParams}),
		RefreshKey: []byte("0123456789abcdef0123456789abcdef"), Now: f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	in := auth.SigninRequest{Login: auth.String("alice"), Password: auth.String("correct horse battery")}
	if _, err := svc.Signin(ctx, in, auth.Client{}); err != nil {
		t.Fatal(err)
	}
	after, _ := f.db.UserByLoginKey(ctx, "alice")
	if after.PasswordHash == before.PasswordHash || !strings.Contains(after.PasswordHash, "m=64,t=1,p=1") {
		t.Fatalf("hash not upgraded: before %.30s after %.30s", before.PasswordHash, after.PasswordHash)
	}
	if _, err := svc.Signin(ctx, in, auth.Client{}); err != nil {
		t.Fatalf("signin after rehash: %v", err)
	}
}

func mustRing(t *testing.T, db *sqlstore.DB) *token.Keys {
	t.Helper()
	sealer, _ := token.NewSealer(make([]byte, 32))
	ring, err := token.LoadKeys(context.Background(), token.KeysConfig{Store: db, Sealer: sealer, Algorithm: token.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func TestRefreshRotates(t *testing.T) {
	f := newFixture(t, nil)
	rt0 := f.signup(t, "alice").RefreshToken
	f.clock.Add(time.Minute)
	t1, err := f.refresh(rt0)
	if err != nil {
		t.Fatal(err)
	}
	if t1.RefreshToken == rt0 {
		t.Fatal("refresh did not rotate the token")
	}
	if got, want := claims(t, t1.AccessToken)["exp"], float64(f.clock.Now().Add(20*time.Minute).Unix()); got != want {
		t.Errorf("new access token exp %v, want %v", got, want)
	}
	t2, err := f.refresh(t1.RefreshToken)
	if err != nil || t2.RefreshToken == t1.RefreshToken {
		t.Fatalf("second rotation: %v", err)
	}
	// Surrounding white space is ignored.
	f.clock.Add(time.Minute)
	if _, err := f.refresh("  " + t2.RefreshToken + "\n"); err != nil {
		t.Fatal(err)
	}
}

func TestRefreshGrace(t *testing.T) {
	tests := []struct {
		name   string
		grace  time.Duration
		after  time.Duration
		replay bool // the predecessor returns the current token
	}{
		{"inside the window", 10 * time.Second, 9 * time.Second, true},
		{"at the window's end", 10 * time.Second, 10 * time.Second, false},
		{"after the window", 10 * time.Second, time.Minute, false},
		{"window disabled", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *auth.Config) { c.RefreshGrace = tt.grace })
			rt0 := f.signup(t, "alice").RefreshToken
			t1, err := f.refresh(rt0)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Add(tt.after)
			again, err := f.refresh(rt0)
			if tt.replay {
				if err != nil || again.RefreshToken != t1.RefreshToken {
					t.Fatalf("replay in grace: err %v, token changed %v", err, again.RefreshToken != t1.RefreshToken)
				}
				if again.AccessToken == "" {
					t.Fatal("replay must carry an access token")
				}
				if _, err := f.refresh(t1.RefreshToken); err != nil {
					t.Fatalf("current token after a grace replay: %v", err)
				}
				return
			}
			wantErr(t, err, auth.ErrInvalidToken)
			_, err = f.refresh(t1.RefreshToken)
			wantErr(t, err, auth.ErrInvalidToken) // the whole session is revoked
		})
	}
}

func TestRefreshReuseRevokesOnlyThatSession(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	a0 := f.signup(t, "alice").RefreshToken
	b, err := f.svc.Signin(ctx, auth.SigninRequest{Login: auth.String("alice"), Password: auth.String("correct horse battery")}, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	a1, _ := f.refresh(a0)
	a2, err := f.refresh(a1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// a0 is two generations old: reuse, even inside the grace window.
	_, err = f.refresh(a0)
	wantErr(t, err, auth.ErrInvalidToken)
	for name, rt := range map[string]string{"current": a2.RefreshToken, "predecessor": a1.RefreshToken} {
		_, err := f.refresh(rt)
		if !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s token of the revoked session: %v, want Invalid token", name, err)
		}
	}
	if _, err := f.refresh(b.RefreshToken); err != nil {
		t.Fatalf("other session of the user: %v", err)
	}
}

func TestRefreshExpiry(t *testing.T) {
	f := newFixture(t, nil)
	rt0 := f.signup(t, "alice").RefreshToken
	f.clock.Add(720*time.Hour - time.Second)
	t1, err := f.refresh(rt0)
	if err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	// The new token lives 30 days from its own issue.
	f.clock.Add(720 * time.Hour)
	_, err = f.refresh(t1.RefreshToken)
	wantErr(t, err, auth.ErrTokenExpired)
}

func TestRefreshRefusesForeignTokens(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.signup(t, "alice")
	other := newFixture(t, func(c *auth.Config) { c.RefreshKey = []byte("another key of thirty-two bytes!") })
	foreign := other.signup(t, "alice").RefreshToken

	flipped := []byte(tok.RefreshToken)
	flipped[len(flipped)-2] ^= 1
	// The last character carries two unused bits; another spelling of the
	// same bytes is not the same token.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	respelled := []byte(tok.RefreshToken)
	last := strings.IndexByte(alphabet, respelled[len(respelled)-1])
	respelled[len(respelled)-1] = alphabet[last^1]
	tests := []struct {
		name, rt string
		want     error
	}{
		{"empty", "", auth.ErrEmptyRefresh},
		{"blank", "  \t ", auth.ErrEmptyRefresh},
		{"garbage", "garbage-token-value", auth.ErrInvalidToken},
		{"access token", tok.AccessToken, auth.ErrInvalidToken},
		{"tampered MAC", string(flipped), auth.ErrInvalidToken},
		{"unused bits set", string(respelled), auth.ErrInvalidToken},
		{"MAC under another key", foreign, auth.ErrInvalidToken},
		{"not base64", strings.Repeat("!", len(tok.RefreshToken)), auth.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.refresh(tt.rt)
			wantErr(t, err, tt.want)
		})
	}
	if _, err := f.refresh(tok.RefreshToken); err != nil {
		t.Fatalf("refused tokens must not disturb the session: %v", err)
	}
}

// Concurrent refreshes with one token never fork the session: with a grace
// window every request gets the same next token and the session moves one
// generation; without one, the session ends revoked, so no token of it works.
func TestRefreshConcurrentNeverForks(t *testing.T) {
	for _, grace := range []time.Duration{10 * time.Second, 0} {
		t.Run("grace "+grace.String(), func(t *testing.T) {
			f := newFixture(t, func(c *auth.Config) { c.RefreshGrace = grace })
			first := f.signup(t, "alice")
			sid, _ := claims(t, first.AccessToken)["sid"].(string)
			const n = 50
			var wg sync.WaitGroup
			results := make([]string, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					tok, err := f.refresh(first.RefreshToken)
					results[i], errs[i] = tok.RefreshToken, err
				})
			}
			wg.Wait()
			distinct := map[string]bool{}
			for i := range n {
				switch {
				case errs[i] == nil:
					distinct[results[i]] = true
				case !errors.Is(errs[i], auth.ErrInvalidToken):
					t.Fatalf("refresh %d: unexpected error %v", i, errs[i])
				}
			}
			sess, err := f.db.Session(context.Background(), sid)
			if err != nil {
				t.Fatal(err)
			}
			if sess.Generation != 2 {
				t.Errorf("generation %d after concurrent refreshes of generation 1, want 2", sess.Generation)
			}
			if grace > 0 {
				if len(distinct) != 1 || sess.Revoked() {
					t.Fatalf("with a grace window: %d distinct tokens, revoked %v; want 1 and a live session", len(distinct), sess.Revoked())
				}
				for i := range n {
					if errs[i] != nil {
						t.Fatalf("with a grace window every request succeeds: %v", errs[i])
					}
				}
				return
			}
			if !sess.Revoked() {
				t.Fatal("without a grace window, the losers' reuse must revoke the session")
			}
		})
	}
}

func TestSignupConcurrentSameEmail(t *testing.T) {
	f := newFixture(t, nil)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			login := fmt.Sprintf("user%02d", i)
			_, errs[i] = f.svc.Signup(context.Background(), signupReq(login, "Same@Example.com"), auth.Client{})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, auth.ErrEmailUsed):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d signups with one email succeeded, want 1", ok)
	}
}
