package local_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/wes"
)

// BenchmarkConfinedStart measures what confinement costs a job: the time the shim takes
// from before it starts a `true` job to its end (the job's StartTime to EndTime), which
// is the job's start (stages, namespaces, mounts, Landlock), its run and the sweep of its
// process tree. Compare the policies; with ENCLAVE_BENCH_SHIM set to an enclave binary,
// the stages are that binary, as in a deployment.
func BenchmarkConfinedStart(b *testing.B) {
	cases := []struct {
		name     string
		policy   string
		simulate func(testing.TB)
		limits   bool
	}{
		{"off", local.ConfineOff, nil, false},
		{"landlock", local.ConfineRequired, func(t testing.TB) { local.SimulateMachine(t, 99, false) }, false},
		{"namespaces", local.ConfineRequired, nil, false},
		{"namespaces+limits", local.ConfineRequired, nil, true},
	}
	for _, c := range cases {
		if c.policy == local.ConfineRequired && c.simulate == nil && os.Geteuid() != 0 {
			continue
		}
		b.Run(c.name, func(b *testing.B) {
			if c.simulate != nil {
				c.simulate(b)
			}
			z := newZone(b)
			cfg := config(b.TempDir(), time.Second)
			cfg.Confinement = c.policy
			if bin := os.Getenv("ENCLAVE_BENCH_SHIM"); bin != "" {
				cfg.ShimCommand = []string{bin} // ShimEnv routes it to the shim, as in BenchmarkSubmit
			}
			ex, err := local.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			took := make([]time.Duration, 0, b.N)
			for i := range b.N {
				job := z.job(fmt.Sprintf("bench-%d", i), "")
				job.Argv = []string{"true"}
				if c.limits {
					job.Resources = wes.Resources{MemoryMB: 4096, TimeLimit: time.Hour}
				}
				h, err := ex.Submit(context.Background(), job)
				if err != nil {
					b.Fatal(err)
				}
				benchWaitEnded(b, ex, h)
				st, _ := ex.Status(context.Background(), h)
				took = append(took, st.EndTime.Sub(st.StartTime))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "p90-ms")
		})
	}
}
