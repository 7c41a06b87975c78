// Command bench measures Enclave's HTTP throughput and run start latency on this machine,
// against a baseline measured in the same run, and prints the figures next to their
// targets. It is `make bench`: scripts/test-services.sh starts a real Redis and exports
// its address as ENCLAVE_TEST_REDIS_ADDR.
//
// Figures (all servers in this process, on 127.0.0.1, one closed-loop load generator):
//  1. baseline: a bare gin handler doing one Redis GET;
//  2. Enclave's GET /runs/{id}/status on the whole app (internal/app), and its ratio to 1;
//     the two are measured in alternating rounds so that load from other programs on the
//     machine hits both alike;
//  3. the same two GETs driven by wrk (Debian's, installed by scripts/setup.sh), an
//     external load generator, so the servers have this process to themselves; without
//     wrk this phase is skipped, and the report says so;
//  4. POST /runs accepted per second, with no worker (store + enqueue + attachment);
//  5. submit → RUNNING latency with the worker, the local executor and real Snakemake,
//     seen by the client (2 ms status polls) and as stored (StartTime - CreatedAt), with
//     the server side split into queue wait, start step up to the shim launch, and shim
//     start-up;
//  6. the run store's Redis round trips and commands per reconcile tick at 100, 1,000 and
//     10,000 live runs on the fake executor, and how soon a standby worker takes the
//     reconciler over after the leader, an `enclave worker` process, is killed with
//     SIGKILL (reconcile.go, takeover.go).
//
// The machine's CPUs may be shared with other work, which moves req/s and latencies; so
// each load phase also reports CPU time per request, of this process and of Redis, which
// hardly depends on that. Targets are reported as PASS/MISS; the exit status is 0 unless
// nothing could be measured. -profile DIR writes CPU profiles for `go tool pprof`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/internal/app"
	"github.com/spe4hd/enclave/pkg/config"
)

// measureLimit bounds all measuring; clean-up has limits of its own. The GET, wrk, POST
// and latency phases take about 56 s, which leaves the reconcile phase the time it had
// before the wrk phase came.
const measureLimit = 90 * time.Second

// started is when the bench began, for the progress lines.
var started = time.Now()

