package app

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Readiness checks: each gets checkTimeout, and their result is kept for checkCache, so
// that however many probes come (kubelet, load balancer, Prometheus's enclave_ready) the
// backends see at most one round of checks per checkCache.
const (
	checkTimeout = 2 * time.Second
	checkCache   = time.Second
)

// check is one readiness check: name is what /readyz says when it fails.
type check struct {
	name string
	fn   func(context.Context) error
}

// readiness runs the checks and caches their result.
type readiness struct {
	mu      sync.Mutex // held while checking: concurrent probes share one round
	at      time.Time
	failing []string
	ttl     time.Duration
}

// checks are this process's readiness checks: Redis answers a PING; the audit trail
// accepts a write (audit.Log.Writable, which appends nothing); each enabled executor of
// this process's worker that can be pinged answers (wes.Pinger); the OIDC provider's
// keys are loaded.
func (a *App) checks() []check {
	cs := []check{{"redis", func(ctx context.Context) error { return a.rdb.Ping(ctx).Err() }}}
	if a.zone != nil && a.zone.audit != nil {
		cs = append(cs, check{"audit", a.zone.audit.Writable})
	}
	if a.execs != nil {
		for _, n := range a.execs.Names() {
			ex, err := a.execs.Get(n)
			if err != nil {
				continue
			}
			if p, ok := ex.(wes.Pinger); ok {
				cs = append(cs, check{"executor " + n, p.Ping})
			}
		}
	}
	if a.authn != nil {
		cs = append(cs, check{"oidc", func(context.Context) error {
			if !a.authn.KeysLoaded() {
				return errors.New("the OIDC provider's signing keys are not loaded")
			}
			return nil
		}})
	}
	return cs
}

// failing runs the checks (at most once per ttl, all at once, each within checkTimeout)
// and returns the names of those that fail. Their errors are logged, not returned: the
// probe's body names no address or credential.
func (a *App) failing() []string {
	r := &a.readiness
	r.mu.Lock()
	defer r.mu.Unlock()
	ttl := r.ttl
	if ttl == 0 {
		ttl = checkCache
	}
	if !r.at.IsZero() && time.Since(r.at) < ttl {
		return r.failing
	}
	cs := a.checks()
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
			defer cancel()
			errs[i] = c.fn(ctx)
		}()
	}
	wg.Wait()
	var failing []string
	for i, err := range errs {
		name := cs[i].name
		if err != nil {
			failing = append(failing, name)
			if !slices.Contains(r.failing, name) { // logged when it starts failing, not at every probe
				a.log.Warn("readiness check failed", "check", name, "err", err)
			}
		} else if slices.Contains(r.failing, name) {
			a.log.Info("readiness check passes again", "check", name)
		}
	}
	r.at, r.failing = time.Now(), failing
	return failing
}

// readyNow reports whether the process has started and every check passes, and what
// fails or is waited for.
func (a *App) readyNow() (bool, []string, []string) {
	_, waiting := a.Ready()
	failing := slices.Clone(waiting)
	for _, f := range a.failing() {
		if !slices.Contains(failing, f) {
			failing = append(failing, f)
		}
	}
	return len(failing) == 0, failing, waiting
}
