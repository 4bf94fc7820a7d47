package auth

import (
	"context"
	"fmt"
	"time"
)

// newUser is the user of a validated profile r (see profileMessages), with
// its uniqueness keys, id, password hash and creation time.
func newUser(id string, r *SignupRequest, hash string, now time.Time) *User {
	return &User{
		ID: id, FirstName: r.FirstName.Str, LastName: r.LastName.Str,
		Login: r.Login.Str, LoginKey: Fold(r.Login.Str), LoginSkeleton: Skeleton(r.Login.Str),
		Email: r.Email.Str, EmailKey: Fold(r.Email.Str),
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now,
	}
}

// taken returns ErrLoginUsed, ErrEmailUsed or ErrLoginAndEmailUsed when
// another user holds u's login (by key or look-alike skeleton) or email, nil
// when neither is held, or the store's error.
func taken(ctx context.Context, store UserStore, u *User) error {
	login, email, err := store.KeysTaken(ctx, u.LoginKey, u.LoginSkeleton, u.EmailKey)
	switch {
	case err != nil:
		return fmt.Errorf("keys taken: %w", err)
	case login && email:
		return ErrLoginAndEmailUsed
	case login:
		return ErrLoginUsed
	case email:
		return ErrEmailUsed
	}
	return nil
}
