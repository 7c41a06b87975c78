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

	mu  sync.Mutex // serialises reloads
	cur atomic.Pointer[Catalog]
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
	c, err := LoadWith(h.path, h.opts)
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			h.log.Error("catalogue reload refused; the previous catalogue stays in use",
				"problems", len(le.Problems), "first", le.Problems[0])
		}
		return err
	}
	h.cur.Store(c)
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
