package tes

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	tesapi "github.com/spe4hd/enclave/api/tes"
	"github.com/spe4hd/enclave/pkg/wes"
)

func newUnit(t *testing.T, url string, edit func(*Config)) (*Executor, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := Config{URL: url, Image: "img:1", AllowedDirs: []string{dir}, Timeout: 2 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, dir
}

func unitJob(t *testing.T, dir string) *wes.Job {
	t.Helper()
	work := filepath.Join(dir, "run-1", "work")
	data := filepath.Join(dir, "data")
	for _, d := range []string{work, data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ref.fa"), []byte(">x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &wes.Job{ID: "run-1", Argv: []string{"snakemake", "--cores", "2"}, WorkDir: work,
		Stdout: filepath.Join(dir, "run-1", "stdout"), Stderr: filepath.Join(dir, "run-1", "stderr"),
		Env:       map[string]string{"HOME": "/tmp"},
		Resources: wes.Resources{CPUs: 2, MemoryMB: 1536},
		Params:    map[string]string{"VmSize": "big", "secret": "no"},
		Datasets:  []wes.DatasetMount{{ID: "cohort", Path: data}, {ID: "ref", Path: filepath.Join(dir, "ref.fa")}}}
}

func TestBuildTask(t *testing.T) {
	e, dir := newUnit(t, "http://127.0.0.1:1/ga4gh/tes/v1/", func(c *Config) { c.BackendParameters = []string{"VmSize"} })
	job := unitJob(t, dir)
	if err := e.validate(job); err != nil {
		t.Fatal(err)
	}
	got := e.buildTask(job)
	work, stage := job.WorkDir, job.WorkDir+"/.enclave-tes"
	want := tesapi.TesTask{
		Name: "run-1", Description: "Enclave run run-1",
		Tags: map[string]string{"enclave_run_id": "run-1", "managed_by": "enclave"},
		Executors: []tesapi.TesExecutor{
			{Image: "img:1", Command: []string{"cp", "-R", "-p", "/.enclave-tes/in/.", work}},
			{Image: "img:1", Command: []string{"snakemake", "--cores", "2"}, Workdir: work, Env: map[string]string{"HOME": "/tmp"},
				Stdout: "/.enclave-tes/log/stdout", Stderr: "/.enclave-tes/log/stderr"},
		},
		Inputs: []tesapi.TesInput{
			{Name: "workdir", Type: "DIRECTORY", Url: "file://" + work, Path: "/.enclave-tes/in"},
			{Name: "dataset:cohort", Type: "DIRECTORY", Url: "file://" + dir + "/data", Path: dir + "/data"},
			{Name: "dataset:ref", Type: "FILE", Url: "file://" + dir + "/ref.fa", Path: dir + "/ref.fa"},
		},
		Outputs: []tesapi.TesOutput{
			{Name: "workdir", Type: "DIRECTORY", Path: work, Url: "file://" + stage + "/work"},
			{Name: "stdout", Type: "FILE", Path: "/.enclave-tes/log/stdout", Url: "file://" + stage + "/stdout"},
			{Name: "stderr", Type: "FILE", Path: "/.enclave-tes/log/stderr", Url: "file://" + stage + "/stderr"},
		},
		Resources: tesapi.TesResources{CpuCores: 2, RamGb: 1.5, BackendParameters: map[string]string{"VmSize": "big"}},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("task:\n%s\nwant:\n%s", g, w)
	}
	// The wire form leaves out what the job did not set.
	job.Resources, job.Params, job.Env, job.Datasets = wes.Resources{}, nil, nil, nil
	b, _ := json.Marshal(e.buildTask(job))
	for _, absent := range []string{`"resources"`, `"env"`, `"state"`, `"backend_parameters"`} {
		if bytes.Contains(b, []byte(absent)) {
			t.Errorf("task JSON has %s: %s", absent, b)
		}
	}
}

func TestValidate(t *testing.T) {
	e, dir := newUnit(t, "http://127.0.0.1:1", nil)
	outside := t.TempDir()
	for _, c := range []struct {
		name, want string
		edit       func(j *wes.Job)
	}{
		{"no image", "image", func(j *wes.Job) { e.cfg.Image = "" }},
		{"image with space", "white space", func(j *wes.Job) { j.Image = "a --privileged" }},
		{"env value with space", "white space", func(j *wes.Job) { j.Env = map[string]string{"A": "x --privileged"} }},
		{"env name", "variable name", func(j *wes.Job) { j.Env = map[string]string{"A-B": "x"} }},
		{"work dir outside", "allowed_dirs", func(j *wes.Job) { j.WorkDir = outside }},
		{"work dir with colon", "letters, digits", func(j *wes.Job) { j.WorkDir = dir + "/a:b" }},
		{"dataset outside", `dataset "d"`, func(j *wes.Job) { j.Datasets = []wes.DatasetMount{{ID: "d", Path: outside}} }},
		{"dataset missing", "not available", func(j *wes.Job) { j.Datasets = []wes.DatasetMount{{ID: "d", Path: dir + "/nope"}} }},
		{"relative stdout", "stdout", func(j *wes.Job) { j.Stdout = "out" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func(img string) { e.cfg.Image = img }(e.cfg.Image)
			j := unitJob(t, dir)
			c.edit(j)
			err := e.validate(j)
			if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), c.want) {
				t.Fatalf("validate = %v, want %s mentioning %q", err, wes.EINVALID, c.want)
			}
			if msg := wes.ErrorMessage(err); strings.Contains(msg, dir) || strings.Contains(msg, outside) {
				t.Errorf("message %q carries a path", msg)
			}
		})
	}
}

