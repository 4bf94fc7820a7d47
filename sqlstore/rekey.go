package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/authstore/auth"
	"github.com/pressly/goose/v3"
)

// rekeyVersion is the migration, written in Go, that recomputes the keys of
// stored users when auth.Fold changed (PRECIS and NFKC instead of NFC) and
// fills the login_skeleton column that migration 3 added. A later change of
// Fold or Skeleton adds another rekeyMigration with a new version.
const rekeyVersion = 5

// goMigrationName names the Go migrations in MigrationStatus, as the file
// names name the SQL ones.
func goMigrationName(version int64) string {
	return fmt.Sprintf("%05d_rekey_users.go", version)
}

// rekeyMigration returns the Go migration of version that re-keys users.
// Going down is a no-op: keys cannot be unfolded, and older code finds the
// users whose keys did not change.
func (db *DB) rekeyMigration(version int64) *goose.Migration {
	return goose.NewGoMigration(version, &goose.GoFunc{RunTx: db.rekey}, nil)
}

// rekey sets login_key, email_key and login_skeleton of every user as
// auth.Rekey computes them, in tx. Users whose login or email now maps to
// the key of an older user get a retired key in that column (see
// auth.RetiredKey) and are logged at warn, by ID, for an operator to sort out.
func (db *DB) rekey(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, login, email, login_key, email_key, created_at FROM users`)
	if err != nil {
		return fmt.Errorf("rekey: read users: %w", err)
	}
	var users []auth.User
	old := make(map[string][2]string) // id → stored login_key, email_key
	for rows.Next() {
		var (
			u       auth.User
			created int64
		)
		if err := rows.Scan(&u.ID, &u.Login, &u.Email, &u.LoginKey, &u.EmailKey, &created); err != nil {
			rows.Close()
			return fmt.Errorf("rekey: read users: %w", err)
		}
		u.CreatedAt = fromMillis(created)
		old[u.ID] = [2]string{u.LoginKey, u.EmailKey}
		users = append(users, u)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("rekey: read users: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rekey: read users: %w", err)
	}
	retired := auth.Rekey(users)

	// Keys that change move aside first, to values no final key can
	// have, so that swapping keys between users never trips the unique
	// indexes halfway.
	aside, err := tx.PrepareContext(ctx, db.d.bind(`UPDATE users SET login_key = ?, email_key = ? WHERE id = ?`))
	if err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	defer aside.Close()
	for _, u := range users {
		if o := old[u.ID]; o[0] != u.LoginKey || o[1] != u.EmailKey {
			if _, err := aside.ExecContext(ctx, "\x02"+u.ID, "\x02"+u.ID, u.ID); err != nil {
				return fmt.Errorf("rekey: user %s: %w", u.ID, err)
			}
		}
	}
	set, err := tx.PrepareContext(ctx, db.d.bind(`UPDATE users SET login_key = ?, email_key = ?, login_skeleton = ? WHERE id = ?`))
	if err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	defer set.Close()
	for _, u := range users {
		if _, err := set.ExecContext(ctx, u.LoginKey, u.EmailKey, u.LoginSkeleton, u.ID); err != nil {
			return fmt.Errorf("rekey: user %s: %w", u.ID, err)
		}
	}
	for _, u := range retired {
		db.log.LogAttrs(ctx, slog.LevelWarn, "rekey: user's login or email collides with an older user's under the current keys; its colliding keys are retired (a retired login key no longer signs in)",
			slog.String("user", u.ID),
			slog.Bool("login_retired", auth.IsRetiredKey(u.LoginKey)),
			slog.Bool("login_skeleton_retired", auth.IsRetiredKey(u.LoginSkeleton)),
			slog.Bool("email_retired", auth.IsRetiredKey(u.EmailKey)))
	}
	if len(users) > 0 {
		db.log.LogAttrs(ctx, slog.LevelInfo, "rekey: users re-keyed", slog.Int("users", len(users)), slog.Int("retired", len(retired)))
	}
	return nil
}
