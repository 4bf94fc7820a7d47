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

	"github.com/authstore/auth/sqlstore"
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
	// outboxSeal is the AES-256-GCM key sealing the outbox's payloads
	// (HKDF label outboxSealLabel): the accounts work seals with it, the
	// mail sender opens.
	outboxSeal []byte
	// mfaSeal is the AES-256-GCM key sealing users' TOTP secrets (HKDF
	// label mfaSealLabel).
	mfaSeal []byte
}

// outboxSealLabel is the HKDF label of secrets.outboxSeal.
const outboxSealLabel = "authstore outbox seal v1"

// mfaSealLabel is the HKDF label of secrets.mfaSeal.
const mfaSealLabel = "authstore mfa seal v1"

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
	case keyFile != "":
		// A key file named explicitly must exist: creating it would turn a
		// typo into a new secret, under which no stored key opens.
		if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
			return secrets{}, "", fmt.Errorf("--secret-key-file %s does not exist; create one with: (umask 077; openssl rand -base64 32 > %s)", keyFile, keyFile)
		}
		k, err := loadKeyFile(keyFile)
		if err != nil {
			return secrets{}, "", err
		}
		master, source = k, keyFile
	case sqlstore.IsPostgres(dsn):
		return secrets{}, "", usageError{Msg: "a PostgreSQL database needs the secret key every instance shares: set AUTHSTORE_SECRET_KEY or --secret-key-file"}
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
	outbox, err := derive(outboxSealLabel)
	if err != nil {
		return secrets{}, "", err
	}
	mfa, err := derive(mfaSealLabel)
	if err != nil {
		return secrets{}, "", err
	}
	return secrets{refreshMAC: mac, keySeal: seal, outboxSeal: outbox, mfaSeal: mfa}, source, nil
}

func isMemoryDB(path string) bool { return path == ":memory:" }

// decodeSecret accepts base64 (standard or URL, padded or not) or hex text
// of at least 32 bytes that passes checkEntropy.
func decodeSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) >= secretKeyLen {
		return b, checkEntropy(b)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) >= secretKeyLen {
			return b, checkEntropy(b)
		}
	}
	return nil, fmt.Errorf("must be base64 or hex of at least %d bytes (try: openssl rand -base64 32)", secretKeyLen)
}

// minDistinct is the fewest distinct byte values, and the fewest distinct
// differences between neighbouring bytes, that checkEntropy accepts.
const minDistinct = 16

// checkEntropy refuses a key that is plainly not random: one with fewer
// than minDistinct distinct byte values (32 zero bytes, "abab...", a short
// string repeated), or fewer than minDistinct distinct differences
// (b[i+1]-b[i] mod 256) between neighbouring bytes (0,1,2,...,31 and other
// arithmetic runs, repeated patterns of any byte values).
//
// A random key never fails, to any practical degree. The n bytes of a
// random key are independent and uniform, and so are its n-1 differences
// (the map from the bytes to the first byte and the differences is a
// bijection). The chance that n uniform draws from 256 values give fewer
// than 16 distinct ones, computed exactly (a recurrence on the number of
// distinct values so far), is 3.2e-17 for n = 32 and 4.6e-16 for n = 31,
// so a 32-byte key from `openssl rand -base64 32` is refused with
// probability below 5e-16 (about 2^-50); a longer key draws more values and
// is refused less often still.
func checkEntropy(k []byte) error {
	var vals, diffs [256]bool
	nv, nd := 0, 0
	for i, b := range k {
		if !vals[b] {
			vals[b] = true
			nv++
		}
		if i > 0 {
			if d := b - k[i-1]; !diffs[d] {
				diffs[d] = true
				nd++
			}
		}
	}
	if nv < minDistinct || nd < minDistinct {
		return fmt.Errorf("the secret key is not random: it has %d distinct byte values and %d distinct steps between neighbouring bytes, where a random key has about 30 of each and at least %d are needed (try: openssl rand -base64 32)", nv, nd, minDistinct)
	}
	return nil
}

// loadOrCreateKeyFile reads the key at path, or creates it with mode 0600 if
// it does not exist. The file appears whole or not at all (written aside,
// then linked into place), so two processes starting at once share one key.
func loadOrCreateKeyFile(path string) ([]byte, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := checkKeyDir(path); err != nil {
			return nil, err
		}
		if err := createKeyFile(path); err != nil {
			return nil, err
		}
	}
	return loadKeyFile(path)
}

// loadKeyFile reads the key at path. Like ssh with a private key, it
// refuses a file others can read or write, one owned by neither this user
// nor root, and one in a directory others can write (where they could
// replace it): the checks look at the file and its own directory.
func loadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if fi, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	} else if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is accessible by others (mode %04o); run: chmod 600 %s", path, perm, path)
	} else if !ownedByUs(fi) {
		return nil, fmt.Errorf("key file %s belongs to another user; it must be owned by the user running authstore (or root)", path)
	}
	if err := checkKeyDir(path); err != nil {
		return nil, err
	}
	k, err := decodeSecret(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// checkKeyDir refuses the directory of key file path if others could
// replace a file in it: one that group or others can write, unless it is
// sticky (as /tmp is: there only a file's owner may rename or remove it, and
// the file itself must be ours), or one that belongs to neither this user
// nor root.
func checkKeyDir(path string) error {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("key file: %w", err)
	} else if perm := fi.Mode().Perm(); perm&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("key file %s is in a directory others can write (mode %04o), where they could replace it; run: chmod go-w %s", path, perm, dir)
	} else if !ownedByUs(fi) {
		return fmt.Errorf("key file %s is in a directory of another user, who could replace it; keep it in one owned by the user running authstore (or root)", path)
	}
	return nil
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
		return nil, "", usageError{Msg: "--signing-alg HS256: set " + jwtSecretEnv + " or --jwt-secret-file, not both"}
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
		return nil, "", usageError{Msg: "--signing-alg HS256 needs the shared secret: set " + jwtSecretEnv + " or --jwt-secret-file"}
	}
	if len(secret) < token.MinHMACSecretLen {
		return nil, "", usageError{Msg: fmt.Sprintf("the HS256 secret from %s is %d bytes; it must be at least %d (try: openssl rand -base64 48)", source, len(secret), token.MinHMACSecretLen)}
	}
	return secret, source, nil
}