func TestMapState(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	ts := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }
	two := []tesapi.TesExecutor{{}, {}}
	logs := func(execs ...tesapi.TesExecutorLog) []tesapi.TesTaskLog {
		return []tesapi.TesTaskLog{{StartTime: ts(0), EndTime: ts(9 * time.Second), Logs: execs}}
	}
	stage := tesapi.TesExecutorLog{StartTime: ts(time.Second), EndTime: ts(2 * time.Second)}
	job := func(code int32, end bool) tesapi.TesExecutorLog {
		l := tesapi.TesExecutorLog{StartTime: ts(3 * time.Second), ExitCode: code}
		if end {
			l.EndTime = ts(8 * time.Second)
		}
		return l
	}
	for _, c := range []struct {
		name  string
		task  tesapi.TesTask
		limit time.Duration
		state wes.JobState
		exit  string
		msg   string
	}{
		{"queued", tesapi.TesTask{State: "QUEUED"}, 0, wes.JobQueued, "none", ""},
		{"initializing", tesapi.TesTask{State: "INITIALIZING"}, 0, wes.JobQueued, "none", ""},
		{"unknown", tesapi.TesTask{State: "UNKNOWN"}, 0, wes.JobQueued, "none", ""},
		{"running", tesapi.TesTask{State: "RUNNING", Executors: two, Logs: logs(stage, job(0, false))}, 0, wes.JobRunning, "none", ""},
		{"paused", tesapi.TesTask{State: "PAUSED"}, 0, wes.JobRunning, "none", ""},
		{"canceling", tesapi.TesTask{State: "CANCELING"}, 0, wes.JobRunning, "none", ""},
		{"complete", tesapi.TesTask{State: "COMPLETE", Executors: two, Logs: logs(stage, job(0, true))}, 0, wes.JobSucceeded, "0", ""},
		{"executor error", tesapi.TesTask{State: "EXECUTOR_ERROR", Executors: two, Logs: logs(stage, job(3, true))}, 0, wes.JobFailed, "3", ""},
		{"staging failed", tesapi.TesTask{State: "EXECUTOR_ERROR", Executors: two, Logs: logs(tesapi.TesExecutorLog{ExitCode: 1, EndTime: ts(2 * time.Second)})}, 0, wes.JobFailed, "none", stageMessage},
		{"system error", tesapi.TesTask{State: "SYSTEM_ERROR"}, 0, wes.JobLost, "none", systemMessage},
		{"preempted", tesapi.TesTask{State: "PREEMPTED"}, 0, wes.JobLost, "none", preemptedMessage},
		{"canceled", tesapi.TesTask{State: "CANCELED", Executors: two, Logs: logs(stage, job(0, true))}, 0, wes.JobCanceled, "none", "canceled"},
		{"canceled at its time limit", tesapi.TesTask{State: "CANCELED", Executors: two, Logs: logs(stage, job(0, true))}, 5 * time.Second, wes.JobFailed, "none", timeoutMessage},
		{"canceled within its time limit", tesapi.TesTask{State: "CANCELED", Executors: two, Logs: logs(stage, job(0, true))}, time.Minute, wes.JobCanceled, "none", "canceled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			js := mapState(&c.task, c.limit)
			code := "none"
			if js.ExitCode != nil {
				code = strconv.Itoa(*js.ExitCode)
			}
			if js.State != c.state || code != c.exit || js.Message != c.msg {
				t.Fatalf("mapState = %s exit %s %q, want %s exit %s %q", js.State, code, js.Message, c.state, c.exit, c.msg)
			}
			if c.state == wes.JobSucceeded && (!js.StartTime.Equal(t0.Add(3*time.Second)) || !js.EndTime.Equal(t0.Add(8*time.Second))) {
				t.Errorf("times = %v .. %v, want the job executor's", js.StartTime, js.EndTime)
			}
		})
	}
}

