// Package defaults fills in what the executors' Configs leave at zero, the same way in
// every executor.
package defaults

import (
	"fmt"
	"log/slog"
	"time"
)

// Duration sets *d to def when it is 0; a negative *d is an error naming field (e.g.
// "docker executor: Grace").
func Duration(d *time.Duration, def time.Duration, field string) error {
	switch {
	case *d < 0:
		return fmt.Errorf("%s %s must not be negative", field, *d)
	case *d == 0:
		*d = def
	}
	return nil
}

// Logger sets *l to a logger that discards when it is nil.
func Logger(l **slog.Logger) {
	if *l == nil {
		*l = slog.New(slog.DiscardHandler)
	}
}
