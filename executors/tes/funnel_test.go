package tes_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tesapi "github.com/spe4hd/enclave/api/tes"
	"github.com/spe4hd/enclave/executors/executortest"
	"github.com/spe4hd/enclave/executors/tes"
	"github.com/spe4hd/enclave/pkg/wes"
)

// funnel returns the test TES server's URL, its image and the directory it shares with
// the tests (scripts/funnel.sh start, run by scripts/test-services.sh); the test skips
// without one, and fails under CI=true.
func funnel(t *testing.T) (url, image, shared string) {
	t.Helper()
	url, image, shared = os.Getenv("ENCLAVE_TEST_TES_URL"), os.Getenv("ENCLAVE_TEST_TES_IMAGE"), os.Getenv("ENCLAVE_TEST_TES_SHARED_DIR")
	if url == "" || image == "" || shared == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ENCLAVE_TEST_TES_URL/IMAGE/SHARED_DIR unset: CI needs Funnel (scripts/test-services.sh)")
		}
		t.Skip("SKIP: no TES server (run under scripts/test-services.sh after scripts/funnel.sh build)")
	}
	return url, image, shared
}

func newExecutor(t *testing.T, edit func(*tes.Config)) *tes.Executor {
	t.Helper()
	url, image, shared := funnel(t)
	cfg := tes.Config{URL: url, Image: image, AllowedDirs: []string{shared}, Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&cfg)
	}
	ex, err := tes.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// newJob runs script with the image's sh in a fresh work dir under the shared directory;
