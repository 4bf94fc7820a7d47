package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// accountTests are the subtests of auth.AccountStore, which spans users,
// sessions and login failures.
func accountTests() []subtest[auth.Store] {
	return []subtest[auth.Store]{
		{"RequestMailStoresTokenAndMessage", testRequestMail},
		{"RequestMailSupersedes", testRequestMailSupersedes},
		{"RequestMailThrottle", testRequestMailThrottle},
		{"ConcurrentRequestMailThrottle", testConcurrentRequestMailThrottle},
		{"CreateUserWithSessionMail", testCreateUserWithSessionMail},
		{"ResetPassword", testResetPassword},
		{"ResetPasswordRefused", testResetPasswordRefused},
		{"ConcurrentConsumeOneWinner", testConcurrentConsume},
		{"ChangePassword", testChangePassword},
		{"VerifyEmail", testVerifyEmail},
		{"ChangeEmail", testChangeEmail},
		{"ChangeEmailDuplicate", testChangeEmailDuplicate},
		{"SetEmailVerified", testSetEmailVerified},
		{"UserByEmailKey", testUserByEmailKey},
		{"DeleteAccountTokens", testDeleteAccountTokens},
	}
}

// newToken is token n of userID, of kind, created at created and living ttl.
func newToken(n int, userID, kind, email string, created time.Time, ttl time.Duration) *auth.AccountToken {
	return &auth.AccountToken{
		ID: fmt.Sprintf("30000000-0000-4000-8000-%012d", n), UserID: userID, Kind: kind,
		Hash: fmt.Sprintf("%064x", n), Email: email, CreatedAt: created, ExpiresAt: created.Add(ttl),
	}
}

// newMessage is outbox message n, created (and due) at created.
func newMessage(n int, created time.Time) *auth.OutboxMessage {
	return &auth.OutboxMessage{
		ID: fmt.Sprintf("20000000-0000-4000-8000-%012d", n), Template: auth.TemplateResetPassword,
		To: fmt.Sprintf("user%d@example.com", n), Payload: []byte(fmt.Sprintf("sealed %d \x00\xff", n)),
		CreatedAt: created, NextAttemptAt: created,
	}
}

func mustRequestMail(t *testing.T, s auth.AccountStore, r *auth.MailRequest) bool {
	t.Helper()
	stored, err := s.RequestMail(t.Context(), r)
	if err != nil {
		t.Fatalf("RequestMail: %v", err)
	}
	return stored
}

// mailOf is a request to store token and message n of u at when.
func mailOf(n int, u *auth.User, kind string, when time.Time, ttl time.Duration) *auth.MailRequest {
	return &auth.MailRequest{
		At: when, Max: 1,
		Mail: &auth.AccountMail{Token: newToken(n, u.ID, kind, "", when, ttl), Message: newMessage(n, when)},
	}
}

func mustToken(t *testing.T, s auth.AccountStore, hash string) *auth.AccountToken {
	t.Helper()
	got, err := s.AccountToken(t.Context(), hash)
	if err != nil {
		t.Fatalf("AccountToken(%s): %v", hash, err)
	}
	return got
}

func checkToken(t *testing.T, got, want *auth.AccountToken) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Kind != want.Kind || got.Hash != want.Hash ||
		got.Email != want.Email || !sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.ExpiresAt, want.ExpiresAt) ||
		!sameTime(got.UsedAt, want.UsedAt) || got.UsedAt.IsZero() != want.UsedAt.IsZero() {
		t.Errorf("token = %+v, want %+v", got, want)
	}
}

// drain claims every due message at now and marks it sent, and returns them.
func drain(t *testing.T, s auth.OutboxStore, now time.Time) []auth.OutboxMessage {
	t.Helper()
	msgs := claimAll(t, s, "drain", now)
	for _, m := range msgs {
		if err := s.MarkSent(t.Context(), m.ID, "drain", now); err != nil {
			t.Fatalf("MarkSent: %v", err)
		}
	}
	return msgs
}

