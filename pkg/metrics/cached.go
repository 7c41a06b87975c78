package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Scrape-time reads (run counts, queue depths) are cached for cacheTTL, so that
// several Prometheus servers, or a scrape interval shorter than a pass, cost the store
// at most one read per TTL; each read gets readTimeout.
const (
	cacheTTL    = 5 * time.Second
	readTimeout = 2 * time.Second
)

// Source reads one labelled gauge family at scrape time: a value per label value.
type Source func(ctx context.Context) (map[string]float64, error)

// cached is a collector of one gauge family read from a Source at scrape time. A read
// that fails leaves the family out of that scrape (absent, not a stale or false 0).
type cached struct {
	desc *prometheus.Desc
	kind prometheus.ValueType

	mu   sync.Mutex
	src  Source
	at   time.Time
	vals map[string]float64
	ok   bool
}

func newCached(d *prometheus.Desc, k prometheus.ValueType) *cached { return &cached{desc: d, kind: k} }

func (c *cached) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *cached) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock() // one read at a time: concurrent scrapes wait for it and share it
	defer c.mu.Unlock()
	if c.src == nil {
		return
	}
	if time.Since(c.at) > cacheTTL {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		vals, err := c.src(ctx)
		cancel()
		c.at, c.vals, c.ok = time.Now(), vals, err == nil
	}
	if !c.ok {
		return
	}
	for label, v := range c.vals {
		ch <- prometheus.MustNewConstMetric(c.desc, c.kind, v, label)
	}
}

func (c *cached) set(src Source) {
	c.mu.Lock()
	c.src, c.at = src, time.Time{}
	c.mu.Unlock()
}

// SetRunStates sets where enclave_runs{state} is read from (the run store's counts).
func (r *Registry) SetRunStates(src Source) {
	if r != nil {
		r.runStates.set(src)
	}
}

// SetQueueDepth sets where enclave_queue_depth{queue} is read from.
func (r *Registry) SetQueueDepth(src Source) {
	if r != nil {
		r.queueDepth.set(src)
	}
}
