package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// listAll pages through GET /runs as user with the given page size, calling between(i)
// after page i, and returns the run ids in order.
func (h *harness) listAll(user string, size int64, between func(page int)) []string {
	h.t.Helper()
	var ids []string
	params := &api.ListRunsParams{PageSize: &size}
	for page := 0; ; page++ {
		res, err := h.client.ListRunsWithResponse(context.Background(), params, asUser(user))
		if err != nil || res.JSON200 == nil {
			h.t.Fatalf("list page %d: %v %d %s", page, err, res.StatusCode(), res.Body)
		}
		if len(res.JSON200.Runs) > int(size) {
			h.t.Fatalf("page %d has %d runs, more than page_size %d", page, len(res.JSON200.Runs), size)
		}
		for _, r := range res.JSON200.Runs {
			ids = append(ids, r.RunId)
		}
		if between != nil {
			between(page)
		}
		if res.JSON200.NextPageToken == "" {
			return ids
		}
		params.PageToken = res.JSON200.NextPageToken
	}
}

func TestListRunsPagingStableWhileRunsAreAdded(t *testing.T) {
	h := newHarness(t)
	var want []string
	for range 7 {
		want = append([]string{h.createRun("alice", nil).ID}, want...) // newest first
	}
	got := h.listAll("alice", 2, func(int) { h.createRun("alice", nil) })
	if !slices.Equal(got, want) {
		t.Errorf("paging while adding runs:\n got %v\nwant %v", got, want)
	}
}

func TestListRuns(t *testing.T) {
	h := newHarness(t)
	a1 := h.createRun("alice", nil)
	b1 := h.createRun("bob", nil)
	a2 := h.createRun("alice", func(r *wes.Run) { r.Request.Tags = nil })
	a3 := h.createRun("alice", nil)
	a4 := h.createRun("alice", nil)
	h.setState(a2.ID, wes.StateRunning, wes.StateComplete)

	// Default page size (3), newest first, only alice's runs.
	res, err := h.client.ListRunsWithResponse(context.Background(), nil)
	if err != nil || res.JSON200 == nil {
		t.Fatalf("list: %v %s", err, res.Body)
	}
	var ids []string
	for _, r := range res.JSON200.Runs {
		ids = append(ids, r.RunId)
	}
	if !slices.Equal(ids, []string{a4.ID, a3.ID, a2.ID}) || res.JSON200.NextPageToken == "" {
		t.Errorf("first page = %v token %q", ids, res.JSON200.NextPageToken)
	}
	done := res.JSON200.Runs[2]
	if done.State != api.StateCOMPLETE || done.StartTime != "2026-01-02T02:04:05Z" || done.EndTime != "2026-01-02T04:00:00Z" || done.Tags == nil {
		t.Errorf("summary of finished run = %+v", done)
	}
	if !strings.Contains(string(res.Body), `"tags":{}`) {
		t.Errorf("a run without tags must show tags {}: %s", res.Body)
	}
	if all := h.listAll("alice", 20, nil); slices.Contains(all, b1.ID) || len(all) != 4 || all[3] != a1.ID {
		t.Errorf("alice sees %v", all)
	}
	if all := h.listAll("admin", 20, nil); len(all) != 5 || !slices.Contains(all, b1.ID) {
		t.Errorf("admin sees %v", all)
	}

	for _, tc := range []struct{ query, msg string }{
		{"page_size=0", "page_size must be between 1 and 20; got 0"},
		{"page_size=21", "page_size must be between 1 and 20; got 21"},
		{"page_size=-5", "page_size must be between 1 and 20"},
		{"page_size=abc", `query parameter page_size must be an integer; got "abc"`},
		{"page_size=1.5", "query parameter page_size must be an integer"},
		{"page_size=99999999999999999999", "query parameter page_size must be an integer"},
		{"page_token=garbage", "page"},
	} {
		st, b, _ := h.do(http.MethodGet, BasePath+"/runs?"+tc.query, "alice", "", nil)
		if e := errorBody(t, st, b); st != http.StatusBadRequest || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%s: %d %q, want 400 containing %q", tc.query, st, e.Msg, tc.msg)
		}
	}
}

