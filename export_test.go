package auth

// IPKeys returns how many client IPs the per-IP limit of class tracks, so
// tests can check that its memory stays bounded.
func (s *Service) IPKeys(class RateClass) int {
	l := s.throttles.other
	if class == RateSignin {
		l = s.throttles.signin
	}
	if l == nil {
		return 0
	}
	return l.size()
}

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

// Suspect reports whether the source of client IP ip is suspect now.
func (s *Service) Suspect(ip string) bool { return s.suspect(ip) }
