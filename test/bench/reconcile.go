package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/executors/fake"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/runner"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// reconcileSizes are the numbers of live runs a reconcile tick is measured at.
var reconcileSizes = []int{100, 1000, 10000}

// reconcileTick is what one reconcile tick cost the run store at one number of live runs.
type reconcileTick struct {
	LiveRuns   int     `json:"live_runs"`
	RoundTrips int64   `json:"round_trips"`
	Commands   int64   `json:"commands"`
	PassMs     float64 `json:"pass_ms"`
	ReadMs     float64 `json:"batched_read_ms"` // RunStore.Live alone, measured apart
	Enqueued   int64   `json:"enqueued"`
}

// tripCounter is a go-redis hook counting round trips (a command sent alone, or a whole
// pipeline) and the commands in them.
type tripCounter struct{ trips, cmds atomic.Int64 }

func (h *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.trips.Add(1)
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.trips.Add(1)
		h.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func (h *tripCounter) take() (trips, cmds int64) { return h.trips.Swap(0), h.cmds.Swap(0) }

// countingDispatcher counts the steps a reconcile pass enqueues; with every job running
// it must enqueue none.
type countingDispatcher struct{ n atomic.Int64 }

func (d *countingDispatcher) Start(context.Context, string) error    { d.n.Add(1); return nil }
func (d *countingDispatcher) Cancel(context.Context, string) error   { d.n.Add(1); return nil }
func (d *countingDispatcher) Finalize(context.Context, string) error { d.n.Add(1); return nil }

// reconcileTicks measures the run store's round trips and commands of one reconcile tick
// (taking or renewing the reconciler's lease, then one pass) at each of reconcileSizes
// live runs: RUNNING runs whose fake jobs (executors/fake) run for an hour, so the pass
// polls them all and changes nothing. The runs are stored on a key prefix of their own,
// removed at the end.
func reconcileTicks(ctx context.Context, redisAddr, dir string) ([]reconcileTick, error) {
	cfg := benchConfig(redisAddr, dir)
	plain := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer plain.Close()
	defer func() { _ = wipe(context.Background(), redisAddr, cfg) }()
	counter := &tripCounter{}
	counted := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer counted.Close()
	counted.AddHook(counter)

	fx, err := fake.New(fake.Config{Dir: filepath.Join(dir, "fake")})
	if err != nil {
		return nil, err
	}
	store := redisstore.New(counted, redisstore.Options{Prefix: cfg.Redis.KeyPrefix})
	disp := &countingDispatcher{}
	r, err := runner.New(runner.Config{DataDir: dir},
		store, disp, executors.NewRegistry(fx), engines.NewRegistry())
	if err != nil {
		return nil, err
	}
	// One tick of the leader: renew the lease (RunReconciler), then one pass.
	lease := store.Lease("reconciler")
	tick := func() (time.Duration, error) {
		if _, err := lease.Hold(ctx, "bench", takeoverTTL); err != nil {
			return 0, err
		}
		t0 := time.Now()
		err := r.Reconcile(ctx)
		return time.Since(t0), err
	}
	var out []reconcileTick
	have := 0
	for _, n := range reconcileSizes {
		progress("reconcile tick: storing %d live runs on the fake executor", n-have)
		if err := storeLiveRuns(ctx, redisstore.New(plain, redisstore.Options{Prefix: cfg.Redis.KeyPrefix}), fx, dir, n-have); err != nil {
			return out, err
		}
		have = n
		if _, err := tick(); err != nil { // warm: connections, scripts
			return out, err
		}
		counter.take()
		disp.n.Store(0)
		pass, err := tick()
		if err != nil {
			return out, err
		}
		trips, cmds := counter.take()
		t0 := time.Now()
		if _, err := store.Live(ctx); err != nil {
			return out, err
		}
		read := time.Since(t0)
		counter.take()
		out = append(out, reconcileTick{LiveRuns: n, RoundTrips: trips, Commands: cmds,
			PassMs: ms(pass), ReadMs: ms(read), Enqueued: disp.n.Load()})
		progress("reconcile tick at %d live runs: %d round trips, %d commands, pass %v (batched read %v)",
			n, trips, cmds, pass.Round(time.Millisecond), read.Round(time.Millisecond))
	}
	return out, nil
}

// storeLiveRuns stores n RUNNING runs, each with a fake job that runs for an hour, as the
// start step leaves them, from a few goroutines.
func storeLiveRuns(ctx context.Context, store wes.RunStore, fx *fake.Executor, dir string, n int) error {
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o750); err != nil {
		return err
	}
	const workers = 16
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		mu    sync.Mutex
		first error
	)
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				if err := storeLiveRun(ctx, store, fx, work); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return cmpErr(first, ctx.Err())
}

