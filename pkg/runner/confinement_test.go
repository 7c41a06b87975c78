package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/wes"
)

// A run on a confining executor says in its system log, when it becomes RUNNING, how
// its job is confined, without any path.
func TestStartLogsHowTheJobIsConfined(t *testing.T) {
	e := newEnv(t)
	lcfg, err := local.SelfShim(local.Config{StateDir: t.TempDir(), Grace: time.Second, Confinement: local.ConfineRequired})
	if err != nil {
		t.Fatal(err)
	}
	lx, err := local.New(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(runner.Config{DataDir: e.dataDir}, e.store, e.disp, executors.NewRegistry(lx), engines.NewRegistry(e.engine))
	if err != nil {
		t.Fatal(err)
	}
	id := e.newRun(t, []string{"sh", "-c", "true"}, func(r *wes.Run) { r.Executor = local.Name })
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	run := e.get(t, id)
	if run.State != wes.StateRunning {
		t.Fatalf("state = %s, want RUNNING", run.State)
	}
	var line string
	for _, l := range run.Log.SystemLogs {
		if strings.HasPrefix(l, "job confined: landlock (ABI ") {
			line = l
		}
	}
	if line == "" || !strings.HasSuffix(line, "process tree killed at end") || strings.Contains(line, e.dataDir) {
		t.Errorf("system logs = %q, want one line saying how the job is confined", run.Log.SystemLogs)
	}
	if err := lx.Cancel(context.Background(), *run.Handle); err != nil {
		t.Fatal(err)
	}
}