func TestHandle(t *testing.T) {
	e, dir := newUnit(t, "http://127.0.0.1:1/ga4gh/tes/v1/", nil)
	d := handleData{Server: e.server, TaskID: "d4s8abc", JobID: "run-1", WorkDir: dir, Stdout: dir + "/o", Stderr: dir + "/e", TimeLimitNS: 5}
	h, err := encodeHandle(d)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(h)
	var h2 wes.Handle
	if err := json.Unmarshal(b, &h2); err != nil {
		t.Fatal(err)
	}
	got, err := e.decode(h2)
	if err != nil || got != d {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, d)
	}
	if u, err := TaskURL(h2); err != nil || u != "http://127.0.0.1:1/ga4gh/tes/v1/tasks/d4s8abc" {
		t.Errorf("TaskURL = %q, %v", u, err)
	}
	other, _ := newUnit(t, "http://127.0.0.1:2/ga4gh/tes/v1", nil)
	if _, err := other.decode(h2); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("decode on another server's executor = %v, want %s", err, wes.EUNAVAILABLE)
	}
	for _, data := range []string{`"x"`, `{}`, `{"server":"http://h","task_id":"t","job_id":"j","work_dir":"rel","stdout":"/o","stderr":"/e"}`,
		`{"server":"ftp://h","task_id":"t","job_id":"j","work_dir":"/w","stdout":"/o","stderr":"/e"}`} {
		if _, err := TaskURL(wes.Handle{Executor: Name, Version: handleVersion, Data: []byte(data)}); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("TaskURL(%s) = %v, want %s", data, err, wes.EINVALID)
		}
	}
}

// A closed port: nothing listens, every call is EUNAVAILABLE.
func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/ga4gh/tes/v1"
	_ = l.Close()
	e, dir := newUnit(t, url, nil)
	ctx := context.Background()
	if _, err := e.Submit(ctx, unitJob(t, dir)); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Submit = %v, want %s", err, wes.EUNAVAILABLE)
	}
	h, _ := encodeHandle(handleData{Server: e.server, TaskID: "t1", JobID: "run-1", WorkDir: dir, Stdout: dir + "/o", Stderr: dir + "/e"})
	if _, err := e.Status(ctx, h); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Status = %v, want %s", err, wes.EUNAVAILABLE)
	}
	if _, err := e.StatusBatch(ctx, []wes.Handle{h}); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("StatusBatch = %v, want %s", err, wes.EUNAVAILABLE)
	}
	if err := e.Cancel(ctx, h); !wes.IsCode(err, wes.EUNAVAILABLE) {
		t.Errorf("Cancel = %v, want %s", err, wes.EUNAVAILABLE)
	}
}

