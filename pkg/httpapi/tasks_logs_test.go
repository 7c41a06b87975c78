package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// writeTasks puts the test engine's task list into a run's work directory.
func writeTasks(t *testing.T, workDir string, tasks []wes.Task) {
	t.Helper()
	b, err := json.Marshal(tasks)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(workDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(workDir, "tasks.json"), b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestTasks(t *testing.T) {
	h := newHarness(t)
	r := h.createRun("alice", nil)

	// No work directory yet: no tasks, not an error.
	res, err := h.client.ListTasksWithResponse(context.Background(), r.ID, nil)
	if err != nil || res.JSON200 == nil || len(res.JSON200.TaskLogs) != 0 || res.JSON200.NextPageToken != "" {
		t.Fatalf("tasks before the run started: %v %s", err, res.Body)
	}
	if !strings.Contains(string(res.Body), `"task_logs":[]`) || !strings.Contains(string(res.Body), `"next_page_token":""`) {
		t.Errorf("empty task list must show [] and an empty token: %s", res.Body)
	}

	one := 1
	start := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	var tasks []wes.Task
	for _, id := range []string{"t1", "t2", "t3", "t4", "t5"} {
		tasks = append(tasks, wes.Task{ID: id, Name: "step " + id, Cmd: []string{"echo", id}, StartTime: start, TESURI: "https://tes.example.org/v1/tasks/" + id})
	}
	tasks[4].ExitCode, tasks[4].EndTime, tasks[4].Name = &one, start.Add(time.Minute), ""
	writeTasks(t, r.WorkDir, tasks)

	var ids []string
	size := int64(2)
	params := &api.ListTasksParams{PageSize: &size}
	for {
		res, err := h.client.ListTasksWithResponse(context.Background(), r.ID, params)
		if err != nil || res.JSON200 == nil || len(res.JSON200.TaskLogs) > 2 {
			t.Fatalf("tasks page: %v %s", err, res.Body)
		}
		for _, tl := range res.JSON200.TaskLogs {
			ids = append(ids, tl.Id)
		}
		if res.JSON200.NextPageToken == "" {
			break
		}
		params.PageToken = res.JSON200.NextPageToken
	}
	if strings.Join(ids, ",") != "t1,t2,t3,t4,t5" {
		t.Errorf("paged task ids = %v", ids)
	}

	got, err := h.client.GetTaskWithResponse(context.Background(), r.ID, "t5")
	if err != nil || got.JSON200 == nil {
		t.Fatalf("get task: %v %s", err, got.Body)
	}
	tl := got.JSON200
	if tl.Id != "t5" || tl.Name != "t5" || tl.TesUri != "https://tes.example.org/v1/tasks/t5" || tl.ExitCode == nil || *tl.ExitCode != 1 ||
		tl.StartTime != "2026-05-06T07:08:09Z" || tl.EndTime != "2026-05-06T07:09:09Z" || strings.Join(tl.Cmd, " ") != "echo t5" {
		t.Errorf("task = %+v", tl)
	}

	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/tasks/nope", 404, `task "nope" was not found`},
		{"/tasks?page_token=bad!", 400, "page_token is not valid"},
		{"/tasks?page_token=" + base64.RawURLEncoding.EncodeToString([]byte("x5")), 400, "page_token is not valid"},
		{"/tasks?page_size=0", 400, "page_size must be between 1 and 20"},
		{"/tasks?page_size=x", 400, "query parameter page_size must be an integer"},
	} {
		st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+tc.path, "alice", "", nil)
		if e := errorBody(t, st, b); st != tc.status || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.path, st, e.Msg, tc.status, tc.msg)
		}
	}
	// A token past the end is an empty last page.
	st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID+"/tasks?page_token="+encodeTaskToken(99), "alice", "", nil)
	if st != http.StatusOK || !strings.Contains(string(b), `"task_logs":[]`) {
		t.Errorf("token past the end: %d %s", st, b)
	}
}

