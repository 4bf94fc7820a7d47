package verify

// CachedTokens returns how many verified tokens the cache holds.
func (v *Verifier) CachedTokens() int {
	if v.cache == nil {
		return 0
	}
	v.cache.mu.RLock()
	defer v.cache.mu.RUnlock()
	return len(v.cache.m)
}
