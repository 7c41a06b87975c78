package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// Limits of the submit → RUNNING phase.
const (
	pollInterval = 2 * time.Millisecond // how often each run's status is asked
	watchLimit   = 15 * time.Second     // how long one run may take to be seen RUNNING
	cleanupLimit = 15 * time.Second     // cancelling all runs and waiting for their end
)

// latencyRun is what was observed of one submitted run.
type latencyRun struct {
	id      string
	post    time.Duration // POST /runs round trip
	running time.Duration // POST answered → first RUNNING seen by the poll loop
	err     error
}

// latencyResult is the submit → RUNNING measurement.
type latencyResult struct {
	Runs       int     `json:"runs"`
	Rate       float64 `json:"submit_per_s"`
	Failed     int     `json:"failed"`
	FirstError string  `json:"first_error,omitempty"`
	// Client side: from the POST answer to the first GET status that says RUNNING.
	ClientP50ms float64 `json:"client_p50_ms"`
	ClientP99ms float64 `json:"client_p99_ms"`
	// Server side: Run.StartTime - Run.CreatedAt as stored.
	ServerP50ms float64 `json:"server_p50_ms"`
	ServerP99ms float64 `json:"server_p99_ms"`
	PostP50ms   float64 `json:"post_p50_ms"`
	// The server side split in three (p50 of each, from the worker's log lines): queue
	// wait (CreatedAt → start step begins), start step up to the shim's launch stage
	// returning, and the wait for the shim to start the job plus the final store update.
	QueueP50ms  float64 `json:"queue_wait_p50_ms"`
	LaunchP50ms float64 `json:"prepare_launch_p50_ms"`
	AdoptP50ms  float64 `json:"shim_start_p50_ms"`
	Breakdowns  int     `json:"breakdowns"`
	// Final states after the clean-up, e.g. {"CANCELED": 100}.
	Final map[string]int `json:"final_states"`
}

// measureLatency submits n runs, one every 1/rate seconds (open loop, so a slow answer
// never delays the next submission), and watches each with a 2 ms status poll until it
// is RUNNING. With cancelEarly each run is cancelled as soon as it was seen RUNNING, so
// the engines' own start-up CPU does not pile up on a small machine; either way every
// run is cancelled at the end and the bench waits until all are finished.
func measureLatency(ctx context.Context, e *enclave, taps *tapState, redisAddr string, n int, rate float64, cancelEarly bool) (latencyResult, error) {
	c, err := newWESClient(e, newClient(64))
	if err != nil {
		return latencyResult{}, err
	}
	sub := benchRun(sleepSnakefile)
	runs := make([]latencyRun, n)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
submitting:
	for i := range n {
		if i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				break submitting // still clean up the runs already submitted
			}
		}
		wg.Add(1)
		go func(r *latencyRun) {
			defer wg.Done()
			watchRun(ctx, c, sub, r, cancelEarly)
		}(&runs[i])
	}
	wg.Wait()

	// Clean up: cancel every run (a finished one is left alone by the API), then wait
	// until all are in a terminal state, so no job outlives the bench. This gets its own
	// time limit: it must happen even when the measurement ran out of time.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupLimit)
	defer cancel()
	for _, r := range runs {
		if r.id != "" {
			_, _ = c.Cancel(cctx, r.id)
		}
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	store := redisstore.New(rdb, redisstore.Options{Prefix: e.cfg.Redis.KeyPrefix})
	stored, err := waitTerminal(cctx, store, runs)
	res := summarizeLatency(runs, stored, taps, rate)
	if err == nil {
		err = ctx.Err()
	}
	return res, err
}

// watchRun submits one run and polls its status until RUNNING (or watchLimit).
func watchRun(ctx context.Context, c *wesclient.Client, sub wesclient.RunRequest, r *latencyRun, cancelEarly bool) {
	t0 := time.Now()
	id, err := c.Submit(ctx, sub, "")
	posted := time.Now()
	r.post = posted.Sub(t0)
	if err != nil {
		r.err = err
		return
	}
	r.id = id
	deadline := posted.Add(watchLimit)
	for {
		rs, err := c.Status(ctx, id)
		st, now := wes.State(rs.State), time.Now()
		switch {
		case err != nil:
			r.err = err
			return
		case st == wes.StateRunning:
			r.running = now.Sub(posted)
			if cancelEarly {
				_, _ = c.Cancel(ctx, id)
			}
			return
		case st.Terminal():
			r.err = fmt.Errorf("run %s ended %s without being seen RUNNING", id, st)
			return
		case now.After(deadline):
			r.err = fmt.Errorf("run %s still %s after %s", id, st, watchLimit)
			return
		}
		time.Sleep(pollInterval)
	}
}

// waitTerminal polls the store until every submitted run is terminal or ctx ends, and
// returns the stored runs as last read.
func waitTerminal(ctx context.Context, store *redisstore.Store, runs []latencyRun) (map[string]*wes.Run, error) {
	out := map[string]*wes.Run{}
	for {
		pending := 0
		for _, r := range runs {
			if r.id == "" {
				continue
			}
			if s, ok := out[r.id]; ok && s.State.Terminal() {
				continue
			}
			run, err := store.Get(ctx, r.id)
			if err != nil {
				return out, err
			}
			out[r.id] = run
			if !run.State.Terminal() {
				pending++
			}
		}
		if pending == 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("%d runs not finished within %s after they were cancelled", pending, cleanupLimit)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func summarizeLatency(runs []latencyRun, stored map[string]*wes.Run, taps *tapState, rate float64) latencyResult {
	res := latencyResult{Rate: rate, Final: map[string]int{}}
	var client, server, post, queue, launch, adopt []time.Duration
	for _, r := range runs {
		if r.id == "" && r.err == nil {
			continue // never submitted: the bench ran out of time
		}
		res.Runs++
		if r.err != nil {
			res.Failed++
			if res.FirstError == "" {
				res.FirstError = r.err.Error()
			}
		} else {
			client = append(client, r.running)
		}
		post = append(post, r.post)
		if s := stored[r.id]; s != nil {
			res.Final[string(s.State)]++
			if !s.StartTime.IsZero() {
				server = append(server, s.StartTime.Sub(s.CreatedAt))
			}
			if q, l, a, ok := taps.breakdown(r.id, s.CreatedAt, s.StartTime); ok {
				queue, launch, adopt = append(queue, q), append(launch, l), append(adopt, a)
			}
		}
	}
	for _, d := range [][]time.Duration{client, server, post, queue, launch, adopt} {
		slices.Sort(d)
	}
	res.ClientP50ms, res.ClientP99ms = ms(percentile(client, 50)), ms(percentile(client, 99))
	res.ServerP50ms, res.ServerP99ms = ms(percentile(server, 50)), ms(percentile(server, 99))
	res.PostP50ms = ms(percentile(post, 50))
	res.QueueP50ms, res.LaunchP50ms, res.AdoptP50ms = ms(percentile(queue, 50)), ms(percentile(launch, 50)), ms(percentile(adopt, 50))
	res.Breakdowns = len(queue)
	return res
}
