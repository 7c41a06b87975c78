package runner

import (
	"context"
	"testing"

	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/pkg/metrics"
	"github.com/spe4hd/enclave/pkg/wes"
)

type oneExecutor struct{ ex wes.Executor }

func (o oneExecutor) Get(string) (wes.Executor, error) { return o.ex, nil }

// bare has only the core calls: no optional capability.
type bare struct{ wes.Executor }

// observed executors keep exactly the capabilities of the executor inside (so the
// runner's decisions do not change with metrics on), and the calls the runner makes
// through them are timed and counted by executor and call.
func TestObservedExecutorCapabilities(t *testing.T) {
	fx, err := fake.New(fake.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	obs := observedExecutors{Executors: oneExecutor{fx}, m: m}
	ex, _ := obs.Get(fake.Name)

	b, ok := capability[wes.StatusBatcher](ex)
	if !ok {
		t.Fatal("the observed fake executor lost StatusBatch")
	}
	if _, ok := b.(*observed); !ok {
		t.Errorf("StatusBatch is not timed: %T", b)
	}
	if _, ok := capability[wes.Cleaner](ex); !ok {
		t.Error("the observed fake executor lost Cleanup")
	}
	if _, ok := capability[wes.Collector](ex); ok {
		t.Error("the observed fake executor gained Collect, which the fake does not have")
	}
	plain, _ := observedExecutors{Executors: oneExecutor{bare{fx}}, m: m}.Get(fake.Name)
	if _, ok := capability[wes.StatusBatcher](plain); ok {
		t.Error("an executor without StatusBatch gained it through the decorator")
	}

	_, _ = b.StatusBatch(context.Background(), nil)
	_, _ = ex.Status(context.Background(), wes.Handle{Executor: fake.Name})
	for _, call := range []string{"status_batch", "status"} {
		if n := histogramCount(t, m, "enclave_executor_call_duration_seconds", map[string]string{"executor": fake.Name, "call": call}); n != 1 {
			t.Errorf("%s calls counted: %d, want 1", call, n)
		}
	}
}

func histogramCount(t *testing.T, m *metrics.Registry, name string, labels map[string]string) uint64 {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			return s.GetHistogram().GetSampleCount()
		}
	}
	return 0
}
