package main

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/authstore/auth/token"
)

// secretKeyLen is the length of a generated secret key.
const secretKeyLen = 32

// secrets are the keys derived from the secret key. None is ever stored in
// the database, so a copy of the database alone can neither mint refresh
// tokens nor open the private signing keys.
type secrets struct {
	refreshMAC []byte // MAC key of refresh tokens
	keySeal    []byte // AES-256-GCM key sealing private signing keys
}

// loadSecrets derives the secrets from AUTHSTORE_SECRET_KEY or, when it is
// unset, from keyFile, or else from the key file beside a SQLite database.
// For SQLite a missing key file is created with mode 0600; for PostgreSQL,
// whose instances must share one key, it must exist. An in-memory database
// gets a random key that dies with the process.
func loadSecrets(getenv func(string) string, dsn, keyFile string) (secrets, string, error) {
	var master []byte
	var source string
	switch v := getenv("AUTHSTORE_SECRET_KEY"); {
	case v != "":
		k, err := decodeSecret(v)
		if err != nil {
			return secrets{}, "", fmt.Errorf("AUTHSTORE_SECRET_KEY: %w", err)
		}
		master, source = k, "AUTHSTORE_SECRET_KEY"
	case keyFile != "" && isPostgres(dsn):
		k, err := loadKeyFile(keyFile)
		if err != nil {
			return secrets{}, "", err
		}
		master, source = k, keyFile
	case keyFile != "":
		k, err := loadOrCreateKeyFile(keyFile)
		if err != nil {
			return secrets{}, "", err
		}
		master, source = k, keyFile
	case isPostgres(dsn):
		return secrets{}, "", usageError{"a PostgreSQL database needs the secret key every instance shares: set AUTHSTORE_SECRET_KEY or --secret-key-file"}
	case isMemoryDB(dsn):
		master = make([]byte, secretKeyLen)
		if _, err := rand.Read(master); err != nil {
			return secrets{}, "", err
		}
		source = "ephemeral (in-memory database)"
	default:
		path := dsn + ".key"
		k, err := loadOrCreateKeyFile(path)
		if err != nil {
			return secrets{}, "", err
		}
		master, source = k, path
	}
	derive := func(label string) ([]byte, error) {
		return hkdf.Key(sha256.New, master, nil, label, 32)
	}
	mac, err := derive("authstore refresh-token mac v1")
	if err != nil {
		return secrets{}, "", err
	}
	seal, err := derive("authstore signing-key seal v1")
	if err != nil {
		return secrets{}, "", err
	}
	return secrets{refreshMAC: mac, keySeal: seal}, source, nil
}

func isMemoryDB(path string) bool { return path == ":memory:" }

// decodeSecret accepts base64 (standard or URL, padded or not) or hex text
// of at least 32 bytes.
func decodeSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) >= secretKeyLen {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) >= secretKeyLen {
			return b, nil
		}
	}
	return nil, fmt.Errorf("must be base64 or hex of at least %d bytes (try: openssl rand -base64 32)", secretKeyLen)
}

// loadOrCreateKeyFile reads the key at path, or creates it with mode 0600 if
// it does not exist. The file appears whole or not at all (written aside,
// then linked into place), so two processes starting at once share one key.
func loadOrCreateKeyFile(path string) ([]byte, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(path); err != nil {
			return nil, err
		}
	}
	return loadKeyFile(path)
}

// loadKeyFile reads the key at path, refusing a file others can read.
func loadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	// Like ssh with a private key, refuse a key others can read.
	if fi, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	} else if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is accessible by others (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	k, err := decodeSecret(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// createKeyFile writes a new random key to path unless a file is already there.
func createKeyFile(path string) error {
	k := make([]byte, secretKeyLen)
	if _, err := rand.Read(k); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".authstore-key-*")
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("key file: %w", werr)
	}
	// CreateTemp made it 0600; Link fails if another process won the race.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("key file: %w", err)
	}
	return nil
}

// jwtSecretEnv is the environment variable holding the HS256 shared secret.
const jwtSecretEnv = "AUTHSTORE_JWT_SECRET"

// loadJWTSecret returns the shared secret of the HS256 compatibility mode
// and where it came from: AUTHSTORE_JWT_SECRET byte for byte, or the
// contents of file less one trailing line break (so that a file written by
// echo holds the same secret). Setting both, or neither, or a secret shorter
// than token.MinHMACSecretLen is a usage error; a file others can read is
// refused as key files are. Errors never contain the secret.
func loadJWTSecret(getenv func(string) string, file string) ([]byte, string, error) {
	env := getenv(jwtSecretEnv)
	var (
		secret []byte
		source string
	)
	switch {
	case env != "" && file != "":
		return nil, "", usageError{"--signing-alg HS256: set " + jwtSecretEnv + " or --jwt-secret-file, not both"}
	case env != "":
		secret, source = []byte(env), jwtSecretEnv
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, "", fmt.Errorf("--jwt-secret-file: %w", err)
		}
		if fi, err := os.Stat(file); err != nil {
			return nil, "", fmt.Errorf("--jwt-secret-file: %w", err)
		} else if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			clear(b)
			return nil, "", fmt.Errorf("--jwt-secret-file %s is accessible by others (mode %04o); run: chmod 600 %s", file, perm, file)
		}
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		secret, source = b, file
	default:
		return nil, "", usageError{"--signing-alg HS256 needs the shared secret: set " + jwtSecretEnv + " or --jwt-secret-file"}
	}
	if len(secret) < token.MinHMACSecretLen {
		return nil, "", usageError{fmt.Sprintf("the HS256 secret from %s is %d bytes; it must be at least %d (try: openssl rand -base64 48)", source, len(secret), token.MinHMACSecretLen)}
	}
	return secret, source, nil
}
