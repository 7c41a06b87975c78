package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/engines"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// recordingDispatcher records the steps the server queues; startErr/cancelErr make
// queueing fail.
type recordingDispatcher struct {
	mu                  sync.Mutex
	started, canceled   []string
	startErr, cancelErr error
}

func (d *recordingDispatcher) Start(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.started = append(d.started, id)
	return d.startErr
}

func (d *recordingDispatcher) Cancel(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.canceled = append(d.canceled, id)
	return d.cancelErr
}

func (d *recordingDispatcher) Finalize(context.Context, string) error { return nil }

func (d *recordingDispatcher) calls() (started, canceled []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.started...), append([]string(nil), d.canceled...)
}

// testEngine is a small engine for workflow type "TST". Its tasks are whatever the test
// wrote to tasks.json in the run's work directory.
type testEngine struct{ name string }

func (e testEngine) Name() string           { return e.name }
func (e testEngine) WorkflowType() string   { return "TST" }
func (e testEngine) TypeVersions() []string { return []string{"1.0"} }
func (e testEngine) Versions() []string     { return []string{"1.2", "1.10"} }
func (e testEngine) Parameters() []wes.EngineParam {
	return []wes.EngineParam{
		{Name: "cores", Type: "int", Default: "1", Min: 1, Max: 8},
		{Name: "mode", Type: "enum", Default: "fast", Allowed: []string{"fast", "slow"}},
	}
}
func (e testEngine) Prepare(context.Context, wes.PrepareInput) (*wes.Job, error) {
	return nil, errors.New("not used by the HTTP tests")
}
func (e testEngine) Tasks(_ context.Context, workDir string) ([]wes.Task, error) {
	b, err := os.ReadFile(filepath.Join(workDir, "tasks.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ts []wes.Task
	return ts, json.Unmarshal(b, &ts)
}
func (e testEngine) Outputs(context.Context, string) (map[string]any, error) { return nil, nil }

// SafeTasks makes the test engine vouch for the tasks its tests write (engines.SafeTasker):
// the API tests check paging and fields; what names an engine may show is tested with
// engines without it (redaction_test.go) and with the real engines.
func (e testEngine) SafeTasks(ctx context.Context, wf engines.Workflow) ([]wes.Task, error) {
	return e.Tasks(ctx, wf.WorkDir)
}

// testAuth reads "Bearer <subject>"; the subjects "admin", "bad", "forbidden" and "panic"
// are special.
func testAuth(r *http.Request) (*wes.Principal, error) {
	sub, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || sub == "" || sub == "bad":
		return nil, wes.Errorf(wes.EUNAUTHORIZED, "a valid bearer token is required")
	case sub == "forbidden":
		return nil, wes.Errorf(wes.EFORBIDDEN, "your account may not use this service")
	case sub == "panic":
		panic("authenticator exploded")
	case sub == "admin":
		return &wes.Principal{Subject: "admin", Roles: []string{wes.RoleAdmin}}, nil
	}
	return &wes.Principal{Subject: sub, Roles: []string{wes.RoleResearcher}}, nil
}

type harness struct {
	t       *testing.T
	srv     *httptest.Server
	store   *redisstore.Store
	disp    *recordingDispatcher
	dataDir string
	logs    *syncBuffer
	client  *api.ClientWithResponses
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newHarness starts the API on a real Redis store with a unique prefix; edit may change
// the config and deps first.
func newHarness(t *testing.T, edit ...func(*testConfig, *testDeps)) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		store:   redisstore.New(testutil.Redis(t), redisstore.Options{Prefix: testutil.UniqueName("enclave-httpapi-") + ":"}),
		disp:    &recordingDispatcher{},
		dataDir: t.TempDir(),
		logs:    &syncBuffer{},
	}
	cfg := testConfig{DataDir: h.dataDir, DefaultPageSize: 3, MaxPageSize: 20, AuthMode: "oidc",
		MaxParts: 20, MaxAttachmentBytes: 1024, MaxRequestBytes: 64 << 10,
		ServiceInfo: ServiceInfo{Version: "1.2.3", Tags: map[string]string{"site": "test", "auth_mode": "spoofed"}}}
	deps := testDeps{Store: h.store, Idempotency: h.store, Dispatcher: h.disp, Engines: engines.NewRegistry(testEngine{"tester"}),
		Authenticate: testAuth, Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, f := range edit {
		f(&cfg, &deps)
	}
	handler, err := newAPI(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.srv = httptest.NewServer(handler)
	t.Cleanup(h.srv.Close)
	h.client, err = api.NewClientWithResponses(h.srv.URL+BasePath, api.WithRequestEditorFn(asUser("alice")))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// asUser authenticates a generated-client request as subject.
func asUser(subject string) api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+subject)
		return nil
	}
}

