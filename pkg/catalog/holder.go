package catalog

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
)

// Holder keeps the current catalogue of a server and swaps in a new one on Reload.
// Request handlers take one snapshot with Catalog() and use it for the whole request.
type Holder struct {
	path string
	opts Options
	log  *slog.Logger

	mu       sync.Mutex // serialises reloads
	cur      atomic.Pointer[Catalog]
	onReload func(Reload) // guarded by mu
}

// Reload is the outcome of one Holder.Reload, for the audit trail.
type Reload struct {
	Previous Fingerprint // the catalogue in use before
	Current  Fingerprint // the new one; zero when Err is set
	Change   Change      // from Previous to Current; empty when Err is set
	// SHA256 is the hex sha256 of the file read, also when it was refused ("" when it
	// could not be read).
	SHA256 string
	Err    error // why the file was refused (the previous catalogue stays); nil on success
}

// OnReload makes every later Reload, successful or refused, call f with its outcome
// before Reload returns. nil stops the calls.
func (h *Holder) OnReload(f func(Reload)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onReload = f
}

// NewHolder loads the catalogue at path; it fails (with a *LoadError) when the file has
// problems, so a server never starts with a broken catalogue. A nil log discards messages.
func NewHolder(path string, opts Options, log *slog.Logger) (*Holder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := LoadWith(path, opts)
	if err != nil {
		return nil, err
	}
	h := &Holder{path: path, opts: opts, log: log.With("component", "catalog")}
	h.cur.Store(c)
	return h, nil
}

// Catalog returns the current catalogue.
func (h *Holder) Catalog() *Catalog { return h.cur.Load() }

// Reload loads the file again and, if it has no problems, makes it the current
// catalogue. On error the current catalogue stays, and the error lists the problems.
func (h *Holder) Reload() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	prev := h.cur.Load().Fingerprint()
	c, err := LoadWith(h.path, h.opts)
	if err != nil {
		var le *LoadError
		sum := ""
		if errors.As(err, &le) {
			sum = le.SHA256
			h.log.Error("catalogue reload refused; the previous catalogue stays in use",
				"problems", len(le.Problems), "first", le.Problems[0])
		}
		if h.onReload != nil {
			h.onReload(Reload{Previous: prev, SHA256: sum, Err: err})
		}
		return err
	}
	h.cur.Store(c)
	if h.onReload != nil {
		cur := c.Fingerprint()
		h.onReload(Reload{Previous: prev, Current: cur, Change: Compare(prev, cur), SHA256: cur.SHA256})
	}
	w, d := c.Len()
	h.log.Info("catalogue reloaded", "workflows", w, "datasets", d)
	return nil
}

// ReloadOn reloads the catalogue each time sig delivers (wire it to SIGHUP with
// signal.Notify) until ctx ends or sig is closed. Errors are logged, not returned: a bad
// file must not stop the server.
func (h *Holder) ReloadOn(ctx context.Context, sig <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-sig:
			if !ok {
				return
			}
			_ = h.Reload()
		}
	}
}
