package compat

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/local"
)

// specName is the official document's file name in <repo>/../shared/spec.
const specName = "wes-1.1.0.openapi.yaml"

func TestMain(m *testing.M) {
	// The app starts jobs through local.SelfShim: this test binary is its own job shim.
	local.MaybeShim()
	os.Exit(m.Run())
}

// onCI reports whether the suite runs under CI, where nothing it needs may be missing.
func onCI() bool { return os.Getenv("CI") != "" }

// repoRoot is the module root, found from this file's location so the suite runs from
// any working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source to find the repository root")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// officialSpecPath returns the official WES document, which lives beside the repository
// (<repo>/../shared/spec). Without it the test is skipped, or fails under CI.
func officialSpecPath(t testing.TB) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "..", "shared", "spec", specName)
	if _, err := os.Stat(p); err != nil {
		if onCI() {
			t.Fatalf("the official WES 1.1.0 OpenAPI document is required under CI: %v", err)
		}
		t.Skipf("SKIP: the official WES 1.1.0 OpenAPI document is not at %s (it belongs in <repo>/../shared/spec): %v", p, err)
	}
	return p
}

// requireEngines skips the test (fails it under CI) when a workflow engine is missing.
func requireEngines(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if onCI() {
				t.Fatalf("%s is required under CI: %v", n, err)
			}
			t.Skipf("SKIP: %s is not installed (`make setup` installs it): %v", n, err)
		}
	}
}

// eventually polls cond until it reports true, and fails the test with cond's last
// description if that does not happen within timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last seen: %s", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