// claimAll claims every due message at now for owner.
func claimAll(t *testing.T, s auth.OutboxStore, owner string, now time.Time) []auth.OutboxMessage {
	t.Helper()
	msgs, err := s.ClaimOutbox(t.Context(), owner, now, time.Minute, 100)
	if err != nil {
		t.Fatalf("ClaimOutbox: %v", err)
	}
	return msgs
}

func checkMessage(t *testing.T, got auth.OutboxMessage, want *auth.OutboxMessage) {
	t.Helper()
	if got.ID != want.ID || got.Template != want.Template || got.To != want.To || string(got.Payload) != string(want.Payload) ||
		got.Attempts != want.Attempts || !sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.NextAttemptAt, want.NextAttemptAt) {
		t.Errorf("message = %+v, want %+v", got, want)
	}
}

func testRequestMail(t *testing.T, s auth.Store) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	r := mailOf(1, u, auth.TokenVerify, at(time.Hour), time.Hour)
	r.Mail.Token.Email = u.Email
	if !mustRequestMail(t, s, r) {
		t.Fatal("RequestMail without a throttle key did not store the mail")
	}
	checkToken(t, mustToken(t, s, r.Mail.Token.Hash), r.Mail.Token)
	if _, err := s.AccountToken(t.Context(), fmt.Sprintf("%064x", 99)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("AccountToken(unknown) error = %v, want ErrNotFound", err)
	}
	msgs := drain(t, s, at(time.Hour))
	if len(msgs) != 1 {
		t.Fatalf("claimed %d messages, want 1", len(msgs))
	}
	checkMessage(t, msgs[0], r.Mail.Message)

	// A message without a token (a notice) is stored alone.
	notice := &auth.MailRequest{At: at(2 * time.Hour), Mail: &auth.AccountMail{Message: newMessage(2, at(2*time.Hour))}}
	if !mustRequestMail(t, s, notice) {
		t.Fatal("notice not stored")
	}
	if msgs := drain(t, s, at(2*time.Hour)); len(msgs) != 1 || msgs[0].ID != notice.Mail.Message.ID {
		t.Errorf("claimed %+v, want the notice", msgs)
	}
	// A duplicate token hash is refused, and the transaction with it.
	dup := mailOf(3, u, auth.TokenReset, at(3*time.Hour), time.Hour)
	dup.Mail.Token.Hash = r.Mail.Token.Hash
	if _, err := s.RequestMail(t.Context(), dup); !errors.Is(err, auth.ErrDuplicate) {
		t.Errorf("RequestMail(duplicate hash) error = %v, want ErrDuplicate", err)
	}
	if msgs := claimAll(t, s, "c", at(4*time.Hour)); len(msgs) != 0 {
		t.Errorf("the refused request's message was stored: %+v", msgs)
	}
}

func testRequestMailSupersedes(t *testing.T, s auth.Store) {
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	first := mailOf(1, u, auth.TokenReset, at(time.Hour), time.Hour)
	verify := mailOf(2, u, auth.TokenVerify, at(time.Hour), time.Hour)
	others := mailOf(3, other, auth.TokenReset, at(time.Hour), time.Hour)
	for _, r := range []*auth.MailRequest{first, verify, others} {
		mustRequestMail(t, s, r)
	}
	second := mailOf(4, u, auth.TokenReset, at(2*time.Hour), time.Hour)
	mustRequestMail(t, s, second)

	want := *first.Mail.Token
	want.UsedAt = at(2 * time.Hour)
	checkToken(t, mustToken(t, s, want.Hash), &want)                          // superseded
	checkToken(t, mustToken(t, s, second.Mail.Token.Hash), second.Mail.Token) // live
	checkToken(t, mustToken(t, s, verify.Mail.Token.Hash), verify.Mail.Token) // another kind
	checkToken(t, mustToken(t, s, others.Mail.Token.Hash), others.Mail.Token) // another user
	if err := s.ResetPassword(t.Context(), resetOf(u, first.Mail.Token.Hash, 10, at(2*time.Hour))); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ResetPassword(superseded token) error = %v, want ErrNotFound", err)
	}
	if err := s.ResetPassword(t.Context(), resetOf(u, second.Mail.Token.Hash, 11, at(2*time.Hour))); err != nil {
		t.Errorf("ResetPassword(second token): %v", err)
	}
}

