package runs

import (
	"sync"
	"time"
)

// Refusals are audited, but a scan (thousands of run ids, a flood of forged tokens) must
// not flood the trail. A refusalLimiter lets through the first perKey refusals of a key
// (a user, a source address) and the first total refusals of all keys in each window;
// the ones it holds back are counted, and the count is recorded with the key's next
// audited refusal, so the trail shows that a scan happened and how big it was. The zero
// value uses the defaults below.
type refusalLimiter struct {
	perKey, total int              // default refusalsPerKey, refusalsTotal
	window        time.Duration    // default refusalsWindow
	now           func() time.Time // default time.Now

	mu      sync.Mutex
	start   time.Time      // of the current window
	counts  map[string]int // refusals per key in the current window
	n       int            // refusals of all keys recorded in the current window
	dropped map[string]int // refusals held back and not yet reported, per key
}

// maxLimiterKeys bounds the keys a limiter remembers; keys past it share overflowKey,
// so an attacker with many source addresses cannot grow the maps without bound.
const (
	maxLimiterKeys = 10000
	overflowKey    = "\x00other"
)

// Defaults: at most 10 audited refusals a minute per key and 100 a minute in all.
const (
	refusalsPerKey = 10
	refusalsTotal  = 100
	refusalsWindow = time.Minute
)

// held is what a limiter held back before an audited refusal: of the same key, and of
// keys past maxLimiterKeys.
type held struct{ mine, others int }

// allow reports whether a refusal of key is audited now and, if so, how many were held
// back before it.
func (l *refusalLimiter) allow(key string) (bool, held) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		setInt(&l.perKey, refusalsPerKey)
		setInt(&l.total, refusalsTotal)
		setInt(&l.window, refusalsWindow)
		if l.now == nil {
			l.now = time.Now
		}
		l.counts, l.dropped = map[string]int{}, map[string]int{}
	}
	if now := l.now(); now.Sub(l.start) >= l.window || now.Before(l.start) {
		l.start, l.n = now, 0
		clear(l.counts)
	}
	if _, ok := l.counts[key]; !ok && len(l.counts) >= maxLimiterKeys {
		key = overflowKey
	}
	l.counts[key]++
	if key == overflowKey || l.counts[key] > l.perKey || l.n >= l.total {
		if _, ok := l.dropped[key]; !ok && len(l.dropped) >= maxLimiterKeys {
			key = overflowKey
		}
		l.dropped[key]++
		return false, held{}
	}
	l.n++
	h := held{mine: l.dropped[key], others: l.dropped[overflowKey]}
	delete(l.dropped, key)
	delete(l.dropped, overflowKey)
	return true, h
}

func setInt[T int | time.Duration](p *T, def T) {
	if *p == 0 {
		*p = def
	}
}
