package auth

// ThrottleKey returns the key of login's failed-signin record.
func (s *Service) ThrottleKey(login string) string { return s.throttleKey(Fold(login)) }

// ValidateSignup runs signup's field rules on r, with passwords of 8 to 128
// code points and no blocklist.
func ValidateSignup(r *SignupRequest) error {
	return validateSignup(r, passwordPolicy{min: 8, max: 128})
}

// NFKCCaseFold is the key Fold falls back to where PRECIS refuses a string.
func NFKCCaseFold(s string) string { return nfkcCaseFold(s) }

// IsDefaultIgnorable reports whether r is a Default_Ignorable_Code_Point.
func IsDefaultIgnorable(r rune) bool { return isDefaultIgnorable(r) }
