package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// wesAPI is the suite's client of one server. Its typed calls go through pkg/wesclient,
// as any client's would; request, get, getJSON and postForm send raw HTTP, kept for the
// tests that send malformed or hostile requests or read the wire form of an answer
// (an ErrorResponse's status_code, every string of a JSON document). Every answer of
// either kind passes the transport's check for a 5xx status, which no request of this
// suite may ever cause.
type wesAPI struct {
	t     *testing.T
	base  string // http://host:port/ga4gh/wes/v1
	hc    *http.Client
	token string // sent as a Bearer token when set
	c     *wesclient.Client
}

// as returns a client of the same server that sends token.
func (a *wesAPI) as(token string) *wesAPI {
	return newClient(a.t, a.base, a.hc, token)
}

func newWESAPI(t *testing.T, addr string) *wesAPI {
	hc := &http.Client{Timeout: 60 * time.Second, Transport: no5xx{t: t, next: http.DefaultTransport}}
	return newClient(t, "http://"+addr+wesclient.BasePath, hc, "")
}

func newClient(t *testing.T, base string, hc *http.Client, token string) *wesAPI {
	c, err := wesclient.New(base, wesclient.WithHTTPClient(hc), wesclient.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	return &wesAPI{t: t, base: base, hc: hc, token: token, c: c}
}

// no5xx fails the test on any answer with a 5xx status.
type no5xx struct {
	t    *testing.T
	next http.RoundTripper
}

func (n no5xx) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := n.next.RoundTrip(req)
	if err == nil && resp.StatusCode >= 500 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		n.t.Errorf("%s %s answered %d (no request may cause a server error): %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return resp, err
}

// request sends one raw request to path (below the API base) and returns the status and
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
	return resp.StatusCode, b, err
}

// get sends a raw GET and fails the test if the server cannot be reached.
func (a *wesAPI) get(path string) (int, []byte) {
	a.t.Helper()
	code, body, err := a.request(http.MethodGet, path, "", nil)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	return code, body
}

// must fails the test when err is not nil, naming what was asked.
func (a *wesAPI) must(what string, err error) {
	a.t.Helper()
	if err != nil {
		a.t.Fatalf("%s: %v", what, err)
	}
}

func (a *wesAPI) serviceInfo() api.ServiceInfo {
	a.t.Helper()
	si, err := a.c.ServiceInfo(context.Background())
	a.must("service-info", err)
	return si
}

func (a *wesAPI) state(id string) api.State {
	a.t.Helper()
	st, err := a.c.Status(context.Background(), id)
	a.must("status of "+id, err)
	if st.RunId != id {
		a.t.Fatalf("status of %s names run %q", id, st.RunId)
	}
	return st.State
}

func (a *wesAPI) runLog(id string) api.RunLog {
	a.t.Helper()
	rl, err := a.c.RunLog(context.Background(), id)
	a.must("run log of "+id, err)
	return rl
}

func (a *wesAPI) tasks(id string) []api.TaskLog {
	a.t.Helper()
	tasks, err := a.c.AllTasks(context.Background(), id)
	a.must("tasks of "+id, err)
	return tasks
}

// listRuns returns one page of runs.
func (a *wesAPI) listRuns(size int64, token string) api.RunListResponse {
	a.t.Helper()
	page, err := a.c.ListRuns(context.Background(), size, token)
	a.must("list runs", err)
	return page
}

// readLog returns the whole of stream (stdout or stderr) of run id from the log endpoint.
func (a *wesAPI) readLog(id, stream string) ([]byte, error) {
	text, _, err := a.c.ReadLog(context.Background(), id, stream, 0)
	return text, err
}

// cancel cancels run id and requires the answer to name it.
func (a *wesAPI) cancel(id string) {
	a.t.Helper()
	got, err := a.c.Cancel(context.Background(), id)
	if err != nil || got != id {
		a.t.Fatalf("cancel %s: %q %v; want 200 {\"run_id\": %q}", id, got, err, id)
	}
}

// smkRequest is a Snakemake run of one attached Snakefile.
func smkRequest(snakefile string, params map[string]any) wesclient.RunRequest {
	return wesclient.RunRequest{
		WorkflowType: "SMK", WorkflowTypeVersion: "1.0", WorkflowURL: "Snakefile", WorkflowParams: params,
		Attachments: []wesclient.Attachment{{Name: "Snakefile", Data: []byte(snakefile)}},
	}
}

// exampleRequest is a run of one of the examples/ workflows, attached as the CLI would.
func exampleRequest(t *testing.T, dir, workflow, typ, typeVersion string) wesclient.RunRequest {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(repoRoot, "examples", dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	r := wesclient.RunRequest{WorkflowType: typ, WorkflowTypeVersion: typeVersion, WorkflowURL: workflow,
		Attachments: []wesclient.Attachment{{Name: workflow, Data: read(workflow)}}}
	if err := json.Unmarshal(read("params.json"), &r.WorkflowParams); err != nil {
		t.Fatalf("examples/%s/params.json: %v", dir, err)
	}
	return r
}

// mustSubmit submits and returns the new run's id.
func (a *wesAPI) mustSubmit(r wesclient.RunRequest) string {
	a.t.Helper()
	id, err := a.trySubmit(r)
	if err != nil {
		a.t.Fatal(err)
	}
	return id
}

// trySubmit is mustSubmit for other goroutines: it returns an error instead of failing.
func (a *wesAPI) trySubmit(r wesclient.RunRequest) (string, error) {
	id, err := a.c.Submit(context.Background(), r, "")
	if err != nil {
		return "", fmt.Errorf("POST /runs: %w", err)
	}
	return id, nil
}

// runRequest is a raw RunWorkflow form, text fields and attachments (name → content),
// for the requests a well-behaved client would not send.
type runRequest struct {
	fields map[string]string
	files  map[string]string
}

// rawForm is r as a raw form, to be spoiled.
func rawForm(t *testing.T, r wesclient.RunRequest) runRequest {
	t.Helper()
	fs, err := r.Fields()
	if err != nil {
		t.Fatal(err)
	}
	f := runRequest{fields: map[string]string{}, files: map[string]string{}}
	for _, x := range fs {
		f.fields[x.Name] = x.Value
	}
	for _, at := range r.Attachments {
		f.files[at.Name] = string(at.Data)
	}
	return f
}

// postForm POSTs the raw form as it is and returns the status and body.
func (a *wesAPI) postForm(r runRequest) (int, []byte, error) {
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
		if wesclient.Terminal(got) {
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
