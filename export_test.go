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

// Suspect reports whether the source of client IP ip is suspect now.
func (s *Service) Suspect(ip string) bool { return s.suspect(ip) }
