package auth

// KeysLoaded reports whether the provider's signing keys have been fetched and at least
// one can verify tokens (readiness: without them every token is refused).
func (a *Authenticator) KeysLoaded() bool {
	k := a.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	return !k.fetchedAt.IsZero() && len(k.byKID)+len(k.noKID) > 0
}
