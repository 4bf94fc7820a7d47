package auth

import (
	"io"

	"github.com/google/uuid"
)

// newUUID returns a random (version 4) UUID read from r, in its canonical
// text form.
func newUUID(r io.Reader) (string, error) {
	u, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// parseUUID writes the 16 bytes of s into dst and reports whether s is a
// UUID in its canonical 36-character form (hex digits in either case);
// uuid.Parse alone would also take the URN, braced and undashed forms.
func parseUUID(dst []byte, s string) bool {
	if len(s) != 36 {
		return false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return false
	}
	copy(dst, u[:])
	return true
}

// formatUUID is the canonical text form of the 16 bytes b.
func formatUUID(b []byte) string {
	return uuid.UUID(b).String()
}
