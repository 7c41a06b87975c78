package config

import "crypto/subtle"

// MetricsConfig says where Prometheus metrics are served (GET /metrics).
type MetricsConfig struct {
	// Addr is a host:port of a listener of their own (e.g. an address only the cluster's
	// Prometheus reaches); the server's listener then has no /metrics. Default "": on
	// server.addr.
	Addr string `yaml:"addr"`
	// Token, when set, is the bearer token a scrape must send (Authorization: Bearer
	// TOKEN); other requests get 401. Default "": no token. Secret.
	Token string `yaml:"token"`
}

// TokenOK reports whether an Authorization header value carries the metrics token (in
// constant time); always true without one.
func (m MetricsConfig) TokenOK(authorization string) bool {
	if m.Token == "" {
		return true
	}
	want := "Bearer " + m.Token
	return subtle.ConstantTimeCompare([]byte(authorization), []byte(want)) == 1
}

func (v *validator) metrics(m MetricsConfig, serverAddr string) {
	if m.Addr == "" {
		return
	}
	v.HostPort("metrics.addr", m.Addr)
	v.Check("metrics.addr", m.Addr != serverAddr, "must differ from server.addr (leave it empty to serve /metrics there)")
}
