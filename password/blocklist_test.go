package password_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/authstore/auth"
	"github.com/authstore/auth/password"
)

func TestBlocklistBuiltIn(t *testing.T) {
	b, err := password.NewBlocklist()
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() < 10000 {
		t.Fatalf("built-in list has %d entries, want at least 10,000", b.Len())
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"123456", true},
		{"password", true},
		{"password1", true},
		{"qwertyuiop", true},
		{"iloveyou", true},
		{"1qaz2wsx", true},
		{"PassWord1", true},     // case is ignored
		{"  password1\t", true}, // so is surrounding white space
		{"PASSWORD123", true},
		{"correct horse battery", false},
		{"password1!x", false}, // whole passwords only
		{"Tr0ub4dor&3-zebra", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			if got := b.Contains(tt.password); got != tt.want {
				t.Errorf("Contains(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}
}

// The password the contract's conformance script (shared/conformance/
// contract.mjs) signs up with must not be refused by the built-in list.
func TestBlocklistSparesTestPasswords(t *testing.T) {
	b, err := password.NewBlocklist()
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"correct horse battery"} {
		if b.Contains(pw) {
			t.Errorf("%q is on the built-in list", pw)
		}
	}
}

func gzipped(t *testing.T, s string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := io.WriteString(zw, s); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestBlocklistExtraLists(t *testing.T) {
	b, err := password.NewBlocklist(
		strings.NewReader("Acme-Corp-2026\r\n\n   \n#hashtag-password\nStraße-Sommer\n"),
		gzipped(t, "velvet-otter-cabinet\n"),
		strings.NewReader("no final newline"),
	)
	if err != nil {
		t.Fatal(err)
	}
	base, err := password.NewBlocklist()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Len(), base.Len()+5; got != want {
		t.Errorf("Len() = %d, want %d (blank lines skipped)", got, want)
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"acme-corp-2026", true},
		{"ACME-CORP-2026", true},
		{"#hashtag-password", true}, // no comment syntax
		{"STRASSE-SOMMER", true},    // Unicode case folding: ß folds to ss
		{"straße-sommer", true},
		{"velvet-otter-cabinet", true}, // from a gzip-compressed list
		{"No Final Newline", true},
		{"password", true}, // the built-in list stays
		{"acme-corp-2027", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			if got := b.Contains(tt.password); got != tt.want {
				t.Errorf("Contains(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}
}

// Entries and candidates are normalised as logins are keyed, in their NFC
// form: a decomposed é matches a composed one.
func TestBlocklistNormalisesUnicode(t *testing.T) {
	b, err := password.NewBlocklist(strings.NewReader("caf\u00e9-au-lait\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"caf\u00e9-au-lait", "cafe\u0301-au-lait", "CAF\u00c9-AU-LAIT", "CAFE\u0301-AU-LAIT"} {
		if !b.Contains(pw) {
			t.Errorf("Contains(%q) = false, want true", pw)
		}
	}
}

func TestBlocklistErrors(t *testing.T) {
	tests := []struct {
		name string
		list io.Reader
		want error
	}{
		{"line too long", strings.NewReader("ok\n" + strings.Repeat("x", password.MaxBlocklistLine+1) + "\n"), bufio.ErrTooLong},
		{"read error", iotest.ErrReader(io.ErrClosedPipe), io.ErrClosedPipe},
		{"truncated gzip", io.LimitReader(gzipped(t, strings.Repeat("abcdefgh\n", 100)), 15), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := password.NewBlocklist(strings.NewReader("fine\n"), tt.list)
			if !errors.Is(err, tt.want) || b != nil {
				t.Fatalf("NewBlocklist = %v, %v; want an error wrapping %v", b, err, tt.want)
			}
			if !strings.Contains(err.Error(), "blocklist 2") {
				t.Errorf("error %q does not name the list", err)
			}
		})
	}
}

// For ASCII text, normalisation is auth.Fold: a list of folded entries
// contains every candidate they were folded from.
func TestBlocklistASCIIMatchesFold(t *testing.T) {
	var entries strings.Builder
	var candidates []string
	for c := range 128 {
		if c == '\n' || c == '\r' {
			continue
		}
		cand := " Ab" + string(rune(c)) + "Cd\t"
		candidates = append(candidates, cand)
		entries.WriteString(auth.Fold(cand) + "\n")
	}
	b, err := password.NewBlocklist(strings.NewReader(entries.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, cand := range candidates {
		if !b.Contains(cand) {
			t.Errorf("Contains(%q) = false, but its fold %q is listed", cand, auth.Fold(cand))
		}
	}
}

func BenchmarkNewBlocklist(b *testing.B) {
	for b.Loop() {
		if _, err := password.NewBlocklist(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlocklistContains(b *testing.B) {
	bl, err := password.NewBlocklist()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		bl.Contains("Correct Horse Battery")
	}
}