// the log dir does not exist yet.
func newJob(t *testing.T, id, script string) *wes.Job {
	t.Helper()
	_, _, shared := funnel(t)
	root, err := os.MkdirTemp(shared, "job-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	work := filepath.Join(root, "work")
	if err := os.Mkdir(work, 0o777); err != nil {
		t.Fatal(err)
	}
	return &wes.Job{ID: id, Argv: []string{"sh", "-c", script}, WorkDir: work,
		Stdout: filepath.Join(root, "logs", "stdout.log"), Stderr: filepath.Join(root, "logs", "stderr.log")}
}

// countTasks counts the server's tasks tagged with the run id, through the generated client.
func countTasks(t *testing.T, id string) int {
	t.Helper()
	url, _, _ := funnel(t)
	// The generated client sends every optional query parameter; Funnel refuses an empty state.
	dropEmpty := func(_ context.Context, r *http.Request) error {
		q := r.URL.Query()
		for k, v := range q {
			if len(v) == 1 && v[0] == "" {
				q.Del(k)
			}
		}
		r.URL.RawQuery = q.Encode()
		return nil
	}
	c, err := tesapi.NewClientWithResponses(url, tesapi.WithRequestEditorFn(dropEmpty))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.ListTasksWithResponse(context.Background(), &tesapi.ListTasksParams{
		TagKey: []string{tes.TagRunID}, TagValue: []string{id}, View: tesapi.ListTasksParamsViewMINIMAL, PageSize: 100,
		NamePrefix: id})
	if err != nil {
		t.Fatalf("listing tasks: %v", err)
	}
	if res.JSON200 == nil {
		t.Fatalf("listing tasks: HTTP %d %s", res.StatusCode(), res.Body)
	}
	return len(res.JSON200.Tasks)
}

func TestConformance(t *testing.T) {
	ex := newExecutor(t, nil)
	executortest.Run(t, ex, executortest.Options{
		NewJob:        newJob,
		Fresh:         func(t *testing.T) wes.Executor { return newExecutor(t, nil) },
		StagedWorkDir: true,
		CountJobs:     countTasks,
		Timeout:       60 * time.Second,
	})
}

// run submits job and polls it to its end.
func run(t *testing.T, ex *tes.Executor, job *wes.Job) (wes.Handle, wes.JobStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cancel(context.Background(), h) })
	for {
		st, err := ex.Status(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if st.State.Ended() {
			return h, st
		}
		if ctx.Err() != nil {
			t.Fatalf("job not ended: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func uniqueID(prefix string) string { return prefix + "-" + time.Now().Format("150405.000000") }

// The job sees its work dir at its own path with the files put there before, a dataset
// read-only at its path and its env; what it writes comes back, a file it shortened
// included, and its stdout and stderr are delivered in full. The handle's task URL works.
func TestWorkDirDatasetsAndEnv(t *testing.T) {
	ex := newExecutor(t, nil)
	_, _, shared := funnel(t)
	data, err := os.MkdirTemp(shared, "dataset-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(data) })
	if err := os.WriteFile(filepath.Join(data, "in.txt"), []byte("dataset\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job := newJob(t, uniqueID("files"), strings.Join([]string{
		"echo pwd: $(pwd)",
		"echo params: $(cat params.json)",
		"echo data: $(cat " + data + "/in.txt)",
		"touch " + data + "/x 2>/dev/null && echo data: writable || echo data: read-only",
		"echo env: $FOO",
		"printf 'short\\n' > long.txt",
		"mkdir -p results && echo out > results/here.txt",
		"echo to-stderr >&2",
	}, "\n"))
	job.Env = map[string]string{"FOO": "bar"}
	job.Datasets = []wes.DatasetMount{{ID: "cohort", Path: data}}
	for name, content := range map[string]string{"params.json": "{}", "long.txt": "a much longer original line\n"} {
		if err := os.WriteFile(filepath.Join(job.WorkDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	h, st := run(t, ex, job)
	t.Logf("submit → ended: %s", time.Since(t0).Round(10*time.Millisecond))
	if st.State != wes.JobSucceeded {
		t.Fatalf("status = %+v; stderr %s", st, readFile(t, job.Stderr))
	}
	out := readFile(t, job.Stdout)
	for _, want := range []string{"pwd: " + job.WorkDir + "\n", "params: {}\n", "data: dataset\n", "data: read-only\n", "env: bar\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if got := readFile(t, job.Stderr); got != "to-stderr\n" {
		t.Errorf("stderr = %q", got)
	}
	for name, want := range map[string]string{"long.txt": "short\n", "results/here.txt": "out\n", "params.json": "{}"} {
		if got := readFile(t, filepath.Join(job.WorkDir, name)); got != want {
			t.Errorf("work dir %s = %q, want %q", name, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(job.WorkDir, ".enclave-tes")); err == nil {
		t.Error("the staging directory was left in the work dir")
	}
	u, err := tes.TaskURL(h)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET %s = %s", u, res.Status)
	}
}

// A failing job's logs come from the task's executor log; the work dir is not changed.
func TestFailureLogs(t *testing.T) {
	ex := newExecutor(t, nil)
	job := newJob(t, uniqueID("faillogs"), "echo before-failure; echo oops >&2; echo x > written.txt; exit 5")
	h, st := run(t, ex, job)
	if st.State != wes.JobFailed || st.ExitCode == nil || *st.ExitCode != 5 {
		t.Fatalf("status = %+v, want failed exit 5", st)
	}
	if got := readFile(t, job.Stdout); got != "before-failure\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := readFile(t, job.Stderr); got != "oops\n" {
		t.Errorf("stderr = %q", got)
	}
	if _, err := os.Stat(filepath.Join(job.WorkDir, "written.txt")); err == nil {
		t.Error("a failed task's work dir came back")
	}
	rc, err := ex.Logs(context.Background(), h, "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 64)
	n, _ := rc.Read(buf)
	if string(buf[:n]) != "oops\n" {
		t.Errorf("Logs(stderr) = %q", buf[:n])
	}
}

func TestTimeLimit(t *testing.T) {
	ex := newExecutor(t, nil)
	job := newJob(t, uniqueID("slow"), "while :; do sleep 0.05; done")
	job.Resources.TimeLimit = time.Second
	_, st := run(t, ex, job)
	if st.State != wes.JobFailed || !strings.Contains(st.Message, "time limit") {
		t.Fatalf("status = %+v, want failed with a time-limit message", st)
	}
}

// A task the server does not know (deleted, or a wiped database) is lost; cancelling it
// is a no-op.
func TestUnknownTask(t *testing.T) {
	ex := newExecutor(t, nil)
	job := newJob(t, uniqueID("unknown"), "exit 0")
	h, _ := run(t, ex, job)
	u, _ := tes.TaskURL(h)
	h.Data = []byte(strings.Replace(string(h.Data), `"task_id":"`, `"task_id":"no-such-task-`, 1))
	if u2, _ := tes.TaskURL(h); u2 == u {
		t.Fatal("the handle's task id was not changed")
	}
	if st, err := ex.Status(context.Background(), h); err != nil || st.State != wes.JobLost || st.Message == "" {
		t.Errorf("Status = %+v, %v; want lost with a message", st, err)
	}
	if st, err := ex.StatusBatch(context.Background(), []wes.Handle{h}); err != nil || st[0].State != wes.JobLost {
		t.Errorf("StatusBatch = %+v, %v; want lost", st, err)
	}
	if err := ex.Cancel(context.Background(), h); err != nil {
		t.Errorf("Cancel = %v, want nil", err)
	}
}

// A task canceled on the TES server by someone else than Enclave (its operator, another
// client) is lost, not canceled: the run's owner asked for nothing.
func TestCanceledOutsideEnclave(t *testing.T) {
	ex := newExecutor(t, nil)
	job := newJob(t, uniqueID("outside"), "sleep 60")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cancel(context.Background(), h) })
	u, _ := tes.TaskURL(h)
	res, err := http.Post(u+":cancel", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s:cancel = %s", u, res.Status)
	}
	for {
		st, err := ex.Status(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if st.State.Ended() {
			if st.State != wes.JobLost || !strings.Contains(st.Message, "not by Enclave") {
				t.Fatalf("status = %+v; want lost, canceled not by Enclave", st)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("job not ended: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