func testRequestMailThrottle(t *testing.T, s auth.Store) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	req := func(n int, when time.Time, mail bool) *auth.MailRequest {
		r := mailOf(n, u, auth.TokenReset, when, time.Hour)
		r.ThrottleKey, r.Max, r.WindowStart = "addr", 2, when.Add(-time.Hour)
		if !mail {
			r.Mail = nil
		}
		return r
	}
	steps := []struct {
		n          int
		when       time.Time
		mail, want bool
	}{
		{1, at(time.Hour), true, true},
		{2, at(time.Hour + time.Minute), false, false},  // counted, nothing to store
		{3, at(time.Hour + 2*time.Minute), true, false}, // the third in the window
		{4, at(2*time.Hour - time.Millisecond), true, false},
		{5, at(2*time.Hour + time.Millisecond), true, true}, // the window starts over
		{6, at(2*time.Hour + time.Minute), true, true},
		{7, at(2*time.Hour + 2*time.Minute), true, false},
	}
	for _, st := range steps {
		if got := mustRequestMail(t, s, req(st.n, st.when, st.mail)); got != st.want {
			t.Errorf("request %d: stored = %v, want %v", st.n, got, st.want)
		}
	}
	// Another key has its own count.
	other := req(8, at(2*time.Hour+3*time.Minute), true)
	other.ThrottleKey = "other"
	if !mustRequestMail(t, s, other) {
		t.Error("another key's request was not stored")
	}
	if _, err := s.AccountToken(t.Context(), fmt.Sprintf("%064x", 3)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("the throttled request's token was stored (error %v)", err)
	}
}

func testConcurrentRequestMailThrottle(t *testing.T, s auth.Store) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	const n = 20
	stored := make([]bool, n)
	errs := concurrently(n, func(i int) error {
		r := mailOf(i+1, u, auth.TokenVerify, at(time.Hour), time.Hour)
		r.ThrottleKey, r.Max, r.WindowStart = "addr", 3, at(0)
		var err error
		stored[i], err = s.RequestMail(t.Context(), r)
		return err
	})
	count := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		if stored[i] {
			count++
		}
	}
	if count != 3 {
		t.Errorf("%d of %d concurrent requests stored their mail, want 3", count, n)
	}
}

func testCreateUserWithSessionMail(t *testing.T, s auth.Store) {
	u := newUser(1)
	sess := newSession(1, u.ID)
	mail := mailOf(1, u, auth.TokenVerify, u.CreatedAt, time.Hour).Mail
	if err := s.CreateUserWithSession(t.Context(), u, sess, mail); err != nil {
		t.Fatalf("CreateUserWithSession: %v", err)
	}
	checkToken(t, mustToken(t, s, mail.Token.Hash), mail.Token)
	if msgs := drain(t, s, at(time.Hour)); len(msgs) != 1 {
		t.Errorf("claimed %d messages, want the signup's", len(msgs))
	}
	// A refused signup stores no mail.
	d := newUser(2)
	d.LoginKey = u.LoginKey
	dmail := mailOf(2, d, auth.TokenVerify, d.CreatedAt, time.Hour).Mail
	if err := s.CreateUserWithSession(t.Context(), d, newSession(2, d.ID), dmail); !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("CreateUserWithSession(duplicate) error = %v", err)
	}
	if _, err := s.AccountToken(t.Context(), dmail.Token.Hash); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("the refused signup's token was stored (error %v)", err)
	}
	if msgs := claimAll(t, s, "b", at(time.Hour)); len(msgs) != 0 {
		t.Errorf("the refused signup's message was stored: %+v", msgs)
	}
}

