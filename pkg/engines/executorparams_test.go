package engines_test

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Every engine accepts the executor parameters, with their types checked.
func TestExecutorParamsAcceptedByEveryEngine(t *testing.T) {
	e := paramEngine()
	ok := map[string]string{"partition": "gpu", "account": "proj-1", "qos": "high", "memory-mb": "2048", "time-limit": "2h"}
	if err := engines.ValidateParams(e, "1.0", ok); err != nil {
		t.Fatalf("ValidateParams(executor params) = %v", err)
	}
	for name, bad := range map[string]string{
		"partition": "gpu;touch x", "account": "--uid=0", "qos": "a b", "memory-mb": "0", "time-limit": "forever",
	} {
		err := engines.ValidateParams(e, "1.0", map[string]string{name: bad})
		if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), name) {
			t.Errorf("%s=%q: %v; want EINVALID naming %s", name, bad, err, name)
		}
	}
	// They are listed after the engine's own, and an engine's own parameter of the same
	// name wins.
	ps := engines.ParamsFor(e, "1.0")
	if ps[0].Name != "cores" || ps[len(ps)-1].Name != engines.ParamTimeLimit {
		t.Errorf("ParamsFor order: first %s, last %s", ps[0].Name, ps[len(ps)-1].Name)
	}
	own := &fakeEngine{name: "own", params: []wes.EngineParam{{Name: "partition", Type: "enum", Allowed: []string{"a"}}}}
	if err := engines.ValidateParams(own, "", map[string]string{"partition": "gpu"}); err == nil {
		t.Error("the engine's own enum partition did not win over the executor parameter")
	}
	// Effective has no defaults for them.
	if eff := engines.Effective(e, "1.0", nil); eff["partition"] != "" {
		t.Errorf("Effective gave a default partition %q", eff["partition"])
	}
}

func TestApplyExecutorParams(t *testing.T) {
	job := &wes.Job{Resources: wes.Resources{CPUs: 2, MemoryMB: 100}, Params: map[string]string{"engine": "x"}}
	engines.ApplyExecutorParams(job, map[string]string{
		"partition": "gpu", "qos": "high", "memory-mb": "2048", "time-limit": "90m", "cores": "4", "keep-going": "true"})
	want := map[string]string{"engine": "x", "partition": "gpu", "qos": "high"}
	if !maps.Equal(job.Params, want) {
		t.Errorf("Params = %v, want %v", job.Params, want)
	}
	if job.Resources != (wes.Resources{CPUs: 2, MemoryMB: 2048, TimeLimit: 90 * time.Minute}) {
		t.Errorf("Resources = %+v", job.Resources)
	}
	empty := &wes.Job{}
	engines.ApplyExecutorParams(empty, map[string]string{"cores": "4"})
	if empty.Params != nil || empty.Resources != (wes.Resources{}) {
		t.Errorf("no executor params changed the job: %+v", empty)
	}
}
