package token

// Algorithms lists the asymmetric signing algorithms, for tests that run on
// each.
func Algorithms() []string { return []string{EdDSA, ES256, RS256} }