// storeLiveRun stores one run as storeLiveRuns does. Its job's work directory is work,
// shared by all: the fake writes nothing there, and a directory per run would cost the
// bench seconds at 10,000 runs.
func storeLiveRun(ctx context.Context, store wes.RunStore, fx *fake.Executor, work string) error {
	id := uniqueName("run-")
	h, err := fx.Submit(ctx, &wes.Job{ID: id, Argv: []string{"fake", "sleep=1h"}, WorkDir: work,
		Stdout: filepath.Join(work, "stdout.log"), Stderr: filepath.Join(work, "stderr.log")})
	if err != nil {
		return fmt.Errorf("fake submit: %w", err)
	}
	return store.Create(ctx, &wes.Run{ID: id, Owner: "bench", State: wes.StateRunning, Engine: "snakemake",
		Executor: fake.Name, WorkDir: work, Handle: &h, StartTime: time.Now(),
		Request: wes.RunRequest{WorkflowType: "SMK", WorkflowTypeVersion: "1.0", WorkflowURL: "Snakefile"}})
}

// cmpErr returns the first of its errors that is not nil.
func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// reconcileRes is the reconciler phase: what a tick costs, and how soon another worker
// takes over when the leader is killed.
type reconcileRes struct {
	Ticks    []reconcileTick `json:"ticks"`
	Takeover *takeoverResult `json:"takeover,omitempty"`
}

// reconcilePhase measures the reconcile ticks (reconcileTicks) and the takeover after a
// kill -9 of the leader (measureTakeover).
func reconcilePhase(ctx context.Context, o options, redisAddr, tmp string, res *results) error {
	rr := &reconcileRes{}
	res.Reconcile = rr
	var errs []error
	var err error
	rr.Ticks, err = reconcileTicks(ctx, redisAddr, filepath.Join(tmp, "reconcile"))
	if err != nil {
		errs = append(errs, fmt.Errorf("reconcile ticks: %w", err))
	}
	progress("reconciler takeover: %d `%s worker` processes, interval %v, lease TTL %v", takeoverWorkers, o.enclaveBin, takeoverInterval, takeoverTTL)
	dir := filepath.Join(tmp, "takeover")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Join(append(errs, err)...)
	}
	rr.Takeover, err = measureTakeover(ctx, o.enclaveBin, redisAddr, dir)
	if err != nil {
		errs = append(errs, fmt.Errorf("reconciler takeover: %w", err))
	}
	return errors.Join(errs...)
}

// reportReconcile adds the reconciler phase's rows to t.
func reportReconcile(t *table, r *results) {
	rr := r.Reconcile
	if rr == nil {
		return
	}
	for _, tk := range rr.Ticks {
		t.row(fmt.Sprintf("reconcile tick, %d live runs (fake executor): round trips / commands", tk.LiveRuns),
			fmt.Sprintf("%d / %d (pass %.0f ms, read %.0f ms)", tk.RoundTrips, tk.Commands, tk.PassMs, tk.ReadMs), "", "")
		if tk.Enqueued > 0 {
			t.row("  steps enqueued while every job runs", fmt.Sprint(tk.Enqueued), "0", verdict(false))
		}
	}
	if n := len(rr.Ticks); n > 1 {
		first, last := rr.Ticks[0], rr.Ticks[n-1]
		ok := last.RoundTrips <= first.RoundTrips
		r.Targets["reconcile_round_trips_constant"] = ok
		t.row(fmt.Sprintf("  round trips at %d vs %d live runs", last.LiveRuns, first.LiveRuns),
			fmt.Sprintf("%d vs %d", last.RoundTrips, first.RoundTrips), "same", verdict(ok))
	}
	if to := rr.Takeover; to != nil && len(to.TookMs) > 0 {
		// The lease runs out at most TTL after the kill (plus a renewal in flight), and a
		// standby tries every interval; the bench sees it within one poll.
		limit := to.TTLMs + to.IntervalMs + ms(takeoverSlack)
		ok := to.MaxMs <= limit
		r.Targets["reconciler_takeover"] = ok
		all := make([]string, len(to.TookMs))
		for i, v := range to.TookMs {
			all[i] = fmt.Sprintf("%.0f", v)
		}
		t.row(fmt.Sprintf("reconciler takeover after SIGKILL of the leader (%d enclave worker processes, lease TTL %.0f s)", to.Workers, to.TTLMs/1000),
			fmt.Sprintf("max %.0f ms (%s)", to.MaxMs, strings.Join(all, ", ")), fmt.Sprintf("<= %.0f ms", limit), verdict(ok))
	}
}
