// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// Tests that call DSN run when AUTHSTORE_TEST_POSTGRES names a server and
// skip otherwise; CI sets it, so by convention their names contain
// "Postgres" (TestPostgresStore) to be counted there.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the environment variable that holds the admin DSN: a
// postgres:// URL of a role that may create databases, such as
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const EnvVar = "AUTHSTORE_TEST_POSTGRES"

// setupTimeout bounds creating and dropping a database.
const setupTimeout = time.Minute

// DSN returns the URL of a new, empty database with a random name on the
// server named by AUTHSTORE_TEST_POSTGRES, and drops the database (closing
// its remaining connections) when t ends.
//
// It skips t if the variable is empty, and fails t, never skips it, if the
// variable is set but the server cannot be reached or refuses.
func DSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvVar)
	if admin == "" {
		t.Skipf("%s is not set: skipping a PostgreSQL test (set it to an admin URL such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)", EnvVar)
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", EnvVar)
	}
	name := randomName(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := exec(ctx, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database on %s: %v", EnvVar, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := exec(ctx, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Schema returns dsn (a URL from DSN) with its search_path set to a new,
// empty schema with a random name, which is dropped when t ends. Schemas
// are much cheaper to create than databases: tests that need many empty
// stores can share one database from DSN and take a schema each.
func Schema(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgtest: schema: bad dsn: %v", err)
	}
	name := randomName(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := exec(ctx, dsn, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := exec(ctx, dsn, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// randomName returns a new random identifier.
func randomName(t testing.TB) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("pgtest: random name: %v", err)
	}
	return "authstore_test_" + hex.EncodeToString(b[:])
}

// exec runs one statement on a connection of its own to dsn.
func exec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