// do sends a request as user ("" = no credentials) and returns status and body.
func (h *harness) do(method, path, user, contentType string, body io.Reader) (int, []byte, http.Header) {
	h.t.Helper()
	return h.doWith(method, path, user, contentType, body, nil)
}

// doWith is do with extra request headers.
func (h *harness) doWith(method, path, user, contentType string, body io.Reader, extra http.Header) (int, []byte, http.Header) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+user)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// errorBody decodes an ErrorResponse and checks status_code matches status.
func errorBody(t *testing.T, status int, body []byte) api.ErrorResponse {
	t.Helper()
	var e api.ErrorResponse
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("status %d: body is not an ErrorResponse: %v: %s", status, err, body)
	}
	if int(e.StatusCode) != status || e.Msg == "" {
		t.Fatalf("ErrorResponse %+v does not match status %d", e, status)
	}
	return e
}

// part is one multipart part. header, when set, replaces the generated
// Content-Disposition (for malformed parts).
type part struct {
	name, filename, body string
	header               textproto.MIMEHeader
}

func field(name, value string) part { return part{name: name, body: value} }
func file(name, body string) part {
	return part{name: "workflow_attachment", filename: name, body: body}
}

// form encodes parts; no part gets a Content-Type, as curl -F and many WES clients send.
func form(t *testing.T, parts ...part) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		hdr := p.header
		if hdr == nil {
			cd := `form-data; name="` + p.name + `"`
			if p.filename != "" {
				cd += `; filename="` + strings.ReplaceAll(p.filename, `"`, `\"`) + `"`
			}
			hdr = textproto.MIMEHeader{"Content-Disposition": {cd}}
		}
		pw, err := w.CreatePart(hdr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(pw, p.body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), &buf
}

// validRun is the smallest accepted submission, plus extra parts.
func validRun(extra ...part) []part {
	return append([]part{
		field("workflow_type", "TST"),
		field("workflow_type_version", "1.0"),
		field("workflow_url", "main.tst"),
		file("main.tst", "step one\n"),
	}, extra...)
}

// submit posts a run as user and returns its id; it fails the test unless the answer is 200.
func (h *harness) submit(user string, parts ...part) string {
	h.t.Helper()
	ct, body := form(h.t, parts...)
	st, b, _ := h.do(http.MethodPost, BasePath+"/runs", user, ct, body)
	if st != http.StatusOK {
		h.t.Fatalf("submit: status %d: %s", st, b)
	}
	var id api.RunId
	if err := json.Unmarshal(b, &id); err != nil || id.RunId == "" {
		h.t.Fatalf("submit: bad RunId %s: %v", b, err)
	}
	return id.RunId
}

// createRun stores a run directly, for list and state tests that need many runs or a
// particular state.
func (h *harness) createRun(owner string, edit func(*wes.Run)) *wes.Run {
	h.t.Helper()
	u, err := uuid.NewV7()
	if err != nil {
		h.t.Fatal(err)
	}
	id := u.String()
	r := &wes.Run{ID: id, Owner: owner, State: wes.StateQueued, Engine: "tester", EngineVer: "1.10",
		WorkDir: wes.LayoutFor(h.dataDir, id).WorkDir(),
		Request: wes.RunRequest{WorkflowType: "TST", WorkflowTypeVersion: "1.0", WorkflowURL: "main.tst",
			WorkflowParams: json.RawMessage(`{"n":1}`), Tags: map[string]string{"k": "v"}}}
	if edit != nil {
		edit(r)
	}
	if err := h.store.Create(context.Background(), r); err != nil {
		h.t.Fatalf("create run: %v", err)
	}
	return r
}

// setState moves a stored run through the states to reach target.
func (h *harness) setState(id string, path ...wes.State) {
	h.t.Helper()
	for _, st := range path {
		_, err := h.store.Update(context.Background(), id, func(r *wes.Run) error {
			r.State = st
			if st == wes.StateRunning {
				r.StartTime = time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
			}
			if st.Terminal() {
				r.EndTime = time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)
			}
			return nil
		})
		if err != nil {
			h.t.Fatalf("set state %s: %v", st, err)
		}
	}
}

// runDirs lists the run directories under the data directory.
func (h *harness) runDirs() []string {
	h.t.Helper()
	es, err := os.ReadDir(filepath.Join(h.dataDir, "runs"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