// resetOf is a reset of u's password with token hash, opening session n.
func resetOf(u *auth.User, hash string, n int, when time.Time) *auth.PasswordReset {
	sess := newSession(n, u.ID)
	sess.CreatedAt, sess.RotatedAt, sess.LastUsedAt = when, when, when
	return &auth.PasswordReset{
		TokenHash: hash, UserID: u.ID, PasswordHash: fmt.Sprintf("$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$bmV3%d", n),
		ThrottleKey: u.LoginKey, Session: sess, At: when,
	}
}

func testResetPassword(t *testing.T, s auth.Store) {
	ctx := t.Context()
	old := mustCreateSession(t, s, 1)
	u := mustUser(t, s, old.UserID)
	other := mustCreateSession(t, s, 2) // another user's
	mustAddFailure(t, s, u.LoginKey, at(time.Hour))
	mustAddFailure(t, s, "user2", at(time.Hour))
	r := mailOf(1, u, auth.TokenReset, at(time.Hour), 30*time.Minute)
	mustRequestMail(t, s, r)

	reset := resetOf(u, r.Mail.Token.Hash, 10, at(time.Hour+29*time.Minute))
	if err := s.ResetPassword(ctx, reset); err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	got := mustUser(t, s, u.ID)
	if got.PasswordHash != reset.PasswordHash || !sameTime(got.UpdatedAt, reset.At) {
		t.Errorf("user after reset = %+v, want hash %s updated at %v", got, reset.PasswordHash, reset.At)
	}
	if !mustSession(t, s, old.ID).Revoked() {
		t.Error("the old session is live after the reset")
	}
	checkSession(t, mustSession(t, s, reset.Session.ID), reset.Session)
	if mustSession(t, s, other.ID).Revoked() {
		t.Error("another user's session was revoked")
	}
	checkFailures(t, s, u.LoginKey, 0, time.Time{})
	checkFailures(t, s, "user2", 1, at(time.Hour))
	want := *r.Mail.Token
	want.UsedAt = reset.At
	checkToken(t, mustToken(t, s, want.Hash), &want)

	// Single use.
	again := resetOf(u, r.Mail.Token.Hash, 11, at(time.Hour+29*time.Minute))
	if err := s.ResetPassword(ctx, again); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ResetPassword(used token) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, again.Session.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("the refused reset opened its session (error %v)", err)
	}
}

func testResetPasswordRefused(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	reset := mailOf(1, u, auth.TokenReset, at(time.Hour), 30*time.Minute)
	verify := mailOf(2, u, auth.TokenVerify, at(time.Hour), 30*time.Minute)
	mustRequestMail(t, s, reset)
	mustRequestMail(t, s, verify)
	expires := reset.Mail.Token.ExpiresAt
	tests := []struct {
		name string
		r    *auth.PasswordReset
	}{
		{"at expiry", resetOf(u, reset.Mail.Token.Hash, 10, expires)},
		{"after expiry", resetOf(u, reset.Mail.Token.Hash, 11, expires.Add(time.Hour))},
		{"another user's token", resetOf(other, reset.Mail.Token.Hash, 12, at(time.Hour))},
		{"a verify token", resetOf(u, verify.Mail.Token.Hash, 13, at(time.Hour))},
		{"unknown", resetOf(u, fmt.Sprintf("%064x", 99), 14, at(time.Hour))},
	}
	for _, tt := range tests {
		if err := s.ResetPassword(ctx, tt.r); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("%s: ResetPassword error = %v, want ErrNotFound", tt.name, err)
		}
	}
	checkUser(t, mustUser(t, s, u.ID), u)
	// A millisecond before expiry it works.
	if err := s.ResetPassword(ctx, resetOf(u, reset.Mail.Token.Hash, 15, expires.Add(-time.Millisecond))); err != nil {
		t.Errorf("ResetPassword just before expiry: %v", err)
	}
}

