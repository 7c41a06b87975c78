package engines

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// State says whether an engine can take runs on this server.
type State string

const (
	// StateReady: the engine is installed and answered; its versions are offered. An
	// engine nobody checks (no Discoverer, no Probe) is ready from the start.
	StateReady State = "ready"
	// StatePending: the engine has not been checked yet.
	StatePending State = "pending"
	// StateFailing: the engine's program is there but did not answer (an error or a
	// timeout, e.g. a slow `--version` on a loaded machine). It is checked again.
	StateFailing State = "failing"
	// StateAbsent: the engine's program is not installed. It is not offered, and is
	// looked for again now and then (an engine installed later appears).
	StateAbsent State = "absent"
)

// Probe says how to check, on this machine, an engine whose versions come from the
// configuration rather than from its Discoverer: a configured version list must not
// advertise a program that is not there.
type Probe struct {
	// Binary is the engine's program, a name looked up on PATH or a path.
	Binary string
	// Args, when set, are run with Binary (e.g. "--version"), which must then succeed;
	// nil checks only that Binary is an executable file.
	Args []string
}

// WatchConfig bounds the checks Watch makes.
type WatchConfig struct {
	// Timeout bounds the first check of one engine; each failed check doubles it up to
	// MaxTimeout, so an engine that is merely slow on a loaded machine is given longer.
	// Defaults 30s and 5m.
	Timeout, MaxTimeout time.Duration
	// FirstRetry is the wait after a first failed check; it doubles up to MaxRetry.
	// Defaults 1s and 1m.
	FirstRetry, MaxRetry time.Duration
}

func (c WatchConfig) withDefaults() WatchConfig {
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = 5 * time.Minute
	}
	c.MaxTimeout = max(c.MaxTimeout, c.Timeout)
	if c.FirstRetry <= 0 {
		c.FirstRetry = time.Second
	}
	if c.MaxRetry <= 0 {
		c.MaxRetry = time.Minute
	}
	c.MaxRetry = max(c.MaxRetry, c.FirstRetry)
	return c
}

// status is what the registry knows of one checked engine.
type status struct {
	state State
	err   error     // the last check's error, for the log only (it may name paths)
	next  time.Time // when a failing engine is checked again
}

// defaultRetryAfter is the Retry-After of an engine whose first check is still running.
const defaultRetryAfter = 5 * time.Second

// RetryError is the EUNAVAILABLE error of an engine that is not ready yet: the HTTP
// layer turns RetryAfter into a Retry-After header.
type RetryError struct {
	Err   *wes.Error
	After time.Duration
}

func (e *RetryError) Error() string             { return e.Err.Error() }
func (e *RetryError) Unwrap() error             { return e.Err }
func (e *RetryError) RetryAfter() time.Duration { return e.After }

// SetProbes sets the probes of engines by name. Call it before Discover or Watch.
func (r *Registry) SetProbes(p map[string]Probe) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.probes = map[string]Probe{}
	for name, pr := range p {
		r.probes[name] = pr
	}
}

// checked lists the engines Discover and Watch check: those that discover their
// versions and those with a probe.
func (r *Registry) checked() []wes.Engine {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []wes.Engine
	for _, e := range r.engines {
		_, discovers := e.(Discoverer)
		if _, probed := r.probes[e.Name()]; discovers || probed {
			out = append(out, e)
		}
	}
	return out
}

func (r *Registry) setStatus(name string, st status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == nil {
		r.status = map[string]status{}
	}
	r.status[name] = st
	if ch, ok := r.waiters[name]; ok && st.state == StateReady {
		close(ch)
		delete(r.waiters, name)
	}
}

// ReadyC returns a channel closed once the engine called name is ready (at once for one
// that is ready now: call it after Watch).
func (r *Registry) ReadyC(name string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.status[name]; !ok || st.state == StateReady {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	if r.waiters == nil {
		r.waiters = map[string]chan struct{}{}
	}
	ch, ok := r.waiters[name]
	if !ok {
		ch = make(chan struct{})
		r.waiters[name] = ch
	}
	return ch
}

// stateOf returns the state of the engine called name, and when it is checked next.
func (r *Registry) stateOf(name string) status {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if st, ok := r.status[name]; ok {
		return st
	}
	return status{state: StateReady}
}

// State returns the state of the engine called name (StateReady for an engine nobody
// checks).
func (r *Registry) State(name string) State { return r.stateOf(name).state }

// NotReady lists the engines still pending or failing, which a server waits for before
// it calls itself ready. Absent engines are not waited for.
func (r *Registry) NotReady() []string {
	var out []string
	for _, e := range r.All() {
		if st := r.State(e.Name()); st == StatePending || st == StateFailing {
			out = append(out, e.Name())
		}
	}
	return out
}

// Available returns the engines to advertise, in registration order: ready ones that
// offer at least one version.
func (r *Registry) Available() []wes.Engine {
	var out []wes.Engine
	for _, e := range r.All() {
		if r.State(e.Name()) == StateReady && len(e.Versions()) > 0 {
			out = append(out, e)
		}
	}
	return out
}

// check checks e once and records the outcome.
func (r *Registry) check(ctx context.Context, e wes.Engine, timeout time.Duration) status {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.mu.RLock()
	p, probed := r.probes[e.Name()]
	r.mu.RUnlock()
	st := status{state: StateReady}
	if probed {
		st = probe(ctx, p)
	}
	if d, ok := e.(Discoverer); ok && st.state == StateReady {
		if _, err := d.Discover(ctx); err != nil {
			st = status{state: StateFailing, err: err}
			if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
				st.state = StateAbsent
			}
		}
	}
	r.setStatus(e.Name(), st)
	return st
}

