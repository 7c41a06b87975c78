package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/nextflow"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
)

// startup records how far a process has come: a server or worker started while Redis
// is down or still loading its data set waits for it instead of exiting.
type startup struct {
	redis  atomic.Bool   // Redis answered
	worker atomic.Bool   // this process's worker takes steps
	done   atomic.Bool   // start-up is over: the API serves
	doneC  chan struct{} // closed with done
	stopC  chan struct{} // closed when Run stops: held requests are answered at once
	once   sync.Once
	hold   time.Duration // how long an API request waits for start-up before its 503
}

func newStartup() startup {
	return startup{doneC: make(chan struct{}), stopC: make(chan struct{}), hold: startHold}
}

func (s *startup) finish() {
	s.once.Do(func() {
		s.done.Store(true)
		close(s.doneC)
	})
}

// startHold is how long an API request that comes while the process starts waits for
// start-up to end before it is answered 503: a client that reaches a server starting
// (which used to leave its connection in the listen queue) is served once it is up.
const startHold = 30 * time.Second

// Redis waits: the first retry after redisFirstWait, doubling up to redisMaxWait; one
// PING gets redisPingTimeout.
const (
	redisFirstWait   = 250 * time.Millisecond
	redisMaxWait     = 10 * time.Second
	redisPingTimeout = 5 * time.Second
)

// startingRetryAfter is the Retry-After of a request refused while the server starts.
const startingRetryAfter = "5"

// waitRedis pings Redis until it answers, retrying with backoff and logging each wait,
// for at most redis.startup_timeout (0: once). It returns ctx's error when ctx ends.
func (a *App) waitRedis(ctx context.Context) error {
	if a.up.redis.Load() {
		return nil
	}
	limit := a.cfg.Redis.StartupTimeout
	began := time.Now()
	wait := redisFirstWait
	c := pingClient(a.ropt)
	defer c.Close()
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
		err := c.Ping(pctx).Err()
		cancel()
		if err == nil {
			if attempt > 1 {
				a.log.Info("Redis answers", "addr", redisWhere(a.ropt), "waited", time.Since(began).Round(time.Millisecond))
			}
			a.up.redis.Store(true)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		left := limit - time.Since(began)
		if left <= 0 {
			return fmt.Errorf("redis at %s did not answer within redis.startup_timeout (%s): %w", redisWhere(a.ropt), limit, err)
		}
		d := min(wait, left)
		a.log.Warn("waiting for Redis (down, or loading its data set)", "addr", redisWhere(a.ropt), "err", err,
			"attempt", attempt, "retry_in", d, "gives_up_in", left.Round(time.Second))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, redisMaxWait)
	}
}

// Ready reports whether this process is ready, and otherwise what it waits for:
// "redis" (at start), "worker", "engine NAME" (version discovery pending or failing).
func (a *App) Ready() (bool, []string) {
	var waiting []string
	if !a.up.redis.Load() {
		waiting = append(waiting, "redis")
	}
	if a.worker != nil && !a.up.worker.Load() {
		waiting = append(waiting, "worker")
	}
	for _, n := range a.engines.NotReady() {
		waiting = append(waiting, "engine "+n)
	}
	if len(waiting) == 0 && !a.up.done.Load() {
		waiting = append(waiting, "start-up")
	}
	return len(waiting) == 0, waiting
}

// handler puts GET /readyz and the start-up gate in front of the API and the portal.
// Until start-up is over, /healthz answers 503 at once, and any other request waits for
// it (up to startHold, or while its client waits) and is answered 503 with a Retry-After
// if it does not end in time, so nothing reaches a store that is not there yet. Then
// /ga4gh/... and /healthz go to the API, and every other path to the portal (nil: off;
// the API answers them as before).
func (a *App) handler(api, web http.Handler) http.Handler {
	if web != nil {
		api = routePortal(api, a.observePortal(web), a.cfg.Portal.Prefix)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/readyz":
			a.observeOther(w, r, a.serveReadyz)
			return
		case r.URL.Path == "/metrics" && a.cfg.Metrics.Addr == "":
			a.observeOther(w, r, a.serveMetrics)
			return
		case a.up.done.Load():
		case r.URL.Path == "/healthz" || !a.holdForStart(r.Context()):
			a.observeOther(w, r, a.serveStarting)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// holdForStart waits until start-up is over (true), or until the hold, the request or
// Run ends (false).
func (a *App) holdForStart(ctx context.Context) bool {
	t := time.NewTimer(a.up.hold)
	defer t.Stop()
	select {
	case <-a.up.doneC:
		return true
	case <-t.C:
	case <-ctx.Done():
	case <-a.up.stopC:
	}
	return false
}

// serveReadyz answers 200 when the process has started and its readiness checks pass
// (readiness.go), else 503 naming what fails ("failing": the start-up waits and the
// failing checks) and what start-up waits for ("waiting_for"), with no addresses or
// errors: those are in the log.
func (a *App) serveReadyz(w http.ResponseWriter, _ *http.Request) {
	ok, failing, waiting := a.readyNow()
	if ok {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
		return
	}
	w.Header().Set("Retry-After", startingRetryAfter)
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "failing": failing, "waiting_for": waiting})
}

func (a *App) serveStarting(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", startingRetryAfter)
	if r.URL.Path == "/healthz" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "starting"})
		return
	}
	_, waiting := a.Ready()
	// A WES ErrorResponse, as the API's own 503s are.
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{
		"msg":         "the server is starting (waiting for: " + strings.Join(waiting, ", ") + "); try again shortly",
		"status_code": http.StatusServiceUnavailable,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// engineProbes keeps a configured version list from advertising a program that is not
// there. With the local executor the engines run on this machine, so an engine with
// configured versions is offered only while its program is installed here (snakemake and
// cwltool must also answer --version; nextflow is only looked for, as its launcher may
// download itself when run). Engines without configured versions are discovered by
// running them anyway. With another default executor the engines run elsewhere (an
// image, a cluster) and the configured lists are trusted.
func engineProbes(cfg config.Config) map[string]engines.Probe {
	if cfg.Executor.Default != local.Name {
		return nil
	}
	e := cfg.Engines
	p := map[string]engines.Probe{nextflow.Name: {Binary: e.Nextflow.Binary}}
	if len(e.Snakemake.Versions) > 0 {
		p[snakemake.Name] = engines.Probe{Binary: e.Snakemake.Binary, Args: []string{"--version"}}
	}
	if len(e.Cwltool.Versions) > 0 {
		p[cwl.Name] = engines.Probe{Binary: e.Cwltool.Binary, Args: []string{"--version"}}
	}
	return p
}