func testConcurrentConsume(t *testing.T, s auth.Store) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	r := mailOf(1, u, auth.TokenVerify, at(time.Hour), time.Hour)
	r.Mail.Token.Email = u.Email
	mustRequestMail(t, s, r)
	errs := concurrently(50, func(int) error {
		return s.VerifyEmail(t.Context(), r.Mail.Token.Hash, u.ID, at(time.Hour+time.Minute))
	})
	checkOneWinner(t, errs, auth.ErrNotFound)

	reset := mailOf(2, u, auth.TokenReset, at(time.Hour), time.Hour)
	mustRequestMail(t, s, reset)
	errs = concurrently(50, func(i int) error {
		return s.ResetPassword(t.Context(), resetOf(u, reset.Mail.Token.Hash, 100+i, at(time.Hour+time.Minute)))
	})
	checkOneWinner(t, errs, auth.ErrNotFound)
	live := 0
	sessions, err := s.UserSessions(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, sess := range sessions {
		if !sess.Revoked() {
			live++
		}
	}
	if live != 1 {
		t.Errorf("%d live sessions after 50 concurrent resets, want the winner's", live)
	}
}

func testChangePassword(t *testing.T, s auth.Store) {
	ctx := t.Context()
	keep := mustCreateSession(t, s, 1)
	u := mustUser(t, s, keep.UserID)
	for i := 2; i <= 3; i++ {
		createSessionAt(t, s, i, u.ID, at(time.Hour), at(time.Hour), time.Time{})
	}
	mustAddFailure(t, s, u.LoginKey, at(time.Hour))
	r := mailOf(1, u, auth.TokenReset, at(time.Hour), time.Hour)
	mustRequestMail(t, s, r)

	n, err := s.ChangePassword(ctx, u.ID, "$2a$new", keep.ID, u.LoginKey, at(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("ChangePassword = %d, %v; want 2 sessions revoked", n, err)
	}
	if got := mustUser(t, s, u.ID); got.PasswordHash != "$2a$new" {
		t.Errorf("password hash %q after the change", got.PasswordHash)
	}
	if mustSession(t, s, keep.ID).Revoked() {
		t.Error("the kept session was revoked")
	}
	checkFailures(t, s, u.LoginKey, 0, time.Time{})
	if tok := mustToken(t, s, r.Mail.Token.Hash); tok.UsedAt.IsZero() {
		t.Error("a reset link still works after a password change")
	}
	// Without a session to keep or a throttle key.
	if n, err := s.ChangePassword(ctx, u.ID, "$2a$newer", "", "", at(3*time.Hour)); err != nil || n != 1 {
		t.Errorf("ChangePassword(keep none) = %d, %v; want 1", n, err)
	}
	if _, err := s.ChangePassword(ctx, newUser(9).ID, "$2a$x", "", "", at(3*time.Hour)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ChangePassword(no user) error = %v, want ErrNotFound", err)
	}
}

func testVerifyEmail(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := newUser(1) // odd: unverified
	mustCreateUser(t, s, u)
	r := mailOf(1, u, auth.TokenVerify, at(time.Hour), time.Hour)
	r.Mail.Token.Email = u.Email
	mustRequestMail(t, s, r)
	if err := s.VerifyEmail(ctx, r.Mail.Token.Hash, newUser(2).ID, at(time.Hour)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("VerifyEmail(another user) error = %v, want ErrNotFound", err)
	}
	if err := s.VerifyEmail(ctx, r.Mail.Token.Hash, u.ID, at(2*time.Hour)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("VerifyEmail(at expiry) error = %v, want ErrNotFound", err)
	}
	if got := mustUser(t, s, u.ID); got.EmailVerified() {
		t.Fatal("verified by a refused token")
	}
	if err := s.VerifyEmail(ctx, r.Mail.Token.Hash, u.ID, at(90*time.Minute)); err != nil {
		t.Fatalf("VerifyEmail: %v", err)
	}
	want := *u
	want.EmailVerifiedAt = at(90 * time.Minute)
	checkUser(t, mustUser(t, s, u.ID), &want)
	if err := s.VerifyEmail(ctx, r.Mail.Token.Hash, u.ID, at(90*time.Minute)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("VerifyEmail(used token) error = %v, want ErrNotFound", err)
	}
}

// changeOf is the change of u's email to email with token hash at when.
func changeOf(u *auth.User, hash, email string, n int, when time.Time) *auth.EmailChange {
	notice := newMessage(n, when)
	notice.Template, notice.To = auth.TemplateEmailChanged, u.Email
	return &auth.EmailChange{TokenHash: hash, UserID: u.ID, NewEmail: email, NewEmailKey: "key:" + email, Notice: notice, At: when}
}

func testChangeEmail(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u := newUser(1)
	mustCreateUser(t, s, u)
	verify := mailOf(1, u, auth.TokenVerify, at(time.Hour), time.Hour)
	verify.Mail.Token.Email = u.Email
	change := mailOf(2, u, auth.TokenChangeEmail, at(time.Hour), time.Hour)
	change.Mail.Token.Email = "New@Example.com"
	mustRequestMail(t, s, verify)
	mustRequestMail(t, s, change)
	drain(t, s, at(time.Hour)) // the links' messages

	if err := s.ChangeEmail(ctx, changeOf(u, change.Mail.Token.Hash, "other@example.com", 10, at(time.Hour))); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ChangeEmail(another address than the token's) error = %v, want ErrNotFound", err)
	}
	c := changeOf(u, change.Mail.Token.Hash, "New@Example.com", 11, at(time.Hour+time.Minute))
	if err := s.ChangeEmail(ctx, c); err != nil {
		t.Fatalf("ChangeEmail: %v", err)
	}
	want := *u
	want.Email, want.EmailKey, want.EmailVerifiedAt, want.UpdatedAt = c.NewEmail, c.NewEmailKey, c.At, c.At
	checkUser(t, mustUser(t, s, u.ID), &want)
	if got, err := s.UserByEmailKey(ctx, c.NewEmailKey); err != nil || got.ID != u.ID {
		t.Errorf("UserByEmailKey(new key) = %v, %v", got, err)
	}
	if tok := mustToken(t, s, verify.Mail.Token.Hash); tok.UsedAt.IsZero() {
		t.Error("a verification link of the old address still works")
	}
	msgs := claimAll(t, s, "a", at(2*time.Hour))
	if len(msgs) != 1 {
		t.Fatalf("claimed %d messages after the change, want the notice", len(msgs))
	}
	checkMessage(t, msgs[0], c.Notice)
	if err := s.ChangeEmail(ctx, changeOf(u, change.Mail.Token.Hash, "New@Example.com", 12, at(time.Hour+time.Minute))); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ChangeEmail(used token) error = %v, want ErrNotFound", err)
	}
}

