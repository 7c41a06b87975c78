package defaults

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	d := time.Duration(0)
	if err := Duration(&d, time.Minute, "x: Grace"); err != nil || d != time.Minute {
		t.Errorf("zero: %s, %v; want 1m, nil", d, err)
	}
	d = time.Second
	if err := Duration(&d, time.Minute, "x: Grace"); err != nil || d != time.Second {
		t.Errorf("set: %s, %v; want it kept", d, err)
	}
	d = -time.Second
	if err := Duration(&d, time.Minute, "x: Grace"); err == nil || !strings.Contains(err.Error(), "x: Grace -1s must not be negative") {
		t.Errorf("negative: %v", err)
	}
}

func TestLogger(t *testing.T) {
	var l *slog.Logger
	Logger(&l)
	if l == nil || l.Enabled(context.Background(), slog.LevelError) {
		t.Errorf("nil: %v, want a logger that discards", l)
	}
	given := slog.Default()
	if Logger(&given); given != slog.Default() {
		t.Error("a given logger was replaced")
	}
}
