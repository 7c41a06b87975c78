package config

import (
	"strings"
	"testing"
)

func TestMetricsConfig(t *testing.T) {
	if m := Default().Metrics; m.Addr != "" || m.Token != "" || !m.TokenOK("") {
		t.Errorf("defaults %+v: /metrics on server.addr, no token", m)
	}
	path := writeFile(t, "metrics: {addr: 127.0.0.1:9090}\n")
	c, err := Load(path, []string{"ENCLAVE_METRICS_TOKEN=scrape-s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Addr != "127.0.0.1:9090" || c.Metrics.Token != "scrape-s3cret" {
		t.Errorf("loaded %+v", c.Metrics)
	}
	if !c.Metrics.TokenOK("Bearer scrape-s3cret") || c.Metrics.TokenOK("Bearer other") || c.Metrics.TokenOK("") {
		t.Error("TokenOK does not check the token")
	}
	if r := c.Redacted(); r.Metrics.Token != RedactedValue || strings.Contains(r.YAML(), "scrape-s3cret") {
		t.Errorf("the token is not redacted: %+v", r.Metrics)
	}
	for _, tc := range []struct{ addr, msg string }{
		{"nohost", "metrics.addr"},
		{Default().Server.Addr, "must differ from server.addr"},
	} {
		c := Default()
		c.Metrics.Addr = tc.addr
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("metrics.addr %q: Validate = %v, want %q", tc.addr, err, tc.msg)
		}
	}
}