func testChangeEmailDuplicate(t *testing.T, s auth.Store) {
	ctx := t.Context()
	u, other := newUser(1), newUser(2)
	mustCreateUser(t, s, u)
	mustCreateUser(t, s, other)
	change := mailOf(1, u, auth.TokenChangeEmail, at(time.Hour), time.Hour)
	change.Mail.Token.Email = other.Email
	mustRequestMail(t, s, change)
	drain(t, s, at(time.Hour))
	c := changeOf(u, change.Mail.Token.Hash, other.Email, 10, at(time.Hour))
	c.NewEmailKey = other.EmailKey
	if err := s.ChangeEmail(ctx, c); !errors.Is(err, auth.ErrDuplicate) {
		t.Fatalf("ChangeEmail(taken address) error = %v, want ErrDuplicate", err)
	}
	checkUser(t, mustUser(t, s, u.ID), u)
	checkToken(t, mustToken(t, s, change.Mail.Token.Hash), change.Mail.Token) // not consumed
	if msgs := claimAll(t, s, "a", at(2*time.Hour)); len(msgs) != 0 {
		t.Errorf("the refused change stored its notice: %+v", msgs)
	}
}

func testSetEmailVerified(t *testing.T, s auth.Store) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	for _, when := range []time.Time{at(time.Hour), at(2 * time.Hour)} {
		if err := s.SetEmailVerified(t.Context(), u.ID, when); err != nil {
			t.Fatalf("SetEmailVerified: %v", err)
		}
	}
	if got := mustUser(t, s, u.ID); !sameTime(got.EmailVerifiedAt, at(time.Hour)) {
		t.Errorf("EmailVerifiedAt = %v, want the first time %v", got.EmailVerifiedAt, at(time.Hour))
	}
	if err := s.SetEmailVerified(t.Context(), newUser(2).ID, at(time.Hour)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SetEmailVerified(no user) error = %v, want ErrNotFound", err)
	}
}

