package browser

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var (
	// repoRoot is the module root, found from this file so the suite runs from anywhere.
	repoRoot string
	// enclaveBin is `enclave`, built once for the suite (without -race: it is what users run).
	enclaveBin string
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	flag.Parse()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		fmt.Fprintln(os.Stderr, "browser: cannot locate the test source to find the repository root")
		return 1
	}
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if testing.Short() {
		return m.Run() // each test skips itself with the reason
	}
	dir, err := os.MkdirTemp("", "enclave-browser-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	enclaveBin = filepath.Join(dir, "enclave")
	build := exec.Command("go", "build", "-o", enclaveBin, "./cmd/enclave")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "browser: go build ./cmd/enclave failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// tools are what a spec needs: node, the pinned npm packages and Chromium.
type tools struct{ node, modules, chromium string }

// needTools finds the tools, or skips the test saying what is missing and how to get it;
// under CI (CI set) a missing tool fails the test instead: CI never skips the browser suite.
// It also skips under -short, and when an engine the test runs is not installed.
func needTools(t *testing.T, engines ...string) tools {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP: the browser suite starts real servers and Chromium; it runs without -short")
	}
	var missing []string
	var tl tools
	var err error
	if tl.node, err = exec.LookPath("node"); err != nil {
		missing = append(missing, "node (scripts/setup.sh installs nodejs and npm)")
	}
	if tl.modules, err = script("path"); err != nil {
		missing = append(missing, "the npm packages: "+err.Error())
	}
	if tl.chromium, err = script("chromium"); err != nil {
		missing = append(missing, "chromium: "+err.Error())
	}
	for _, e := range engines {
		if _, err := exec.LookPath(e); err != nil {
			missing = append(missing, e+" (scripts/setup.sh installs it)")
		}
	}
	if len(missing) > 0 {
		msg := "missing " + strings.Join(missing, "; ")
		if os.Getenv("CI") != "" {
			t.Fatal("the browser suite is required under CI: " + msg)
		}
		t.Skip("SKIP: " + msg)
	}
	return tl
}

// script runs scripts/browser.sh with one argument and returns what it printed.
func script(arg string) (string, error) {
	cmd := exec.Command(filepath.Join(repoRoot, "scripts", "browser.sh"), arg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("%s", msg)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
