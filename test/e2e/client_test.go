package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
)

// basePath is where the WES API lives.
const basePath = "/ga4gh/wes/v1"

// wesAPI calls one server's WES API over plain HTTP. Every answer is checked for a 5xx
// status, which no request of this suite may ever cause.
type wesAPI struct {
	t     *testing.T
	base  string // http://host:port/ga4gh/wes/v1
	hc    *http.Client
	token string // sent as a Bearer token when set
}

// as returns a client of the same server that sends token.
func (a *wesAPI) as(token string) *wesAPI {
	c := *a
	c.token = token
	return &c
}

func newWESAPI(t *testing.T, addr string) *wesAPI {
	return &wesAPI{t: t, base: "http://" + addr + basePath, hc: &http.Client{Timeout: 60 * time.Second}}
}

// request sends one request to path (below the API base) and returns the status and
// body. It is safe to call from several goroutines.
func (a *wesAPI) request(method, path, contentType string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode >= 500 {
		a.t.Errorf("%s %s answered %d (no request may cause a server error): %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, b, nil
}

// get sends a GET and fails the test if the server cannot be reached.
func (a *wesAPI) get(path string) (int, []byte) {
	a.t.Helper()
	code, body, err := a.request(http.MethodGet, path, "", nil)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	return code, body
}

// getJSON GETs path, requires 200 and decodes the body into v.
func (a *wesAPI) getJSON(path string, v any) {
	a.t.Helper()
	code, body := a.get(path)
	if code != http.StatusOK {
		a.t.Fatalf("GET %s: %d %s; want 200", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		a.t.Fatalf("GET %s: body is not the expected JSON: %v\n%s", path, err, body)
	}
}

func (a *wesAPI) serviceInfo() api.ServiceInfo {
	a.t.Helper()
	var si api.ServiceInfo
	a.getJSON("/service-info", &si)
	return si
}

func (a *wesAPI) state(id string) api.State {
	a.t.Helper()
	var st api.RunStatus
	a.getJSON("/runs/"+id+"/status", &st)
	if st.RunId != id {
		a.t.Fatalf("status of %s names run %q", id, st.RunId)
	}
	return st.State
}

func (a *wesAPI) runLog(id string) api.RunLog {
	a.t.Helper()
	var rl api.RunLog
	a.getJSON("/runs/"+id, &rl)
	return rl
}

func (a *wesAPI) tasks(id string) []api.TaskLog {
	a.t.Helper()
	var out []api.TaskLog
	token := ""
	for range 100 {
		var page api.TaskListResponse
		a.getJSON("/runs/"+id+"/tasks?page_token="+url.QueryEscape(token), &page)
		out = append(out, page.TaskLogs...)
		if token = page.NextPageToken; token == "" {
			return out
		}
	}
	a.t.Fatalf("tasks of %s: more than 100 pages", id)
	return nil
}

// cancel POSTs a cancel and requires 200 naming the run.
func (a *wesAPI) cancel(id string) {
	a.t.Helper()
	code, body, err := a.request(http.MethodPost, "/runs/"+id+"/cancel", "", nil)
	if err != nil {
		a.t.Fatalf("cancel %s: %v", id, err)
	}
	var rid api.RunId
	if code != http.StatusOK || json.Unmarshal(body, &rid) != nil || rid.RunId != id {
		a.t.Fatalf("cancel %s: %d %s; want 200 {\"run_id\": %q}", id, code, body, id)
	}
}

// runRequest is a RunWorkflow form: text fields and attachments (name → content).
type runRequest struct {
	fields map[string]string
	files  map[string]string
}

// smkRequest is a Snakemake run of one attached Snakefile.
func smkRequest(snakefile string, params map[string]any) runRequest {
	r := runRequest{
		fields: map[string]string{"workflow_type": "SMK", "workflow_type_version": "1.0", "workflow_url": "Snakefile"},
		files:  map[string]string{"Snakefile": snakefile},
	}
	if params != nil {
		b, _ := json.Marshal(params)
		r.fields["workflow_params"] = string(b)
	}
	return r
}

// exampleRequest is a run of one of the examples/ workflows, attached as the CLI would.
func exampleRequest(t *testing.T, dir, workflow, typ, typeVersion string) runRequest {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(repoRoot, "examples", dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return runRequest{
		fields: map[string]string{"workflow_type": typ, "workflow_type_version": typeVersion,
			"workflow_url": workflow, "workflow_params": read("params.json")},
		files: map[string]string{workflow: read(workflow)},
	}
}

// submit POSTs the form and returns the status and body. Safe from several goroutines.
func (a *wesAPI) submit(r runRequest) (int, []byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range sortedKeys(r.fields) {
		if err := mw.WriteField(k, r.fields[k]); err != nil {
			return 0, nil, err
		}
	}
	for _, name := range sortedKeys(r.files) {
		w, err := mw.CreateFormFile("workflow_attachment", name)
		if err != nil {
			return 0, nil, err
		}
		if _, err := io.WriteString(w, r.files[name]); err != nil {
			return 0, nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return 0, nil, err
	}
	return a.request(http.MethodPost, "/runs", mw.FormDataContentType(), &buf)
}

// mustSubmit submits and returns the new run's id.
func (a *wesAPI) mustSubmit(r runRequest) string {
	a.t.Helper()
	id, err := a.trySubmit(r)
	if err != nil {
		a.t.Fatal(err)
	}
	return id
}

// trySubmit is mustSubmit for other goroutines: it returns an error instead of failing.
func (a *wesAPI) trySubmit(r runRequest) (string, error) {
	code, body, err := a.submit(r)
	if err != nil {
		return "", fmt.Errorf("POST /runs: %w", err)
	}
	var rid api.RunId
	if code != http.StatusOK || json.Unmarshal(body, &rid) != nil || rid.RunId == "" {
		return "", fmt.Errorf("POST /runs: %d %s; want 200 with a run_id", code, body)
	}
	return rid.RunId, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// eventually polls cond until it reports true, and fails the test with cond's last
// description if that does not happen within timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last seen: %s", what, timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// terminal reports whether a run in state s will not change again.
func terminal(s api.State) bool {
	switch s {
	case api.StateCOMPLETE, api.StateEXECUTORERROR, api.StateSYSTEMERROR, api.StateCANCELED, api.StatePREEMPTED:
		return true
	}
	return false
}

// waitState waits until run id is in one of the states want. A run that ends in another
// state fails the test at once, with its run log.
func (a *wesAPI) waitState(id string, timeout time.Duration, want ...api.State) api.State {
	a.t.Helper()
	var got api.State
	eventually(a.t, timeout, fmt.Sprintf("run %s reaches %v", id, want), func() (bool, string) {
		got = a.state(id)
		if slices.Contains(want, got) {
			return true, ""
		}
		if terminal(got) {
			rl, _ := json.MarshalIndent(a.runLog(id), "", "  ")
			a.t.Fatalf("run %s ended %s; want %v. Run log:\n%s", id, got, want, rl)
		}
		return false, string(got)
	})
	return got
}

// lines returns the lines of a text file, failing the test if it cannot be read.
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