// probe checks p.Binary is installed and, with Args, answers.
func probe(ctx context.Context, p Probe) status {
	path, err := exec.LookPath(p.Binary)
	if err != nil {
		return status{state: StateAbsent, err: err}
	}
	if p.Args == nil {
		return status{state: StateReady}
	}
	cmd := exec.CommandContext(ctx, path, p.Args...)
	cmd.WaitDelay = time.Second // do not wait on pipes held open by grandchildren
	if out, err := cmd.CombinedOutput(); err != nil {
		if len(out) > 200 {
			out = out[:200]
		}
		return status{state: StateFailing, err: fmt.Errorf("run %s %s: %w (output %q)", p.Binary, strings.Join(p.Args, " "), err, out)}
	}
	return status{state: StateReady}
}

// Watch marks every engine it checks pending, then, in the background, checks each
// until it is ready: one that fails or is absent is checked again after a wait that
// starts at cfg.FirstRetry and doubles up to cfg.MaxRetry. Meanwhile Resolve refuses its
// runs with EUNAVAILABLE (pending, failing) or EINVALID (absent). checked is closed once
// every engine has been checked at least once (none is pending); done once every engine
// is ready or ctx has ended (absent engines are looked for until then). ReadyC tells
// when one engine is ready.
func (r *Registry) Watch(ctx context.Context, log *slog.Logger, cfg WatchConfig) (checked, done <-chan struct{}) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	es := r.checked()
	for _, e := range es {
		r.setStatus(e.Name(), status{state: StatePending})
	}
	checkedC, doneC := make(chan struct{}), make(chan struct{})
	var first, all sync.WaitGroup
	for _, e := range es {
		first.Add(1)
		all.Add(1)
		go func() {
			defer all.Done()
			r.watch(ctx, log.With("component", "engines", "engine", e.Name()), e, cfg, first.Done)
		}()
	}
	go func() { first.Wait(); close(checkedC) }()
	go func() { all.Wait(); close(doneC) }()
	return checkedC, doneC
}

// watch checks e until it is ready or ctx ends; firstDone is called once, after the
// first check.
func (r *Registry) watch(ctx context.Context, log *slog.Logger, e wes.Engine, cfg WatchConfig, firstDone func()) {
	var once sync.Once
	defer once.Do(firstDone)
	wait, timeout := cfg.FirstRetry, cfg.Timeout
	for attempt := 1; ; attempt++ {
		started := time.Now()
		st := r.check(ctx, e, timeout)
		if ctx.Err() != nil {
			return
		}
		if st.state == StateReady {
			log.Info("engine ready", "versions", e.Versions(), "attempt", attempt, "took", time.Since(started).Round(time.Millisecond))
			return
		}
		st.next = time.Now().Add(wait)
		r.setStatus(e.Name(), st)
		once.Do(firstDone)
		switch {
		case st.state == StateFailing:
			log.Warn("engine version discovery failed; its runs are refused with 503 until it succeeds",
				"err", st.err, "attempt", attempt, "took", time.Since(started).Round(time.Millisecond), "retry_in", wait)
			timeout = min(2*timeout, cfg.MaxTimeout)
		case attempt == 1:
			log.Warn("engine not installed; it is not offered", "err", st.err, "looked_for_again_in", wait)
		default:
			log.Debug("engine still not installed", "err", st.err, "attempt", attempt, "retry_in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, cfg.MaxRetry)
	}
}

// Discover checks every engine that can be checked once, now (see Watch for checks
// that are retried). An engine that fails is logged; Discover itself never fails.
func (r *Registry) Discover(ctx context.Context, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, e := range r.checked() {
		st := r.check(ctx, e, WatchConfig{}.withDefaults().Timeout)
		l := log.With("component", "engines", "engine", e.Name())
		if st.state != StateReady {
			l.Warn("engine not ready; it will refuse runs", "state", st.state, "err", st.err)
			continue
		}
		l.Info("engine versions", "versions", e.Versions())
	}
}

// unready is Resolve's error for an engine that is not ready.
func (r *Registry) unready(e wes.Engine, st status) error {
	if st.state == StateAbsent {
		return wes.Errorf(wes.EINVALID, "workflow_engine %s is not installed on this server; installed: %s", e.Name(), r.installedList())
	}
	after := defaultRetryAfter
	if !st.next.IsZero() {
		after = time.Until(st.next).Round(time.Second)
	}
	after = min(max(after, time.Second), 5*time.Minute)
	return &RetryError{After: after, Err: wes.Errorf(wes.EUNAVAILABLE,
		"workflow_engine %s is not ready on this server yet (it is still being checked); try again in %d s",
		e.Name(), int(after/time.Second))}
}

// installedList describes the engines that can take runs, e.g.
// "snakemake 7.21.0 (SMK), cwltool 3.1.20230209161050 (CWL)".
func (r *Registry) installedList() string {
	var parts []string
	for _, e := range r.Available() {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", e.Name(), strings.Join(e.Versions(), ", "), e.WorkflowType()))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}
