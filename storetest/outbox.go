package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authstore/auth"
)

// outboxTests are the subtests of auth.OutboxStore; messages are stored
// through RequestMail, as the Service stores them.
func outboxTests() []subtest[auth.Store] {
	return []subtest[auth.Store]{
		{"ClaimOutbox", testClaimOutbox},
		{"ClaimOutboxLeaseExpiry", testClaimOutboxLeaseExpiry},
		{"ConcurrentClaimOutbox", testConcurrentClaimOutbox},
		{"MarkSent", testMarkSent},
		{"RetryLater", testRetryLater},
		{"MarkFailed", testMarkFailed},
	}
}

// mustEnqueue stores messages 1..n, message i created at at(i seconds).
func mustEnqueue(t *testing.T, s auth.Store, from, to int) []*auth.OutboxMessage {
	t.Helper()
	var out []*auth.OutboxMessage
	for i := from; i <= to; i++ {
		m := newMessage(i, at(time.Duration(i)*time.Second))
		mustRequestMail(t, s, &auth.MailRequest{At: m.CreatedAt, Mail: &auth.AccountMail{Message: m}})
		out = append(out, m)
	}
	return out
}

func mustClaim(t *testing.T, s auth.OutboxStore, owner string, now time.Time, lease time.Duration, limit int) []auth.OutboxMessage {
	t.Helper()
	msgs, err := s.ClaimOutbox(t.Context(), owner, now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimOutbox(%s): %v", owner, err)
	}
	return msgs
}

func ids(msgs []auth.OutboxMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func testClaimOutbox(t *testing.T, s auth.Store) {
	want := mustEnqueue(t, s, 1, 5)
	// Stored out of order: claims go by creation time.
	early := newMessage(6, at(0))
	mustRequestMail(t, s, &auth.MailRequest{At: at(10 * time.Second), Mail: &auth.AccountMail{Message: early}})
	// Not due yet.
	later := newMessage(7, at(0))
	later.NextAttemptAt = at(time.Hour)
	mustRequestMail(t, s, &auth.MailRequest{At: at(0), Mail: &auth.AccountMail{Message: later}})

	now := at(time.Minute)
	got := mustClaim(t, s, "a", now, time.Minute, 3)
	if g, w := ids(got), []string{early.ID, want[0].ID, want[1].ID}; fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("claimed %v, want the oldest three %v", g, w)
	}
	checkMessage(t, got[1], want[0])
	if got := mustClaim(t, s, "b", now, time.Minute, 10); fmt.Sprint(ids(got)) != fmt.Sprint([]string{want[2].ID, want[3].ID, want[4].ID}) {
		t.Errorf("second claim = %v, want the three left that are due", ids(got))
	}
	if got := mustClaim(t, s, "a", now, time.Minute, 10); len(got) != 0 {
		t.Errorf("a claim of leased messages (even by their owner) got %v", ids(got))
	}
	if got := mustClaim(t, s, "c", now, time.Minute, 0); len(got) != 0 {
		t.Errorf("a claim of 0 got %v", ids(got))
	}
	// By the later message's time the leases of a and b have expired too.
	if got := mustClaim(t, s, "c", at(time.Hour), time.Minute, 10); len(got) != 7 {
		t.Errorf("claim at the later message's time = %v, want all 7", ids(got))
	}
}

func testClaimOutboxLeaseExpiry(t *testing.T, s auth.Store) {
	m := mustEnqueue(t, s, 1, 1)[0]
	now := at(time.Minute)
	if got := mustClaim(t, s, "a", now, time.Minute, 10); len(got) != 1 {
		t.Fatalf("claimed %v", ids(got))
	}
	if got := mustClaim(t, s, "b", now.Add(time.Minute-time.Millisecond), time.Minute, 10); len(got) != 0 {
		t.Errorf("claimed %v within a's lease", ids(got))
	}
	got := mustClaim(t, s, "b", now.Add(time.Minute), time.Minute, 10)
	if len(got) != 1 || got[0].ID != m.ID {
		t.Fatalf("claim after the lease expired = %v, want %s", ids(got), m.ID)
	}
	// a lost it: it can no longer record the outcome.
	if err := s.MarkSent(t.Context(), m.ID, "a", now.Add(time.Minute)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MarkSent by the former owner error = %v, want ErrNotFound", err)
	}
	if err := s.MarkSent(t.Context(), m.ID, "b", now.Add(time.Minute)); err != nil {
		t.Errorf("MarkSent by the owner: %v", err)
	}
}

