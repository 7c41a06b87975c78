package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/spe4hd/enclave/api"
)

// fakeWES serves the shape of the WES 1.1 API (plus Enclave's log endpoint) from memory,
// for the CLI's formatting and flag tests. The lead's end-to-end tests run the CLI
// against the real server.
type fakeWES struct {
	srv    *httptest.Server
	prefix string

	mu      sync.Mutex
	runs    map[string]*fakeRun
	order   []string // run ids, newest first
	submits []submission
	auth    []string // Authorization headers seen
}

// fakeRun is one run. Each status request moves it one step along states (staying on the
// last); its stdout is the chunks of the steps reached so far.
type fakeRun struct {
	log    api.RunLog
	states []api.State
	chunks []string
	step   int
	tasks  []api.TaskLog
}

func (r *fakeRun) stdout() string { return strings.Join(r.chunks[:min(r.step+1, len(r.chunks))], "") }

// submission is one parsed POST /runs.
type submission struct {
	fields map[string]string
	files  map[string]string // attachment name (raw, with sub-directories) → content
	key    string            // the Idempotency-Key header
}

func newFakeWES(t *testing.T, prefix string) *fakeWES {
	t.Helper()
	f := &fakeWES{prefix: prefix, runs: map[string]*fakeRun{}}
	mux := http.NewServeMux()
	p := prefix
	mux.HandleFunc("POST "+p+"/runs", f.submit)
	mux.HandleFunc("GET "+p+"/runs", f.list)
	mux.HandleFunc("GET "+p+"/runs/{id}", f.withRun(func(w http.ResponseWriter, _ *http.Request, r *fakeRun) {
		r.log.State = r.states[r.step]
		writeJSONResponse(w, http.StatusOK, r.log)
	}))
	mux.HandleFunc("GET "+p+"/runs/{id}/status", f.withRun(func(w http.ResponseWriter, _ *http.Request, r *fakeRun) {
		if r.step < len(r.states)-1 {
			r.step++
		}
		writeJSONResponse(w, http.StatusOK, api.RunStatus{RunId: r.log.RunId, State: r.states[r.step]})
	}))
	mux.HandleFunc("POST "+p+"/runs/{id}/cancel", f.withRun(func(w http.ResponseWriter, _ *http.Request, r *fakeRun) {
		r.states = append(r.states[:r.step+1], api.StateCANCELED)
		writeJSONResponse(w, http.StatusOK, api.RunId{RunId: r.log.RunId})
	}))
	mux.HandleFunc("GET "+p+"/runs/{id}/tasks", f.withRun(func(w http.ResponseWriter, req *http.Request, r *fakeRun) {
		start, end, next := page(req, len(r.tasks))
		writeJSONResponse(w, http.StatusOK, api.TaskListResponse{TaskLogs: append([]api.TaskLog{}, r.tasks[start:end]...), NextPageToken: next})
	}))
	mux.HandleFunc("GET "+p+"/runs/{id}/logs/{stream}", f.withRun(func(w http.ResponseWriter, req *http.Request, r *fakeRun) {
		text := r.stdout()
		if req.PathValue("stream") == "stderr" {
			text = "stderr of " + r.log.RunId + "\n"
		}
		off, _ := strconv.Atoi(req.URL.Query().Get("offset"))
		off = min(off, len(text))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Enclave-Next-Offset", strconv.Itoa(len(text)))
		_, _ = io.WriteString(w, text[off:])
	}))
	f.srv = httptest.NewServer(f.recordAuth(mux))
	t.Cleanup(f.srv.Close)
	return f
}

// url is the server's root URL (the CLI adds the WES base path when there is no path).
func (f *fakeWES) url() string { return f.srv.URL }

