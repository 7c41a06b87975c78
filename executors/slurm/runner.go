package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// runner runs one SLURM command on the cluster. A command that ran and exited non-zero
// is an *exitError (with its output); any other error means the cluster could not be
// reached.
type runner interface {
	run(ctx context.Context, stdin []byte, argv ...string) (stdout []byte, err error)
	close() error
}

// exitError is a command that ran and failed.
type exitError struct {
	code   int
	stderr string
}

func (e *exitError) Error() string {
	return fmt.Sprintf("exit status %d: %s", e.code, firstLine(e.stderr))
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// localRunner runs the commands on this machine with a minimal environment.
type localRunner struct{ env []string }

func newLocalRunner(path string) *localRunner {
	env := []string{"PATH=" + path, "LANG=C.UTF-8"}
	for _, k := range []string{"HOME", "USER", "LOGNAME", "SLURM_CONF"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return &localRunner{env: env}
}

func (r *localRunner) run(ctx context.Context, stdin []byte, argv ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = r.env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return stdout.Bytes(), &exitError{code: ee.ExitCode(), stderr: stderr.String()}
	}
	if err != nil {
		return nil, fmt.Errorf("running %s: %w", argv[0], err)
	}
	return stdout.Bytes(), nil
}

func (r *localRunner) close() error { return nil }