// How HTTP answers map, against a stand-in server answering one status for everything.
func TestHTTPAnswers(t *testing.T) {
	for _, c := range []struct {
		code   int
		status wes.JobState
		errIs  string
	}{
		{http.StatusNotFound, wes.JobLost, ""},
		{http.StatusServiceUnavailable, "", wes.EUNAVAILABLE},
		{http.StatusInternalServerError, "", wes.EUNAVAILABLE},
		{http.StatusUnauthorized, "", wes.EINTERNAL},
	} {
		t.Run(http.StatusText(c.code), func(t *testing.T) {
			var auth, query string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth, query = r.Header.Get("Authorization"), r.URL.RawQuery
				w.WriteHeader(c.code)
				_, _ = w.Write([]byte(`{"error":"/zone/secret/path"}`))
			}))
			defer srv.Close()
			e, dir := newUnit(t, srv.URL, func(c *Config) { c.Token = "s3cret" })
			h, _ := encodeHandle(handleData{Server: e.server, TaskID: "t1", JobID: "run-1", WorkDir: dir, Stdout: dir + "/o", Stderr: dir + "/e"})
			st, err := e.Status(context.Background(), h)
			if c.errIs == "" && (err != nil || st.State != c.status || st.Message != lostMessage) {
				t.Fatalf("Status = %+v, %v; want %s", st, err, c.status)
			}
			if c.errIs != "" && !wes.IsCode(err, c.errIs) {
				t.Fatalf("Status = %+v, %v; want %s", st, err, c.errIs)
			}
			if strings.Contains(wes.ErrorMessage(err), "/zone") {
				t.Errorf("message %q carries the server's text", wes.ErrorMessage(err))
			}
			if auth != "Bearer s3cret" || query != "view=BASIC" {
				t.Errorf("request: Authorization %q, query %q", auth, query)
			}
			_, err = e.Submit(context.Background(), unitJob(t, dir))
			if c.code != http.StatusNotFound && !wes.IsCode(err, c.errIs) {
				t.Errorf("Submit = %v, want %s", err, c.errIs)
			}
		})
	}
}

func TestMergeTree(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	outside := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dst, "data.txt"), "a long original content\n")
	write(filepath.Join(src, "data.txt"), "short\n")
	write(filepath.Join(src, "sub", "new.txt"), "new\n")
	write(filepath.Join(src, "link", "x"), "not through the link\n")
	write(filepath.Join(dst, "kept.txt"), "kept\n")
	if err := os.Symlink(outside, filepath.Join(dst, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "evil")); err != nil {
		t.Fatal(err)
	}
	if err := mergeTree(src, dst); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"data.txt": "short\n", "sub/new.txt": "new\n", "kept.txt": "kept\n", "link/x": "not through the link\n"} {
		if b, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(dst, "evil")); err == nil {
		t.Error("a symlink was moved into the work dir")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("merge wrote through a symlink: %v", ents)
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no url", Config{AllowedDirs: []string{"/d"}}, "URL is required"},
		{"ftp url", Config{URL: "ftp://h/x", AllowedDirs: []string{"/d"}}, "http(s)"},
		{"credentials in url", Config{URL: "http://u:p@h/x", AllowedDirs: []string{"/d"}}, "credentials"},
		{"token and password", Config{URL: "http://h", Token: "t", Username: "u", Password: "p", AllowedDirs: []string{"/d"}}, "not both"},
		{"user without password", Config{URL: "http://h", Username: "u", AllowedDirs: []string{"/d"}}, "go together"},
		{"no allowed dirs", Config{URL: "http://h"}, "AllowedDirs is required"},
		{"relative allowed dir", Config{URL: "http://h", AllowedDirs: []string{"d"}}, "AllowedDirs[0]"},
		{"negative timeout", Config{URL: "http://h", AllowedDirs: []string{"/d"}, Timeout: -1}, "Timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "config", Config{URL: "http://h", Token: "tok3n", Password: "passw0rd"})
	if s := buf.String(); strings.Contains(s, "tok3n") || strings.Contains(s, "passw0rd") || !strings.Contains(s, "redacted") {
		t.Errorf("logged config: %s", s)
	}
}