func (f *fakeWES) recordAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// addRun adds a run that moves through states; it returns the run's id.
func (f *fakeWES) addRun(id string, states []api.State, chunks ...string) *fakeRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &fakeRun{
		log: api.RunLog{
			RunId:   id,
			Request: api.RunRequest{WorkflowType: "SMK", WorkflowTypeVersion: "1.0", WorkflowUrl: "Snakefile", Tags: map[string]string{"project": "p1"}},
			RunLog: api.Log{
				Stdout: f.prefix + "/runs/" + id + "/logs/stdout",
				Stderr: f.prefix + "/runs/" + id + "/logs/stderr",
			},
			TaskLogsUrl: f.srv.URL + f.prefix + "/runs/" + id + "/tasks",
		},
		states: states,
		chunks: append(chunks, ""),
	}
	f.runs[id] = r
	f.order = append([]string{id}, f.order...)
	return r
}

func (f *fakeWES) withRun(h func(http.ResponseWriter, *http.Request, *fakeRun)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		r, ok := f.runs[req.PathValue("id")]
		if !ok {
			writeJSONResponse(w, http.StatusNotFound, api.ErrorResponse{Msg: "run " + req.PathValue("id") + " not found", StatusCode: 404})
			return
		}
		h(w, req, r)
	}
}

func (f *fakeWES) list(w http.ResponseWriter, req *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	start, end, next := page(req, len(f.order))
	out := api.RunListResponse{Runs: []api.RunSummary{}, NextPageToken: next}
	for _, id := range f.order[start:end] {
		r := f.runs[id]
		out.Runs = append(out.Runs, api.RunSummary{RunId: id, State: r.states[r.step], Tags: r.log.Request.Tags, StartTime: "2026-01-02T03:04:05Z"})
	}
	writeJSONResponse(w, http.StatusOK, out)
}

// page applies page_size (default 2) and a numeric page_token.
func page(req *http.Request, n int) (start, end int, next string) {
	size := 2
	if s := req.URL.Query().Get("page_size"); s != "" {
		size, _ = strconv.Atoi(s)
	}
	start, _ = strconv.Atoi(req.URL.Query().Get("page_token"))
	start = min(start, n)
	end = min(start+size, n)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next
}

func (f *fakeWES) submit(w http.ResponseWriter, req *http.Request) {
	mr, err := req.MultipartReader()
	if err != nil {
		writeJSONResponse(w, http.StatusBadRequest, api.ErrorResponse{Msg: "not multipart", StatusCode: 400})
		return
	}
	s := submission{fields: map[string]string{}, files: map[string]string{}, key: req.Header.Get("Idempotency-Key")}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeJSONResponse(w, http.StatusBadRequest, api.ErrorResponse{Msg: err.Error(), StatusCode: 400})
			return
		}
		b, _ := io.ReadAll(part)
		// Part.FileName() keeps only the base name; attachment names have directories.
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if part.FormName() == "workflow_attachment" {
			s.files[params["filename"]] = string(b)
		} else {
			s.fields[part.FormName()] = string(b)
		}
	}
	if s.fields["workflow_type"] == "BAD" {
		writeJSONResponse(w, http.StatusBadRequest, api.ErrorResponse{Msg: "workflow_type: BAD is not supported; see service-info", StatusCode: 400})
		return
	}
	f.mu.Lock()
	f.submits = append(f.submits, s)
	id := fmt.Sprintf("run-%d", len(f.submits))
	f.mu.Unlock()
	f.addRun(id, []api.State{api.StateQUEUED})
	writeJSONResponse(w, http.StatusOK, api.RunId{RunId: id})
}

func (f *fakeWES) lastSubmission(t *testing.T) submission {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.submits) == 0 {
		t.Fatal("no submission reached the server")
	}
	return f.submits[len(f.submits)-1]
}

func (f *fakeWES) authHeaders() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.auth...)
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// cli runs the enclave command line with env and returns its output and exit code.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return cliStdin(t, env, "", args...)
}

func cliStdin(t *testing.T, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(context.Background(), args, env, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}