func TestGetRunLog(t *testing.T) {
	h := newHarness(t, func(c *testConfig, _ *testDeps) { c.PublicURL = "https://wes.example.org/" })
	id := h.submit("alice", validRun(field("workflow_params", `{"in": {"n": 1}}`), field("tags", `{"t": "1"}`))...)

	res, err := h.client.GetRunLogWithResponse(context.Background(), id)
	if err != nil || res.JSON200 == nil {
		t.Fatalf("get: %v %s", err, res.Body)
	}
	rl := res.JSON200
	base := "https://wes.example.org/ga4gh/wes/v1/runs/" + id
	if rl.RunId != id || rl.State != api.StateQUEUED || rl.TaskLogsUrl != base+"/tasks" ||
		rl.RunLog.Stdout != base+"/logs/stdout" || rl.RunLog.Stderr != base+"/logs/stderr" || rl.RunLog.Name != "tester" {
		t.Errorf("run log = %+v", rl)
	}
	if rl.Request.WorkflowUrl != "main.tst" || rl.Request.WorkflowType != "TST" || rl.Request.Tags["t"] != "1" {
		t.Errorf("request echo = %+v", rl.Request)
	}
	if in, _ := rl.Request.WorkflowParams["in"].(map[string]any); in["n"] != float64(1) {
		t.Errorf("workflow_params echo = %v", rl.Request.WorkflowParams)
	}
	for _, leak := range []string{"attachments", h.dataDir, "work_dir"} {
		if strings.Contains(string(res.Body), leak) {
			t.Errorf("run log shows %q: %s", leak, res.Body)
		}
	}
	if !strings.Contains(string(res.Body), `"outputs":{}`) {
		t.Errorf("outputs must be {} before any are released: %s", res.Body)
	}

	// A finished run: times in UTC, exit code 0 shown, outputs, system logs.
	zero := 0
	_, err = h.store.Update(context.Background(), id, func(r *wes.Run) error {
		r.State = wes.StateRunning
		r.StartTime = mustTime(t, "2026-03-04T05:06:07.89+02:00")
		r.Log.Cmd = []string{"tester", "run", "main.tst"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.store.Update(context.Background(), id, func(r *wes.Run) error {
		r.State = wes.StateComplete
		r.EndTime = mustTime(t, "2026-03-04T06:00:00Z")
		r.Log.ExitCode = &zero
		r.Log.SystemLogs = []string{"outputs released"}
		r.Outputs = map[string]any{"result": map[string]any{"location": "s3://bucket/x"}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, _ = h.client.GetRunLogWithResponse(context.Background(), id)
	rl = res.JSON200
	if rl.State != api.StateCOMPLETE || rl.RunLog.StartTime != "2026-03-04T03:06:07Z" || rl.RunLog.EndTime != "2026-03-04T06:00:00Z" ||
		rl.RunLog.ExitCode == nil || *rl.RunLog.ExitCode != 0 || !slices.Equal(rl.RunLog.Cmd, []string{"tester", "run", "main.tst"}) ||
		!slices.Equal(rl.RunLog.SystemLogs, []string{"outputs released"}) || rl.Outputs["result"] == nil {
		t.Errorf("finished run log = %s", res.Body)
	}
	if !strings.Contains(string(res.Body), `"exit_code":0`) {
		t.Errorf("exit code 0 must be shown: %s", res.Body)
	}
}

func TestRunStatusAndNotFound(t *testing.T) {
	h := newHarness(t)
	mine := h.createRun("alice", nil)
	theirs := h.createRun("bob", nil)

	res, err := h.client.GetRunStatusWithResponse(context.Background(), mine.ID)
	if err != nil || res.JSON200 == nil || res.JSON200.RunId != mine.ID || res.JSON200.State != api.StateQUEUED {
		t.Fatalf("status: %v %s", err, res.Body)
	}
	if res, _ := h.client.GetRunStatusWithResponse(context.Background(), theirs.ID, asUser("admin")); res.JSON200 == nil {
		t.Errorf("admin cannot see bob's run: %s", res.Body)
	}

	// Another owner's run, a well-formed unknown id and a malformed id all look the same.
	missing := "01890a5d-ac96-774b-bcce-b302099a8057"
	for _, id := range []string{theirs.ID, missing, "not-a-uuid", strings.ToUpper(mine.ID), "..", "%2e%2e"} {
		for _, p := range []string{"", "/status", "/tasks", "/tasks/t1", "/logs/stdout"} {
			st, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+id+p, "alice", "", nil)
			if e := errorBody(t, st, b); st != http.StatusNotFound || strings.Contains(e.Msg, "bob") {
				t.Errorf("GET %s%s: %d %q", id, p, st, e.Msg)
			}
		}
		st, b, _ := h.do(http.MethodPost, BasePath+"/runs/"+id+"/cancel", "alice", "", nil)
		if errorBody(t, st, b); st != http.StatusNotFound {
			t.Errorf("cancel %s: %d", id, st)
		}
	}
	if r, _ := h.store.Get(context.Background(), theirs.ID); r.State != wes.StateQueued || r.CancelRequested {
		t.Errorf("alice changed bob's run: %+v", r)
	}
}

func TestCancelRun(t *testing.T) {
	h := newHarness(t)
	queued := h.createRun("alice", nil)
	running := h.createRun("alice", nil)
	h.setState(running.ID, wes.StateRunning)
	done := h.createRun("alice", nil)
	h.setState(done.ID, wes.StateRunning, wes.StateExecutorError)

	for _, r := range []*wes.Run{queued, running} {
		res, err := h.client.CancelRunWithResponse(context.Background(), r.ID)
		if err != nil || res.JSON200 == nil || res.JSON200.RunId != r.ID {
			t.Fatalf("cancel %s: %v %s", r.ID, err, res.Body)
		}
		got, _ := h.store.Get(context.Background(), r.ID)
		if got.State != wes.StateCanceling || !got.CancelRequested {
			t.Errorf("after cancel: state %s, cancel requested %v", got.State, got.CancelRequested)
		}
	}
	// Cancelling again is harmless; a finished run is left as it is.
	h.disp.cancelErr = wes.Errorf(wes.EUNAVAILABLE, "queue down")
	for _, id := range []string{queued.ID, done.ID} {
		res, err := h.client.CancelRunWithResponse(context.Background(), id)
		if err != nil || res.JSON200 == nil {
			t.Fatalf("second cancel %s: %v %s", id, err, res.Body)
		}
	}
	if got, _ := h.store.Get(context.Background(), done.ID); got.State != wes.StateExecutorError || got.CancelRequested {
		t.Errorf("finished run changed by cancel: %s %v", got.State, got.CancelRequested)
	}
	_, canceled := h.disp.calls()
	if !slices.Equal(canceled, []string{queued.ID, running.ID, queued.ID}) {
		t.Errorf("dispatched cancels %v", canceled)
	}
	if !strings.Contains(h.logs.String(), "could not enqueue the cancel step") {
		t.Errorf("failed cancel dispatch not logged")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
