package bench

import (
	"fmt"
	"strings"
)

// Seeded users: a benchmark database can be filled beforehand with many
// users (see authstore-bench --seed-users), all with the password
// SeedPassword and the login SeedLogin(i) for i from 0 up. Given
// Config.SeededUsers, the signin scenario signs in as seeded users picked at
// random across the whole table instead of its own few, so that every
// lookup lands on a random page of the login index rather than on a hot tail.
const (
	// SeedPassword is the password of every seeded user. A seeded database
	// is a benchmark database: its users share one password and one hash.
	SeedPassword = "authstore-bench-seed-Secret"
	// SeedLoginPrefix starts every seeded login; the rest is the user's
	// number, zero-padded to SeedLoginDigits digits, so that seeded logins
	// sort as their numbers do.
	SeedLoginPrefix = "seed"
	SeedLoginDigits = 8
	// SeedEmailDomain is the domain of the seeded users' addresses.
	SeedEmailDomain = "seed.bench.example"
)

// SeedLogin returns the login of the i-th seeded user (i from 0).
func SeedLogin(i int) string {
	return fmt.Sprintf("%s%0*d", SeedLoginPrefix, SeedLoginDigits, i)
}

// SeedEmail returns the email address of the i-th seeded user.
func SeedEmail(i int) string {
	return SeedLogin(i) + "@" + SeedEmailDomain
}

// SeedIndex returns the number of the seeded user whose login is login,
// and false if login is not a seeded login.
func SeedIndex(login string) (int, bool) {
	digits, ok := strings.CutPrefix(login, SeedLoginPrefix)
	if !ok || len(digits) != SeedLoginDigits {
		return 0, false
	}
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = 10*n + int(c-'0')
	}
	return n, true
}
