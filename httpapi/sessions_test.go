package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authstore/auth"
	"github.com/authstore/auth/httpapi"
)

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// wantError checks an answer in the error shape with one message.
func wantError(t *testing.T, ex exchange, status int, message string) {
	t.Helper()
	if ex.status != status {
		t.Fatalf("status %d, want %d: %s", ex.status, status, ex.body)
	}
	code, msgs, _, _ := ex.errorBody(t)
	if code != status || !slices.Equal(msgs, []string{message}) {
		t.Fatalf("error %d %q, want %d %q", code, msgs, status, message)
	}
}

type sessionJSON struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"createdAt"`
	LastUsedAt string `json:"lastUsedAt"`
	UserAgent  string `json:"userAgent"`
	IP         string `json:"ip"`
	Current    bool   `json:"current"`
}

func (hs *harness) sessions(t *testing.T, access string) []sessionJSON {
	t.Helper()
	ex := hs.do(t, http.MethodGet, "/auth/sessions", payload{}, bearer(access))
	if ex.status != 200 {
		t.Fatalf("sessions: %d %s", ex.status, ex.body)
	}
	var list []sessionJSON
	if err := json.Unmarshal(ex.body, &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// account signs up login and signs it in again from a "phone": the first
// session's tokens, then the phone's (the current one when listing with its
// access token).
func (hs *harness) account(t *testing.T, login string) (access, refresh, phoneAccess, phoneRefresh string) {
	t.Helper()
	access, refresh = hs.do(t, "POST", "/auth/signup", signupBody(login), nil).tokens(t)
	signin := jsonBody(`{"login":"` + strings.ToUpper(login) + `","password":"correct horse battery"}`)
	phoneAccess, phoneRefresh = hs.do(t, "POST", "/auth/signin", signin, map[string]string{"User-Agent": "phone"}).tokens(t)
	return access, refresh, phoneAccess, phoneRefresh
}

// Each row signs up its own users, so rows run in any order.
func TestBearerEndpoints(t *testing.T) {
	hs := newHarness(t, httpapi.Config{})
	_, refresh := hs.do(t, "POST", "/auth/signup", signupBody("refresher"), nil).tokens(t)

	for _, tt := range []struct {
		name    string
		header  map[string]string
		message string
	}{
		{"no Authorization", nil, "Unauthorised user (empty bearer token)"},
		{"another scheme", map[string]string{"Authorization": "Basic YWxpY2U6cHc="}, "Unauthorised user (empty bearer token)"},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, "Unauthorised user (empty bearer token)"},
		{"garbage", bearer("garbage"), "Invalid token"},
		{"a refresh token", bearer(refresh), "Invalid token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ex := hs.do(t, http.MethodGet, "/auth/me", payload{}, tt.header)
			wantError(t, ex, 401, tt.message)
			if ex.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}

	t.Run("me", func(t *testing.T) {
		access, _, _, _ := hs.account(t, "alice")
		ex := hs.do(t, http.MethodGet, "/auth/me", payload{}, map[string]string{"Authorization": "bearer " + access})
		var p map[string]any
		if ex.status != 200 || json.Unmarshal(ex.body, &p) != nil {
			t.Fatalf("me: %d %s", ex.status, ex.body)
		}
		if p["login"] != "alice" || p["email"] != "alice@example.com" || p["firstName"] != "Evgeny" || p["lastName"] != "Smirnov" ||
			len(p["uuid"].(string)) != 36 || p["emailVerified"] != false {
			t.Errorf("me = %v", p)
		}
		if ex.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", ex.header.Get("Cache-Control"))
		}
	})
	t.Run("sessions, newest first", func(t *testing.T) {
		_, _, phone, _ := hs.account(t, "lister")
		list := hs.sessions(t, phone)
		if len(list) != 2 || !list[0].Current || list[0].UserAgent != "phone" || list[1].Current {
			t.Fatalf("sessions = %+v, want the phone's (current) then the first", list)
		}
	})
	t.Run("another user's session is not found", func(t *testing.T) {
		_, _, phone, _ := hs.account(t, "carol")
		_, _, bobPhone, _ := hs.account(t, "bob")
		bobs := hs.sessions(t, bobPhone)
		wantError(t, hs.do(t, http.MethodDelete, "/auth/sessions/"+bobs[0].ID, payload{}, bearer(phone)), 404, "Session not found")
		wantError(t, hs.do(t, http.MethodDelete, "/auth/sessions/nope", payload{}, bearer(phone)), 404, "Session not found")
	})
	t.Run("revoke one of mine", func(t *testing.T) {
		access, refresh, phone, _ := hs.account(t, "dave")
		list := hs.sessions(t, phone)
		ex := hs.do(t, http.MethodDelete, "/auth/sessions/"+list[1].ID, payload{}, bearer(phone))
		if ex.status != 200 || string(ex.body) != "{}" {
			t.Fatalf("delete: %d %s", ex.status, ex.body)
		}
		wantError(t, hs.do(t, "POST", "/auth/refresh?rt="+url.QueryEscape(refresh), payload{}, nil), 401, "Invalid token")
		wantError(t, hs.do(t, http.MethodGet, "/auth/me", payload{}, bearer(access)), 401, "Invalid token")
	})
	t.Run("logout-all", func(t *testing.T) {
		_, _, phone, _ := hs.account(t, "erin")
		signin := jsonBody(`{"login":"erin","password":"correct horse battery"}`)
		hs.do(t, "POST", "/auth/signin", signin, nil).tokens(t)
		ex := hs.do(t, "POST", "/auth/logout-all", payload{}, bearer(phone))
		if ex.status != 200 || string(ex.body) != `{"revoked":2}` {
			t.Fatalf("logout-all: %d %s", ex.status, ex.body)
		}
		if got := hs.sessions(t, phone); len(got) != 1 || !got[0].Current {
			t.Errorf("after logout-all: %+v", got)
		}
	})
	t.Run("logout", func(t *testing.T) {
		_, _, phone, phoneRefresh := hs.account(t, "frank")
		wantError(t, hs.do(t, "POST", "/auth/logout", payload{}, nil), 400, "Refresh token must not be empty")
		wantError(t, hs.do(t, "POST", "/auth/logout?rt=nonsense", payload{}, nil), 401, "Invalid token")
		for range 2 { // the second time it is already revoked: still 200
			ex := hs.do(t, "POST", "/auth/logout", jsonBody(`{"refresh_token":"`+phoneRefresh+`"}`), nil)
			if ex.status != 200 || string(ex.body) != "{}" {
				t.Fatalf("logout: %d %s", ex.status, ex.body)
			}
		}
		wantError(t, hs.do(t, http.MethodGet, "/auth/me", payload{}, bearer(phone)), 401, "Invalid token")
		wantError(t, hs.do(t, "POST", "/auth/refresh?rt="+url.QueryEscape(phoneRefresh), payload{}, nil), 401, "Invalid token")
	})
}

func TestFormInvalidUTF8IsReplaced(t *testing.T) {
	hs := newHarness(t, httpapi.Config{})
	for _, p := range []payload{
		// Raw invalid bytes, in an urlencoded body and a multipart one,
		// become U+FFFD, as body-parser and busboy decode bodies.
		{"application/x-www-form-urlencoded", "firstName=\xff\xfeAnna&lastName=B&login=raw\xc3x&email=raw@example.com&password=correct+horse+battery"},
		multipartBody("firstName", "\xff\xfeAnna", "lastName", "B", "login", "mp\xc3x", "email", "utf8mp@example.com", "password", "correct horse battery"),
	} {
		hs.do(t, "POST", "/auth/signup", p, nil).tokens(t)
	}
	for _, login := range []string{"raw\uFFFDx", "mp\uFFFDx"} {
		u, err := hs.db.UserByLoginKey(context.Background(), auth.Fold(login))
		if err != nil {
			t.Fatalf("user %q: %v", login, err)
		}
		if u.FirstName != "\uFFFD\uFFFDAnna" || !utf8.ValidString(u.Login) {
			t.Errorf("stored %q / %q, want each invalid byte replaced by U+FFFD", u.FirstName, u.Login)
		}
	}
	// A percent-escape that does not decode to UTF-8 leaves its whole
	// value as written, as qs's decodeURIComponent failure leaves it.
	hs.do(t, "POST", "/auth/signup", formBody("firstName", "\xff\xfeAnna", "lastName", "B", "login", "esc\xc3x", "email", "esc@example.com", "password", "correct horse battery"), nil).tokens(t)
	u, err := hs.db.UserByLoginKey(context.Background(), auth.Fold("esc%C3x"))
	if err != nil {
		t.Fatalf("user esc%%C3x: %v", err)
	}
	if u.FirstName != "%FF%FEAnna" {
		t.Errorf("stored first name %q, want %q", u.FirstName, "%FF%FEAnna")
	}
}

// A client that leaves while its request waits is not a server fault: no
// 500 and no error line in the log.
func TestClientGoneIsNot500(t *testing.T) {
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, _, _ := newService(t, logger)
	h := httpapi.NewServer(httpapi.Config{Logger: logger}, svc)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("POST", "/auth/signin", strings.NewReader(`{"login":"someone","password":"some password"}`)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 499 {
		t.Errorf("status %d, want 499", rec.Code)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("an ERROR was logged for a client that left:\n%s", logs.String())
	}
}