func testConcurrentClaimOutbox(t *testing.T, s auth.Store) {
	const n = 60
	mustEnqueue(t, s, 1, n)
	owners := []string{"a", "b"}
	claimed := make([][]string, len(owners))
	for round := 0; round < n; round++ {
		errs := concurrently(len(owners), func(i int) error {
			msgs, err := s.ClaimOutbox(t.Context(), owners[i], at(time.Hour), time.Minute, 4)
			claimed[i] = append(claimed[i], ids(msgs)...)
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("ClaimOutbox: %v", err)
			}
		}
		if len(claimed[0])+len(claimed[1]) >= n {
			break
		}
	}
	seen := map[string]string{}
	for i, list := range claimed {
		for _, id := range list {
			if o, ok := seen[id]; ok {
				t.Errorf("message %s claimed by %s and %s", id, o, owners[i])
			}
			seen[id] = owners[i]
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages claimed, want %d", len(seen), n)
	}
}

func testMarkSent(t *testing.T, s auth.Store) {
	ms := mustEnqueue(t, s, 1, 2)
	now := at(time.Minute)
	mustClaim(t, s, "a", now, time.Minute, 10)
	if err := s.MarkSent(t.Context(), ms[0].ID, "b", now); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MarkSent by another owner error = %v, want ErrNotFound", err)
	}
	if err := s.MarkSent(t.Context(), ms[0].ID, "a", now); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	if err := s.MarkSent(t.Context(), ms[0].ID, "a", now); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MarkSent twice error = %v, want ErrNotFound", err)
	}
	if err := s.MarkSent(t.Context(), "20000000-0000-4000-8000-999999999999", "a", now); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MarkSent(unknown) error = %v, want ErrNotFound", err)
	}
	// A sent message is never claimed again; the other one is, once a's
	// lease has expired.
	if got := mustClaim(t, s, "b", now.Add(time.Hour), time.Minute, 10); len(got) != 1 || got[0].ID != ms[1].ID {
		t.Errorf("claim after MarkSent = %v, want only %s", ids(got), ms[1].ID)
	}
}

func testRetryLater(t *testing.T, s auth.Store) {
	m := mustEnqueue(t, s, 1, 1)[0]
	now := at(time.Minute)
	mustClaim(t, s, "a", now, time.Hour, 10)
	long := strings.Repeat("é", 400) + "\x00" // 800 bytes and a NUL
	if err := s.RetryLater(t.Context(), m.ID, "b", now.Add(time.Minute), "x"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RetryLater by another owner error = %v, want ErrNotFound", err)
	}
	if err := s.RetryLater(t.Context(), m.ID, "a", now.Add(time.Minute), long); err != nil {
		t.Fatalf("RetryLater: %v", err)
	}
	// The lease is cleared, but the message is due only at next.
	if got := mustClaim(t, s, "b", now.Add(time.Minute-time.Millisecond), time.Minute, 10); len(got) != 0 {
		t.Errorf("claimed %v before its next attempt", ids(got))
	}
	got := mustClaim(t, s, "b", now.Add(time.Minute), time.Minute, 10)
	if len(got) != 1 || got[0].Attempts != 1 || !sameTime(got[0].NextAttemptAt, now.Add(time.Minute)) || string(got[0].Payload) != string(m.Payload) {
		t.Fatalf("claim after RetryLater = %+v, want 1 attempt, due at %v, payload kept", got, now.Add(time.Minute))
	}
	if err := s.RetryLater(t.Context(), m.ID, "b", now.Add(2*time.Minute), "again"); err != nil {
		t.Fatal(err)
	}
	if got := mustClaim(t, s, "c", now.Add(2*time.Minute), time.Minute, 10); len(got) != 1 || got[0].Attempts != 2 {
		t.Errorf("claim after two retries = %+v, want 2 attempts", got)
	}
}

func testMarkFailed(t *testing.T, s auth.Store) {
	m := mustEnqueue(t, s, 1, 1)[0]
	now := at(time.Minute)
	mustClaim(t, s, "a", now, time.Minute, 10)
	if err := s.MarkFailed(t.Context(), m.ID, "b", now, "x"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MarkFailed by another owner error = %v, want ErrNotFound", err)
	}
	if err := s.MarkFailed(t.Context(), m.ID, "a", now, "550 no such user"); err != nil {
		t.Fatalf("MarkFailed: %v", err)
	}
	if got := mustClaim(t, s, "b", now.Add(time.Hour), time.Minute, 10); len(got) != 0 {
		t.Errorf("a failed message was claimed again: %v", ids(got))
	}
	if err := s.MarkSent(t.Context(), m.ID, "a", now); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("MarkSent after MarkFailed error = %v, want ErrNotFound", err)
	}
}
