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
