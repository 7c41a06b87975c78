package httpapi

import (
	"context"
	"slices"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// service-info shows how each executor confines jobs, to anyone (it needs no token).
func TestServiceInfoConfinement(t *testing.T) {
	h := newHarness(t, func(c *testConfig, _ *testDeps) {
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

// service-info shows each limited executor's max_running to everyone, and how many runs
// hold and wait for its slots only to callers who see every run: how busy others are is
// not a researcher's to see.
func TestServiceInfoAdmission(t *testing.T) {
	h := newHarness(t, func(c *testConfig, d *testDeps) {
		c.ServiceInfo.MaxRunning = map[string]int{"local": 1}
		d.Admission = nil // set below, on the harness's store
	})
	adm := h.store.Admission()
	h2 := newHarness(t, func(c *testConfig, d *testDeps) {
		c.ServiceInfo.MaxRunning = map[string]int{"local": 1}
		d.Store, d.Idempotency, d.Admission = h.store, h.store, adm
	})
	ctx := context.Background()
	for i, id := range []string{"r1", "r2", "r3"} {
		if _, _, err := adm.Acquire(ctx, wes.Ticket{Executor: "local", Owner: "bob", RunID: id, Order: int64(i)}, 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		h                *harness
		user             string
		running, waiting int64
	}{
		{h2, "admin", 1, 2},
		{h2, "alice", 0, 0},
		{h, "admin", 0, 0}, // no Admission: limits only
	} {
		res, err := tc.h.client.GetServiceInfoWithResponse(ctx, asUser(tc.user))
		if err != nil || res.JSON200 == nil {
			t.Fatalf("service-info: %v %d %s", err, res.StatusCode(), res.Body)
		}
		got := res.JSON200.ExecutorAdmission["local"]
		if got.MaxRunning != 1 || got.Running != tc.running || got.Waiting != tc.waiting {
			t.Errorf("%s sees local admission %+v, want max 1, running %d, waiting %d", tc.user, got, tc.running, tc.waiting)
		}
	}
}
