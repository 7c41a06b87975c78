package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// cliTimeout bounds one `enclave run ...` command; `run wait` gets its own --timeout.
const cliTimeout = 3 * time.Minute

// cli runs `enclave run <args> --url <server>` in dir (the repository root when ""),
// with none of the caller's ENCLAVE_* variables, and returns its output and exit code.
func (d *deployment) cli(dir string, args ...string) (stdout, stderr string, code int) {
	d.t.Helper()
	if dir == "" {
		dir = repoRoot
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, enclaveBin, append(append([]string{"run"}, args...), "--url", d.URL())...)
	cmd.Dir = dir
	cmd.Env = testutil.CleanEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		d.t.Fatalf("enclave run %s: %v (stderr %q)", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String(), code
}

// mustCLI runs a CLI command that must succeed and returns its standard output.
func (d *deployment) mustCLI(dir string, args ...string) string {
	d.t.Helper()
	out, errOut, code := d.cli(dir, args...)
	if code != 0 {
		d.t.Fatalf("enclave run %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// workPath is a file in run id's work directory inside the data dir.
func (d *deployment) workPath(id string, rel ...string) string {
	return filepath.Join(append([]string{d.dataDir, "runs", id, "work"}, rel...)...)
}
