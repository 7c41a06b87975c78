package local_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/wes"
)

// BenchmarkSubmit measures Submit alone, under no load: the timer stops while the
// previous job runs to its end, so no shim starts up in the background of a timed Submit.
// The shim is this test binary (SelfShim); with ENCLAVE_BENCH_SHIM set to the path of an
// enclave binary, a second case uses that binary, as a deployment does.
func BenchmarkSubmit(b *testing.B) {
	b.Run("selfshim", func(b *testing.B) {
		benchSubmit(b, config(b.TempDir(), time.Second))
	})
	if bin := os.Getenv("ENCLAVE_BENCH_SHIM"); bin != "" {
		b.Run("enclave-binary", func(b *testing.B) {
			cfg := config(b.TempDir(), time.Second)
			cfg.ShimCommand = []string{bin}
			benchSubmit(b, cfg)
		})
	}
}

func benchSubmit(b *testing.B, cfg local.Config) {
	cfg.Logger = slog.New(slog.DiscardHandler)
	ex, err := local.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	job := func(i int) *wes.Job {
		return &wes.Job{ID: fmt.Sprintf("bench-%d", i), Argv: []string{"true"}, WorkDir: work,
			Stdout: filepath.Join(work, "out.log"), Stderr: filepath.Join(work, "err.log")}
	}
	ctx := context.Background()
	// Warm up outside the timer: the first Submit of an executor may check its shim.
	h, err := ex.Submit(ctx, job(-1))
	if err != nil {
		b.Fatal(err)
	}
	benchWaitEnded(b, ex, h)
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		h, err := ex.Submit(ctx, job(i))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		took = append(took, time.Since(start))
		benchWaitEnded(b, ex, h)
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "p90-ms")
}

func benchWaitEnded(b *testing.B, ex wes.Executor, h wes.Handle) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := ex.Status(context.Background(), h)
		if err == nil && st.State.Ended() {
			if st.State != wes.JobSucceeded {
				b.Fatalf("job ended %+v", st)
			}
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("job not ended after 30s: %+v, %v", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