func testUserByEmailKey(t *testing.T, s auth.Store) {
	u := newUser(2)
	mustCreateUser(t, s, u)
	got, err := s.UserByEmailKey(t.Context(), u.EmailKey)
	if err != nil {
		t.Fatalf("UserByEmailKey: %v", err)
	}
	checkUser(t, got, u)
	for _, key := range []string{u.Email, u.LoginKey, ""} {
		if _, err := s.UserByEmailKey(t.Context(), key); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("UserByEmailKey(%q) error = %v, want ErrNotFound", key, err)
		}
	}
}

func testDeleteAccountTokens(t *testing.T, s auth.Store) {
	u := newUser(1)
	mustCreateUser(t, s, u)
	oldTok := mailOf(1, u, auth.TokenReset, at(time.Hour), time.Hour)
	newTok := mailOf(2, u, auth.TokenVerify, at(3*time.Hour), time.Hour)
	mustRequestMail(t, s, oldTok)
	mustRequestMail(t, s, newTok)
	for _, k := range []struct {
		key  string
		when time.Time
	}{{"old", at(time.Hour)}, {"new", at(3 * time.Hour)}} {
		mustRequestMail(t, s, &auth.MailRequest{ThrottleKey: k.key, At: k.when, Max: 1})
	}
	n, err := s.DeleteAccountTokens(t.Context(), at(3*time.Hour), at(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("DeleteAccountTokens = %d, %v; want 2 (a token and a throttle record)", n, err)
	}
	if _, err := s.AccountToken(t.Context(), oldTok.Mail.Token.Hash); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("the expired token is still there (error %v)", err)
	}
	mustToken(t, s, newTok.Mail.Token.Hash)
	// The deleted record starts over; the kept one is full.
	if !mustRequestMail(t, s, withKey(mailOf(3, u, auth.TokenReset, at(3*time.Hour), time.Hour), "old")) {
		t.Error("the deleted throttle record still counts")
	}
	if mustRequestMail(t, s, withKey(mailOf(4, u, auth.TokenReset, at(3*time.Hour), time.Hour), "new")) {
		t.Error("the kept throttle record was forgotten")
	}
	if n, err := s.DeleteAccountTokens(t.Context(), time.Time{}, time.Time{}); err != nil || n != 0 {
		t.Errorf("DeleteAccountTokens(zero times) = %d, %v; want 0", n, err)
	}
}

// withKey is r counted against key, in a window of an hour.
func withKey(r *auth.MailRequest, key string) *auth.MailRequest {
	r.ThrottleKey, r.WindowStart = key, r.At.Add(-time.Hour)
	return r
}
