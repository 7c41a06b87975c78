package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// listIDs pages through GET /runs?query as user and returns the run ids.
func (h *harness) listIDs(user, query string) []string {
	h.t.Helper()
	var ids []string
	token := ""
	for range 100 {
		q, err := url.ParseQuery(query)
		if err != nil {
			h.t.Fatal(err)
		}
		q.Set("page_size", "2")
		if token != "" {
			q.Set("page_token", token)
		}
		var page struct {
			Runs []struct {
				RunID string `json:"run_id"`
			} `json:"runs"`
			Next string `json:"next_page_token"`
		}
		st, b, _ := h.do(http.MethodGet, BasePath+"/runs?"+q.Encode(), user, "", nil)
		if st != http.StatusOK {
			h.t.Fatalf("GET /runs?%s as %s: %d %s", query, user, st, b)
		}
		if err := json.Unmarshal(b, &page); err != nil {
			h.t.Fatal(err)
		}
		for _, r := range page.Runs {
			ids = append(ids, r.RunID)
		}
		if token = page.Next; token == "" {
			return ids
		}
	}
	h.t.Fatal("paging does not end")
	return nil
}

// The review queue and the other list filters (Enclave extensions of GET /runs): each
// lists exactly the runs that match, paged; researchers filter only their own runs.
func TestListRunsFilters(t *testing.T) {
	h := newHarness(t)
	pending := []wes.Output{{Path: "a.csv", Status: wes.OutputPending}}
	a1 := h.createRun("alice", func(r *wes.Run) { r.Workflow = "wf-a"; r.Released = pending })
	b1 := h.createRun("bob", func(r *wes.Run) {
		r.Workflow = "wf-a"
		r.Released = pending
		r.Request.Tags = map[string]string{"project": "p1"}
	})
	a2 := h.createRun("alice", func(r *wes.Run) { r.Workflow = "wf-b"; r.Request.Tags = map[string]string{"project": "p1"} })
	b2 := h.createRun("bob", func(r *wes.Run) {
		r.Workflow = "wf-b"
		r.Released = []wes.Output{{Path: "a.csv", Status: wes.OutputRejected}}
	})
	b3 := h.createRun("bob", func(r *wes.Run) { r.Workflow = "wf-a"; r.Released = pending })
	h.setState(b3.ID, wes.StateInitializing, wes.StateRunning, wes.StateComplete)
	for _, tc := range []struct {
		user, query string
		want        []string
	}{
		{"admin", "review=pending", []string{b3.ID, b1.ID, a1.ID}},
		{"admin", "review=pending&owner=bob", []string{b3.ID, b1.ID}},
		{"admin", "review=pending&state=QUEUED", []string{b1.ID, a1.ID}},
		{"admin", "workflow=wf-b", []string{b2.ID, a2.ID}},
		{"admin", "state=COMPLETE", []string{b3.ID}},
		// The tags of a catalogue run are its owner's alone: nobody else finds a run by them.
		{"admin", "tag=project%3Dp1", nil},
		{"alice", "review=pending", []string{a1.ID}},
		{"alice", "owner=alice&workflow=wf-b", []string{a2.ID}},
		{"bob", "tag=project%3Dp1", []string{b1.ID}},
		{"bob", "state=RUNNING", nil},
	} {
		got := h.listIDs(tc.user, tc.query)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s as %s: %v, want %v", tc.query, tc.user, got, tc.want)
		}
	}
	for _, tc := range []struct {
		query, msg string
		status     int
	}{
		{"state=DONE", `state "DONE" is not a WES state; use one of`, 400},
		{"review=approved", "the one filter is review=pending", 400},
		{"tag=project", `tag "project" must be key=value`, 400},
		{"tag=a%3D1&tag=a%3D2", `tag "a" is given twice`, 400},
		{"owner=bob", "may list other users' runs", 403},
	} {
		st, b, _ := h.do(http.MethodGet, BasePath+"/runs?"+tc.query, "alice", "", nil)
		if e := errorBody(t, st, b); st != tc.status || !strings.Contains(e.Msg, tc.msg) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.query, st, e.Msg, tc.status, tc.msg)
		}
	}
}
