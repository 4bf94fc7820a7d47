package password

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/authstore/auth"
)

// commonPasswords is the built-in list: the 49,233 most common passwords of
// the zxcvbn-ts "passwords" list (MIT), one per line, gzip-compressed. Its
// source, license and how it was made are in common-passwords.NOTICE.
//
//go:embed common-passwords.txt.gz
var commonPasswords []byte

// MaxBlocklistLine is the longest line, in bytes, a blocklist file may have.
const MaxBlocklistLine = 64 << 10

var _ auth.PasswordBlocklist = (*Blocklist)(nil)

// Blocklist is a set of commonly used passwords that signup refuses. It
// implements auth.PasswordBlocklist and is safe for concurrent use.
//
// Matching ignores case and form: entries and candidates alike are trimmed
// of surrounding white space and keyed as auth.Fold keys logins (width,
// compatibility forms and case folded, NFKC), so "PassWord1", " password1 ",
// "ｐａｓｓｗｏｒｄ1" and "password1" are one entry, as are a composed and a
// decomposed "é". It matches whole
// passwords only: "password1!" is not refused because "password1" is listed.
type Blocklist struct {
	keys []string // normalised, sorted, without duplicates
}

// NewBlocklist returns the built-in list of common passwords together with
// every password in extra. An extra list is UTF-8 text, one password per
// line (LF or CRLF); blank lines are skipped and no other line is special.
// A list that starts with the gzip magic bytes is decompressed first. A line
// longer than MaxBlocklistLine bytes, or a read error, fails the whole call.
func NewBlocklist(extra ...io.Reader) (*Blocklist, error) {
	b := &Blocklist{}
	if err := b.read(bytes.NewReader(commonPasswords)); err != nil {
		return nil, fmt.Errorf("password: built-in blocklist: %w", err)
	}
	for i, r := range extra {
		if err := b.read(r); err != nil {
			return nil, fmt.Errorf("password: blocklist %d: %w", i+1, err)
		}
	}
	slices.Sort(b.keys)
	b.keys = slices.Compact(b.keys)
	b.keys = slices.Clip(b.keys)
	return b, nil
}

// Contains reports whether password, normalised as the entries are, is on
// the list.
func (b *Blocklist) Contains(password string) bool {
	_, found := slices.BinarySearch(b.keys, normalize(password))
	return found
}

// Len returns the number of distinct entries after normalisation.
func (b *Blocklist) Len() int { return len(b.keys) }

// read appends the normalised lines of r, gzip-compressed or not, to b.keys.
func (b *Blocklist) read(r io.Reader) error {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxBlocklistLine)
	line := 0
	for sc.Scan() {
		line++
		if k := normalize(sc.Text()); k != "" {
			b.keys = append(b.keys, k)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d: %w", line+1, err)
		}
		return err
	}
	return nil
}

// normalize returns the key under which s is listed: auth.Fold(s), computed
// directly for ASCII text, where it is the trimmed lower-case text.
func normalize(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return auth.Fold(s)
		}
	}
	return strings.ToLower(strings.TrimSpace(s))
}
