package enginekit

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"time"
)

// DiscoverTimeout bounds one `<engine> --version` call whose context has no deadline
// of its own: a missing or broken engine must not hold up the server's start. A
// caller's deadline wins (the engine registry gives a retried check longer).
const DiscoverTimeout = 30 * time.Second

var versionRE = regexp.MustCompile(`\d+(?:\.\d+)+`)

// DiscoverVersion runs binary with args (for example "--version") and returns the first
// dotted version number in its output.
func DiscoverVersion(ctx context.Context, binary string, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DiscoverTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = time.Second // do not wait on pipes held open by grandchildren
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("run %s %v: %w (output %q)", binary, args, err, truncate(out.String(), 200))
	}
	v := versionRE.FindString(out.String())
	if v == "" {
		return "", fmt.Errorf("no version number in the output of %s %v: %q", binary, args, truncate(out.String(), 200))
	}
	return v, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
