package httpapi

import (
	"context"
	"slices"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// service-info shows how each executor confines jobs, to anyone (it needs no token).
func TestServiceInfoConfinement(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Deps) {
		c.ServiceInfo.Confinement = map[string]wes.Confinement{
			"local":  {Policy: "required", Mechanisms: []string{"landlock ABI 7", "pid namespace"}},
			"docker": {Mechanisms: nil},
		}
	})
	res, err := h.client.GetServiceInfoWithResponse(context.Background())
	if err != nil || res.JSON200 == nil {
		t.Fatalf("service-info: %v %d %s", err, res.StatusCode(), res.Body)
	}
	got := res.JSON200.ExecutorConfinement
	if l := got["local"]; l.Policy != "required" || !slices.Equal(l.Mechanisms, []string{"landlock ABI 7", "pid namespace"}) || l.Problem != "" {
		t.Errorf("local = %+v", l)
	}
	if d, ok := got["docker"]; !ok || d.Mechanisms == nil || d.Policy != "" {
		t.Errorf("docker = %+v (present %v), want an empty list and no policy", d, ok)
	}
}
