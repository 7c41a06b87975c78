package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/httpapi"
	"github.com/spe4hd/enclave/pkg/runs"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// queueRecorder stands in for the worker queue: this test is about the CLI and the API,
// and no worker runs, so runs stay where the API puts them until the test moves them.
type queueRecorder struct {
	mu      sync.Mutex
	started []string
}

func (q *queueRecorder) Start(_ context.Context, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.started = append(q.started, id)
	return nil
}
func (q *queueRecorder) Cancel(context.Context, string) error   { return nil }
func (q *queueRecorder) Finalize(context.Context, string) error { return nil }

// The CLI against Enclave's real HTTP API, on a real Redis store with the real Snakemake
// engine definition.
func TestRunAgainstRealAPI(t *testing.T) {
	rc := goredis.NewClient(&goredis.Options{Addr: testutil.RedisAddr(t)})
	t.Cleanup(func() { _ = rc.Close() })
	store := redisstore.New(rc, redisstore.Options{Prefix: testutil.UniqueName("cli-test:") + ":"})
	smk := snakemake.New(snakemake.Config{Versions: []string{"7.21"}, DefaultCores: 1}, slog.New(slog.DiscardHandler))
	svc, err := runs.New(runs.Config{DataDir: t.TempDir()},
		runs.Deps{Store: store, Dispatcher: &queueRecorder{}, Engines: engines.NewRegistry(smk)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Config{}, httpapi.Deps{Runs: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	env := []string{"ENCLAVE_URL=" + srv.URL}

	dir := project(t, map[string]string{"Snakefile": "rule all:\n    shell: 'echo hi'\n", "scripts/a.py": "print(1)\n"})
	out, errOut, code := cli(t, env, "run", "submit", filepath.Join(dir, "Snakefile"), "--attach", filepath.Join(dir, "scripts"),
		"--type", "SMK", "--type-version", "1.0", "--engine-param", "cores=2", "--tag", "who=cli", "--param", "n:=3")
	if code != 0 {
		t.Fatalf("submit: exit %d, stderr %q", code, errOut)
	}
	id := strings.TrimSpace(out)

	out, errOut, code = cli(t, env, "run", "get", id, "-o", "json")
	var rl struct {
		State   string `json:"state"`
		Request struct {
			WorkflowURL string            `json:"workflow_url"`
			Tags        map[string]string `json:"tags"`
			Params      map[string]any    `json:"workflow_params"`
		} `json:"request"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rl) != nil {
		t.Fatalf("get: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if rl.State != "QUEUED" || rl.Request.WorkflowURL != "Snakefile" || rl.Request.Tags["who"] != "cli" || rl.Request.Params["n"] != 3.0 {
		t.Errorf("get: %+v", rl)
	}
	if out, _, code := cli(t, env, "run", "list"); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "QUEUED") {
		t.Errorf("list: exit %d, %q", code, out)
	}
	if out, _, code := cli(t, env, "run", "status", id, "-o", "json"); code != 0 || !strings.Contains(out, `"QUEUED"`) {
		t.Errorf("status: exit %d, %q", code, out)
	}
	if _, errOut, code := cli(t, env, "run", "tasks", id); code != 0 {
		t.Errorf("tasks: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, env, "run", "logs", id); code != 0 {
		t.Errorf("logs: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, env, "run", "wait", id, "--timeout", "200ms", "--interval", "20ms"); code != 2 || !strings.Contains(errOut, "still QUEUED") {
		t.Errorf("wait on a run no worker takes: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, env, "run", "submit", filepath.Join(dir, "Snakefile"), "--type", "SMK", "--type-version", "9.9"); code != 1 || !strings.Contains(errOut, "400 Bad Request") {
		t.Errorf("submit with a bad type version: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, env, "run", "status", "no-such-run"); code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("status of an unknown run: exit %d, %q", code, errOut)
	}

	if out, errOut, code := cli(t, env, "run", "cancel", id); code != 0 || strings.TrimSpace(out) != id {
		t.Fatalf("cancel: exit %d, out %q, stderr %q", code, out, errOut)
	}
	// The worker would finish the cancel; do its part so wait sees the end.
	if _, err := store.Update(context.Background(), id, func(r *wes.Run) error { r.State = wes.StateCanceled; return nil }); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := cli(t, env, "run", "wait", id, "--interval", "20ms"); code != 1 || !strings.Contains(out, "CANCELED") {
		t.Errorf("wait on a canceled run: exit %d, out %q, stderr %q", code, out, errOut)
	}
}