func TestRunLogStream(t *testing.T) {
	h := newHarness(t)
	r := h.createRun("alice", nil)
	layout := wes.LayoutFor(h.dataDir, r.ID)
	path := BasePath + "/runs/" + r.ID + "/logs/"

	// Nothing written yet: empty, next offset 0.
	st, b, hdr := h.do(http.MethodGet, path+"stdout", "alice", "", nil)
	if st != http.StatusOK || len(b) != 0 || hdr.Get("X-Enclave-Next-Offset") != "0" || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("empty log: %d %q %v", st, b, hdr)
	}

	if err := os.MkdirAll(layout.LogDir(), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(layout.StdoutPath(), []byte("line 1\nline 2\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(layout.StderrPath(), []byte("oops\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query, want, next string
	}{
		{"stdout", "line 1\nline 2\n", "14"},
		{"stdout?offset=7", "line 2\n", "14"},
		{"stdout?offset=14", "", "14"},
		{"stdout?offset=100", "", "100"},
		{"stderr", "oops\n", "5"},
	} {
		st, b, hdr := h.do(http.MethodGet, path+tc.query, "alice", "", nil)
		if st != http.StatusOK || string(b) != tc.want || hdr.Get("X-Enclave-Next-Offset") != tc.next {
			t.Errorf("%s: %d %q next %q, want %q next %s", tc.query, st, b, hdr.Get("X-Enclave-Next-Offset"), tc.want, tc.next)
		}
	}
	// The log grows while the run goes on; a follower gets only the new text.
	f, err := os.OpenFile(layout.StdoutPath(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("line 3\n")
	f.Close()
	if st, b, hdr := h.do(http.MethodGet, path+"stdout?offset=14", "alice", "", nil); st != 200 || string(b) != "line 3\n" || hdr.Get("X-Enclave-Next-Offset") != "21" {
		t.Errorf("follow: %d %q %q", st, b, hdr.Get("X-Enclave-Next-Offset"))
	}

	for _, tc := range []struct{ query, msg string }{
		{"stdin", "path parameter stream"},
		{"stdout?offset=-1", "query parameter offset"},
		{"stdout?offset=x", `query parameter offset must be an integer; got "x"`},
	} {
		st, b, _ := h.do(http.MethodGet, path+tc.query, "alice", "", nil)
		if e := errorBody(t, st, b); st != http.StatusBadRequest || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%s: %d %q, want 400 containing %q", tc.query, st, e.Msg, tc.msg)
		}
	}
	if st, b, _ := h.do(http.MethodGet, path+"stdout", "bob", "", nil); st != http.StatusNotFound || strings.Contains(string(b), "line") {
		t.Errorf("bob reads alice's log: %d %s", st, b)
	}

	// A symlink in place of the log is never followed.
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("top secret"), 0o600)
	os.Remove(layout.StderrPath())
	if err := os.Symlink(secret, layout.StderrPath()); err != nil {
		t.Fatal(err)
	}
	st, b, _ = h.do(http.MethodGet, path+"stderr", "alice", "", nil)
	if e := errorBody(t, st, b); strings.Contains(string(b), "secret") || strings.Contains(e.Msg, h.dataDir) {
		t.Errorf("symlinked log: %d %s", st, b)
	}
}

// A run on a TES backend: its engine's tasks name the TES task the run ran as (Deps.TaskURI
// from the stored Handle); a task that names its own TES task keeps it.
func TestTasksTESURIFromHandle(t *testing.T) {
	h := newHarness(t, func(_ *testConfig, d *testDeps) {
		d.TaskURI = func(hd wes.Handle) string {
			if hd.Executor != "tes" {
				return ""
			}
			return "https://tes.zone.internal/v1/tasks/" + string(hd.Data)
		}
	})
	onTES := h.createRun("alice", func(r *wes.Run) {
		r.Handle = &wes.Handle{Executor: "tes", Version: 1, Data: json.RawMessage(`"d3ad"`)}
	})
	local := h.createRun("alice", func(r *wes.Run) {
		r.Handle = &wes.Handle{Executor: "local", Version: 1, Data: json.RawMessage(`{}`)}
	})
	for _, r := range []*wes.Run{onTES, local} {
		writeTasks(t, r.WorkDir, []wes.Task{{ID: "a"}, {ID: "b", TESURI: "https://tes.zone.internal/v1/tasks/own"}})
	}
	uris := func(r *wes.Run) []string {
		t.Helper()
		res, err := h.client.ListTasksWithResponse(context.Background(), r.ID, nil)
		if err != nil || res.JSON200 == nil {
			t.Fatalf("tasks: %v %s", err, res.Body)
		}
		var out []string
		for _, tl := range res.JSON200.TaskLogs {
			out = append(out, tl.TesUri)
		}
		return out
	}
	if got := uris(onTES); strings.Join(got, " ") != `https://tes.zone.internal/v1/tasks/"d3ad" https://tes.zone.internal/v1/tasks/own` {
		t.Errorf("tes_uri on the TES run = %q", got)
	}
	if got := uris(local); strings.Join(got, " ") != " https://tes.zone.internal/v1/tasks/own" {
		t.Errorf("tes_uri on the local run = %q", got)
	}
}