// progress prints a progress line with the time since the start.
func progress(format string, args ...any) {
	fmt.Printf("[%5.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

type options struct {
	conns        int
	warmup       time.Duration
	duration     time.Duration
	rounds       int
	wrkDuration  time.Duration
	wrkThreads   int
	postDuration time.Duration
	latencyRuns  int
	latencyRate  float64
	cancelEarly  bool
	phases       string
	profileDir   string
	logLevel     string
	enclaveBin   string
	redisCPU     cpuMeter // set by run, not a flag
}

func main() {
	// The local executor's shim is this binary (app uses local.SelfShim): when started
	// as the shim, be the shim and nothing else.
	local.MaybeShim()

	var o options
	flag.IntVar(&o.conns, "conns", 64, "connections (and goroutines) of the load generator")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before the first round of each GET target and before the POST phase")
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "measured time per GET target, split into -rounds alternating rounds")
	flag.IntVar(&o.rounds, "rounds", 4, "alternating baseline/Enclave rounds of the GET phase")
	flag.DurationVar(&o.wrkDuration, "wrk-duration", 8*time.Second, "measured time per GET target in the wrk phase, split into -rounds alternating rounds")
	flag.IntVar(&o.wrkThreads, "wrk-threads", 2, "wrk's threads (its -t); it opens -conns connections")
	flag.DurationVar(&o.postDuration, "post-duration", 4*time.Second, "measured time of the POST /runs phase")
	flag.IntVar(&o.latencyRuns, "latency-runs", 40, "runs submitted in the submit → RUNNING phase")
	flag.Float64Var(&o.latencyRate, "latency-rate", 4, "submissions per second in the submit → RUNNING phase")
	flag.BoolVar(&o.cancelEarly, "cancel-early", true, "cancel each latency run once it was seen RUNNING (keeps Snakemake's start-up CPU from saturating a small machine)")
	flag.StringVar(&o.phases, "phases", "get,wrk,post,latency,reconcile", "comma-separated phases to run")
	flag.StringVar(&o.profileDir, "profile", "", "directory to write CPU profiles of each phase and GET round into (baseline-get-N, status-get-N, wrk-baseline-N, wrk-status-N (the servers alone), post, latency)")
	flag.StringVar(&o.logLevel, "log-level", "warn", "level of the apps' logs (to stderr)")
	flag.StringVar(&o.enclaveBin, "enclave-bin", "bin/enclave", "the enclave binary whose worker processes the reconcile phase kills (make bench builds it)")
	flag.Parse()

	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	redisAddr := os.Getenv("ENCLAVE_TEST_REDIS_ADDR")
	if redisAddr == "" {
		return fmt.Errorf("ENCLAVE_TEST_REDIS_ADDR is not set: run `make bench`, which starts Redis")
	}
	var closeMeter func()
	o.redisCPU, closeMeter = redisCPUMeter(redisAddr)
	defer closeMeter()
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	// Everything is bounded: measuring stops after this long, leaving time for the
	// clean-up (cancelling runs, stopping the apps) within the two minutes the bench may take.
	ctx, cancel := context.WithTimeout(context.Background(), measureLimit)
	defer cancel()

	tmp, err := os.MkdirTemp("", "enclave-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	phases := map[string]bool{}
	for _, p := range strings.Split(o.phases, ",") {
		phases[strings.TrimSpace(p)] = true
	}
	res := &results{CPUs: runtime.NumCPU(), Conns: o.conns, LoadAvg: loadAvg()}
	progress("bench: %d CPUs, GOMAXPROCS %d, %d connections, Redis %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), o.conns, redisAddr)

	if phases["get"] || phases["wrk"] || phases["post"] {
		if err := apiPhases(ctx, o, phases, redisAddr, tmp, log, res); err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
	}
	if phases["latency"] {
		if err := latencyPhase(ctx, o, redisAddr, tmp, log, res); err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
	}
	if phases["reconcile"] {
		if err := reconcilePhase(ctx, o, redisAddr, tmp, res); err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
	}
	progress("done")
	fmt.Println()
	report(os.Stdout, res)
	if o.profileDir != "" {
		fmt.Printf("CPU profiles in %s: go tool pprof -top %s\n", o.profileDir, filepath.Join(o.profileDir, "<phase>.pprof"))
	}
	if res.Baseline == nil && res.Wrk == nil && res.Submit == nil && res.Latency == nil && res.Reconcile == nil {
		return fmt.Errorf("nothing could be measured")
	}
	return nil
}

// apiPhases runs the baseline, the status GET and the POST /runs phases against one
// Enclave with the API role only.
func apiPhases(ctx context.Context, o options, phases map[string]bool, redisAddr, tmp string, log *slog.Logger, res *results) error {
	cfg := benchConfig(redisAddr, filepath.Join(tmp, "api"))
	e, err := startEnclave(ctx, cfg, app.Roles{API: true}, log)
	if err != nil {
		return fmt.Errorf("start Enclave (API only): %w", err)
	}
	defer func() {
		_ = e.stop()
		_ = wipe(context.Background(), redisAddr, cfg)
	}()
	quick, err := newSubmission(quickSnakefile)
	if err != nil {
		return err
	}

	if phases["get"] || phases["wrk"] {
		if err := getPhases(ctx, o, phases, e, cfg, redisAddr, res); err != nil {
			return err
		}
	}

	if phases["post"] {
		progress("POST /runs: %s warm-up + %s", o.warmup, o.postDuration)
		stop := startProfile(o.profileDir, "post")
		r := hammer(ctx, newClient(o.conns), o.redisCPU, o.conns, o.warmup, o.postDuration, func() (*http.Request, error) {
			return quick.request(e.api())
		})
		stop()
		s := summarize(r)
		res.Submit = &s
		if r.firstBad != "" {
			res.Errors = append(res.Errors, "POST /runs: first bad answer: "+r.firstBad)
		}
	}
	return nil
}

// getPhases runs the GET phases: the in-process one and the one driven by wrk, against
// the same run, Enclave and baseline.
func getPhases(ctx context.Context, o options, phases map[string]bool, e *enclave, cfg config.Config, redisAddr string, res *results) error {
	c, err := newWESClient(e, newClient(o.conns))
	if err != nil {
		return err
	}
	id, err := c.Submit(ctx, benchRun(quickSnakefile), "")
	if err != nil {
		return fmt.Errorf("create the run the status GETs ask for: %w", err)
	}
	b, err := startBaseline(redisAddr, runKey(cfg, id))
	if err != nil {
		return fmt.Errorf("start the baseline: %w", err)
	}
	defer b.stop()
	baseURL, enclURL := b.url()+"/status/"+id, e.api()+"/runs/"+id+"/status"
	if phases["get"] {
		base, encl := getPhase(ctx, o, baseURL, enclURL)
		sb, se := summarize(base), summarize(encl)
		res.Baseline, res.StatusGet = &sb, &se
		res.RateRatio = ratio(se.Rate, sb.Rate)
		res.P50Ratio, res.P99Ratio = ratio(se.P50ms, sb.P50ms), ratio(se.P99ms, sb.P99ms)
		res.CPURatio = ratio(se.CPUus, sb.CPUus)
		if encl.firstBad != "" || base.firstBad != "" {
			res.Errors = append(res.Errors, "GET: first bad answer: "+encl.firstBad+base.firstBad)
		}
	}
	if phases["wrk"] {
		bin, err := wrkPath()
		if err != nil {
			progress("wrk phase skipped: %v", err)
			res.Skipped = append(res.Skipped, "wrk GET phase: "+err.Error())
			return nil
		}
		w, err := wrkPhase(ctx, o, bin, baseURL, enclURL)
		if err != nil {
			return fmt.Errorf("wrk GET phase: %w", err)
		}
		res.Wrk = w
	}
	return nil
}

// getPhase measures the baseline and Enclave's status GET in alternating rounds.
func getPhase(ctx context.Context, o options, baseURL, enclURL string) (base, encl loadResult) {
	cb, ce := newClient(o.conns), newClient(o.conns)
	per := o.duration / time.Duration(max(1, o.rounds))
	for i := range max(1, o.rounds) {
		warm := o.warmup
		if i > 0 {
			warm = o.warmup / 4 // connections are open already; only let the rate settle
		}
		progress("GET round %d: baseline %s, then Enclave %s (each after %s warm-up)", i+1, per, per, warm)
		stop := startProfile(o.profileDir, fmt.Sprintf("baseline-get-%d", i+1))
		base.merge(hammer(ctx, cb, o.redisCPU, o.conns, warm, per, getRequest(baseURL)))
		stop()
		stop = startProfile(o.profileDir, fmt.Sprintf("status-get-%d", i+1))
		encl.merge(hammer(ctx, ce, o.redisCPU, o.conns, warm, per, getRequest(enclURL)))
		stop()
	}
	return base, encl
}

// latencyPhase runs submit → RUNNING against an Enclave with the worker on.
func latencyPhase(ctx context.Context, o options, redisAddr, tmp string, log *slog.Logger, res *results) error {
	cfg := benchConfig(redisAddr, filepath.Join(tmp, "worker"))
	taps := newTap(log.Handler())
	e, err := startEnclave(ctx, cfg, app.Roles{API: true, Worker: true}, slog.New(taps))
	if err != nil {
		return fmt.Errorf("start Enclave (API + worker): %w", err)
	}
	defer func() {
		_ = e.stop()
		_ = wipe(context.Background(), redisAddr, cfg)
	}()
	progress("submit -> RUNNING: %d runs at %.1f/s (cancel early: %t)", o.latencyRuns, o.latencyRate, o.cancelEarly)
	stop := startProfile(o.profileDir, "latency")
	l, err := measureLatency(ctx, e, taps.st, redisAddr, o.latencyRuns, o.latencyRate, o.cancelEarly)
	stop()
	if l.Runs > 0 {
		res.Latency = &l
	}
	if err != nil {
		return fmt.Errorf("submit -> RUNNING: %w", err)
	}
	return nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// startProfile starts a CPU profile into dir/name.pprof and returns its stop; with no dir
// it does nothing. Profiles cover the whole process: the load generator too.
func startProfile(dir, name string) func() {
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// loadAvg is the first three fields of /proc/loadavg, or "" where there is none.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
