package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The wrk phase measures the same two GETs as the GET phase, with wrk (Debian's package,
// installed by scripts/setup.sh) as the load generator: a separate process written in C,
// so the servers no longer share this process with a Go load generator, and the CPU this
// process uses in a round is the servers' alone. Baseline and Enclave alternate rounds
// as in the GET phase.

// wrkResults is what the wrk phase measured.
type wrkResults struct {
	Threads   int     `json:"threads"`
	Baseline  summary `json:"baseline_get"`
	StatusGet summary `json:"enclave_status_get"`
	RateRatio float64 `json:"status_rate_ratio"`
	CPURatio  float64 `json:"status_cpu_per_req_ratio"`
	// RoundRatios are the Enclave / baseline req/s of each round, and MedianRatio their
	// median: a round in which other work on the machine hit one side shows here.
	RoundRatios []float64 `json:"round_ratios"`
	MedianRatio float64   `json:"median_round_ratio"`
	// SocketErrors are wrk's connect, read, write and timeout errors, both servers.
	SocketErrors int `json:"socket_errors"`
}

// wrkRun is one wrk run's figures.
type wrkRun struct {
	requests     int
	seconds      float64
	p50, p99     time.Duration
	non2xx       int
	socketErrors int
	cpu, redis   time.Duration // of this process (the servers) and of Redis, over the run
}

// wrkPath returns the wrk binary, or why the wrk phase cannot run.
func wrkPath() (string, error) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return "", fmt.Errorf("wrk is not installed (scripts/setup.sh installs Debian's wrk): %v", err)
	}
	return p, nil
}

// wrkPhase measures the baseline and Enclave's status GET with wrk in alternating rounds.
func wrkPhase(ctx context.Context, o options, bin, baseURL, enclURL string) (*wrkResults, error) {
	per := o.wrkDuration / time.Duration(max(1, o.rounds))
	res := &wrkResults{Threads: o.wrkThreads}
	var base, encl []wrkRun
	// One unmeasured run each first: wrk opens fresh connections per run, and the first
	// requests of a server warm its pools and caches.
	for _, u := range []string{baseURL, enclURL} {
		if _, err := runWrk(ctx, o, bin, u, max(time.Second, o.warmup), ""); err != nil {
			return nil, err
		}
	}
	for i := range max(1, o.rounds) {
		progress("wrk round %d: baseline %s, then Enclave %s (%d threads, %d connections)", i+1, per, per, o.wrkThreads, o.conns)
		b, err := runWrk(ctx, o, bin, baseURL, per, fmt.Sprintf("wrk-baseline-%d", i+1))
		if err != nil {
			return nil, err
		}
		e, err := runWrk(ctx, o, bin, enclURL, per, fmt.Sprintf("wrk-status-%d", i+1))
		if err != nil {
			return nil, err
		}
		base, encl = append(base, b), append(encl, e)
		res.RoundRatios = append(res.RoundRatios, ratio(e.rate(), b.rate()))
	}
	res.Baseline, res.StatusGet = summarizeWrk(base), summarizeWrk(encl)
	res.RateRatio = ratio(res.StatusGet.Rate, res.Baseline.Rate)
	res.CPURatio = ratio(res.StatusGet.CPUus, res.Baseline.CPUus)
	res.MedianRatio = median(res.RoundRatios)
	for _, r := range append(base, encl...) {
		res.SocketErrors += r.socketErrors
	}
	return res, nil
}

// runWrk runs wrk against url for d and reads its report, measuring the CPU this process
// and Redis used meanwhile; with -profile and a name, this process's CPU profile too.
func runWrk(ctx context.Context, o options, bin, url string, d time.Duration, profile string) (wrkRun, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, bin, "-t", strconv.Itoa(o.wrkThreads), "-c", strconv.Itoa(o.conns),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "5s", "--latency", url)
	dir := o.profileDir
	if profile == "" {
		dir = ""
	}
	stop := startProfile(dir, profile)
	cpu0, redis0 := processCPU(), o.redisCPU()
	out, err := cmd.CombinedOutput()
	cpu1, redis1 := processCPU(), o.redisCPU()
	stop()
	if err != nil {
		return wrkRun{}, fmt.Errorf("wrk %s: %v: %s", url, err, strings.TrimSpace(string(out)))
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return wrkRun{}, fmt.Errorf("wrk %s: %v in its output:\n%s", url, err, out)
	}
	r.cpu, r.redis = cpu1-cpu0, redis1-redis0
	return r, nil
}

var (
	wrkTotal   = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),`)
	wrkPct     = regexp.MustCompile(`(?m)^\s*(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads the report of `wrk --latency`.
func parseWrk(out string) (wrkRun, error) {
	var r wrkRun
	m := wrkTotal.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf(`no "N requests in T" line`)
	}
	r.requests, _ = strconv.Atoi(m[1])
	r.seconds = wrkDuration(m[2], m[3]).Seconds()
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		d := wrkDuration(m[2], m[3])
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, fmt.Errorf("no 50%% and 99%% latency lines (wrk --latency)")
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := wrkSockErr.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.socketErrors += n
		}
	}
	return r, nil
}

// wrkDuration reads one of wrk's durations ("812.00us", "3.21ms", "1.02s", "1.50m").
func wrkDuration(v, unit string) time.Duration {
	f, _ := strconv.ParseFloat(v, 64)
	mult := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[unit]
	return time.Duration(f * float64(mult))
}

func (r wrkRun) rate() float64 {
	if r.seconds <= 0 {
		return 0
	}
	return float64(r.requests) / r.seconds
}

// summarizeWrk adds a target's rounds up: the rate over all of them, the median of the
// rounds' percentiles (wrk gives no samples to merge) and the CPU per request.
func summarizeWrk(runs []wrkRun) summary {
	var s summary
	var secs float64
	var cpu, redis time.Duration
	var p50, p99 []float64
	for _, r := range runs {
		s.Requests += r.requests
		s.Non200 += r.non2xx
		secs += r.seconds
		cpu += r.cpu
		redis += r.redis
		p50, p99 = append(p50, ms(r.p50)), append(p99, ms(r.p99))
	}
	s.Total = s.Requests
	if secs > 0 {
		s.Rate = float64(s.Requests) / secs
		s.Cores = cpu.Seconds() / secs
	}
	s.P50ms, s.P99ms = median(p50), median(p99)
	s.CPUus = float64(cpu.Microseconds()) / float64(max(1, s.Requests))
	s.RedisCPUus = float64(redis.Microseconds()) / float64(max(1, s.Requests))
	return s
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
