package session

import "time"

// SetClock replaces the Manager's clock; call it before serving.
func (m *Manager) SetClock(now func() time.Time) { m.now = now }

// SetEndSessionEndpoint pretends the provider published an end_session_endpoint (Dex
// 2.45 has none), to check RP-initiated logout's redirect.
func (m *Manager) SetEndSessionEndpoint(u string) { m.meta.EndSessionEndpoint = u }

// LoginKey is the Redis key of the login started with state.
func (m *Manager) LoginKey(state string) string { return m.loginKey(state) }
