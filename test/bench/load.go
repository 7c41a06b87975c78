package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"
)

// newClient returns a keep-alive client for one target: up to conns connections, all
// kept idle between requests, so the load generator never pays for a TCP handshake
// after the warm-up.
func newClient(conns int) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
		MaxIdleConns:        2 * conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// requestFunc makes a fresh request for one iteration of the load loop.
type requestFunc func() (*http.Request, error)

// loadResult is what one closed-loop run measured: the latencies of the requests that
// started and ended inside the measured window, and every response's status.
type loadResult struct {
	samples  []time.Duration
	window   time.Duration
	statuses map[int]int   // over warm-up and window alike
	errs     int           // transport errors
	firstBad string        // the first non-200 response or error, for the report
	cpu      time.Duration // CPU (user+system) this process used during the window
	redisCPU time.Duration // CPU the Redis server used during the window
}

func (r *loadResult) merge(o loadResult) {
	r.samples = append(r.samples, o.samples...)
	r.window += o.window
	if r.statuses == nil {
		r.statuses = map[int]int{}
	}
	for k, v := range o.statuses {
		r.statuses[k] += v
	}
	r.errs += o.errs
	r.cpu += o.cpu
	r.redisCPU += o.redisCPU
	if r.firstBad == "" {
		r.firstBad = o.firstBad
	}
}

// bad is the number of responses that were not 200, transport errors included.
func (r *loadResult) bad() int {
	n := r.errs
	for code, c := range r.statuses {
		if code != http.StatusOK {
			n += c
		}
	}
	return n
}

func (r *loadResult) total() int {
	n := r.errs
	for _, c := range r.statuses {
		n += c
	}
	return n
}

// rate is completed requests per second of measured window.
func (r *loadResult) rate() float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(len(r.samples)) / r.window.Seconds()
}

// percentile returns the p-th percentile (0..100) of the sorted samples, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// hammer runs a closed loop: conns goroutines each send a request, read the whole
// response and send the next, for warm+dur. Only requests that start after the warm-up
// and end before the window closes are timed, so rate = timed requests / dur.
func hammer(ctx context.Context, c *http.Client, redisCPU cpuMeter, conns int, warm, dur time.Duration, mk requestFunc) loadResult {
	start := time.Now()
	from, to := start.Add(warm), start.Add(warm+dur)
	ctx, cancel := context.WithDeadline(ctx, to.Add(5*time.Second))
	defer cancel()

	// CPU time over the window, of this process (the servers under test and the load
	// generator together) and of Redis. Unlike req/s it hardly depends on what else the
	// machine runs.
	var cpuFrom, cpuTo, redisFrom, redisTo time.Duration
	var cpuWG sync.WaitGroup
	cpuWG.Add(2)
	time.AfterFunc(warm, func() { cpuFrom, redisFrom = processCPU(), redisCPU(); cpuWG.Done() })
	time.AfterFunc(warm+dur, func() { cpuTo, redisTo = processCPU(), redisCPU(); cpuWG.Done() })

	parts := make([]loadResult, conns)
	var wg sync.WaitGroup
	for g := range conns {
		wg.Add(1)
		go func(res *loadResult) {
			defer wg.Done()
			res.statuses = map[int]int{}
			res.samples = make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				req, err := mk()
				if err != nil {
					res.errs++
					res.noteBad(err.Error())
					return
				}
				t0 := time.Now()
				if !t0.Before(to) {
					return
				}
				resp, err := c.Do(req.WithContext(ctx))
				if err != nil {
					res.errs++
					res.noteBad(err.Error())
					continue
				}
				if resp.StatusCode != http.StatusOK {
					body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
					res.noteBad(fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body))
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				t1 := time.Now()
				res.statuses[resp.StatusCode]++
				if !t0.Before(from) && !t1.After(to) {
					res.samples = append(res.samples, t1.Sub(t0))
				}
			}
		}(&parts[g])
	}
	wg.Wait()
	cpuWG.Wait()
	out := loadResult{statuses: map[int]int{}}
	for _, p := range parts {
		out.merge(p)
	}
	out.window = dur
	out.cpu = cpuTo - cpuFrom
	out.redisCPU = redisTo - redisFrom
	return out
}

// cpuMeter returns a CPU time used so far.
type cpuMeter func() time.Duration

// processCPU is the user+system CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r *loadResult) noteBad(s string) {
	if r.firstBad == "" {
		r.firstBad = s
	}
}

// summary is a measured target reduced to the figures the report prints.
type summary struct {
	Requests int     `json:"requests"`
	Rate     float64 `json:"req_per_s"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Non200   int     `json:"non_200"`
	Total    int     `json:"total_responses"`
	// CPUus is this process's CPU time per measured request (server and load generator);
	// Cores is the CPU it got during the window, in cores.
	CPUus float64 `json:"cpu_us_per_req"`
	Cores float64 `json:"cores_used"`
	// RedisCPUus is the Redis server's CPU time per measured request.
	RedisCPUus float64 `json:"redis_cpu_us_per_req"`
}

func summarize(r loadResult) summary {
	s := slices.Clone(r.samples)
	slices.Sort(s)
	return summary{
		Requests: len(s), Rate: r.rate(),
		P50ms: ms(percentile(s, 50)), P99ms: ms(percentile(s, 99)),
		Non200: r.bad(), Total: r.total(),
		CPUus:      float64(r.cpu.Microseconds()) / float64(max(1, len(s))),
		RedisCPUus: float64(r.redisCPU.Microseconds()) / float64(max(1, len(s))),
		Cores:      r.cpu.Seconds() / max(r.window.Seconds(), 1e-9),
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
