package browser

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// specTimeout bounds one spec: a few workflow runs on a loaded two-core machine.
const specTimeout = 8 * time.Minute

// runSpec runs `node test/browser/<spec>.mjs` against baseURL with env ("KEY=value") added,
// and fails the test with the spec's output when it exits non-zero. The output is logged
// either way (go test -v shows every step).
func runSpec(t *testing.T, tl tools, spec, baseURL string, env ...string) {
	t.Helper()
	shots := screenshotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), specTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tl.node, filepath.Join(repoRoot, "test", "browser", spec+".mjs"))
	cmd.Dir = filepath.Join(repoRoot, "test", "browser")
	cmd.Env = append(testutil.CleanEnv(),
		"BASE_URL="+baseURL,
		"CHROMIUM="+tl.chromium,
		"BROWSER_NODE_MODULES="+tl.modules,
		"SCREENSHOT_DIR="+shots,
		"NO_COLOR=1", "FORCE_COLOR=0",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.WaitDelay = 10 * time.Second // Chromium's children hold the pipes after a kill
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("node %s.mjs (%s, screenshots in %s):\n%s", spec, time.Since(start).Round(time.Millisecond), shots, out.String())
	if ctx.Err() != nil {
		t.Fatalf("spec %s did not finish within %s", spec, specTimeout)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("spec %s failed (exit %d); its output is above", spec, exit.ExitCode())
	} else if err != nil {
		t.Fatalf("spec %s: %v", spec, err)
	}
}

// screenshotDir is where the test's screenshots go, emptied first:
// $ENCLAVE_TEST_ARTIFACTS/browser/<test> when set (CI keeps it), else
// test/browser/screenshots/<test>, which git ignores.
func screenshotDir(t *testing.T) string {
	base := filepath.Join(repoRoot, "test", "browser", "screenshots")
	if a := os.Getenv("ENCLAVE_TEST_ARTIFACTS"); a != "" {
		base = filepath.Join(a, "browser")
	}
	dir := filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
