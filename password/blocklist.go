package password

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
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
	// The normalised entries, sorted and without duplicates, packed: entry
	// i is data[ends[i-1]:ends[i]] (from 0 for the first). One string and
	// one offset per entry instead of a string header and an allocation
	// each: the built-in list takes about 0.6 MiB of heap instead of 4.
	data string
	ends []uint32
}

// NewBlocklist returns the built-in list of common passwords together with
// every password in extra. An extra list is UTF-8 text, one password per
// line (LF or CRLF); blank lines are skipped and no other line is special.
// A list that starts with the gzip magic bytes is decompressed first. A line
// longer than MaxBlocklistLine bytes, or a read error, fails the whole call.
func NewBlocklist(extra ...io.Reader) (*Blocklist, error) {
	var keys []string
	if err := read(&keys, bytes.NewReader(commonPasswords)); err != nil {
		return nil, fmt.Errorf("password: built-in blocklist: %w", err)
	}
	for i, r := range extra {
		if err := read(&keys, r); err != nil {
			return nil, fmt.Errorf("password: blocklist %d: %w", i+1, err)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	b := &Blocklist{data: strings.Join(keys, ""), ends: make([]uint32, len(keys))}
	if uint64(len(b.data)) > math.MaxUint32 {
		return nil, fmt.Errorf("password: blocklists of %d bytes: at most %d", len(b.data), uint64(math.MaxUint32))
	}
	end := 0
	for i, k := range keys {
		end += len(k)
		b.ends[i] = uint32(end)
	}
	return b, nil
}

// entry returns the i-th entry.
func (b *Blocklist) entry(i int) string {
	start := uint32(0)
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.data[start:b.ends[i]]
}

// Contains reports whether password, normalised as the entries are, is on
// the list.
func (b *Blocklist) Contains(password string) bool {
	key := normalize(password)
	i := sort.Search(len(b.ends), func(i int) bool { return b.entry(i) >= key })
	return i < len(b.ends) && b.entry(i) == key
}

// Len returns the number of distinct entries after normalisation.
func (b *Blocklist) Len() int { return len(b.ends) }

// read appends the normalised lines of r, gzip-compressed or not, to keys.
func read(keys *[]string, r io.Reader) error {
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
			*keys = append(*keys, k)
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
