package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// testVersion is linked into the binary under test, so service-info can be checked
// against it.
const testVersion = "v0.0.0-e2e"

var (
	// repoRoot is the module root, found from this file's location so the suite runs
	// from any working directory.
	repoRoot string
	// enclaveBin is the enclave binary built once for the whole suite.
	enclaveBin string
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	flag.Parse()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		fmt.Fprintln(os.Stderr, "e2e: cannot locate the test source to find the repository root")
		return 1
	}
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if testing.Short() {
		// Each test skips itself with the reason; building would only cost time.
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "enclave-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	enclaveBin = filepath.Join(dir, "enclave")
	// The product binary is built without -race even when the suite itself runs with
	// it: it is what users run, and the shim it starts for every job must stay small.
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", enclaveBin, "./cmd/enclave")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/enclave failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// begin starts every end-to-end test: each runs its own processes, so all run in
// parallel, and none runs under -short.
func begin(t *testing.T, engines ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP: the end-to-end suite starts real servers and workflows; it runs without -short")
	}
	for _, e := range engines {
		if _, err := exec.LookPath(e); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required under CI: %v", e, err)
			}
			t.Skipf("SKIP: %s is not installed (`make setup` installs it): %v", e, err)
		}
	}
	t.Parallel()
}
