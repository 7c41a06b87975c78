package runner_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/executors"
	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress/localfs"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/httpapi"
	"github.com/spe4hd/enclave/pkg/runner"
	"github.com/spe4hd/enclave/pkg/runs"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// TestMain lets this test binary be the local executor's shim (local.SelfShim), or the
// worker that TestResumeAfterWorkerKill kills (resumeHelper).
func TestMain(m *testing.M) {
	local.MaybeShim()
	if os.Getenv(resumeHelperEnv) != "" {
		os.Exit(resumeHelper())
	}
	os.Exit(m.Run())
}

// zoneAuth reads "Bearer <subject>": alice and bob are researchers in the analysts and
// cohort-analysts groups, mallory a researcher in no group, carol a data controller,
// admin an administrator.
func zoneAuth(r *http.Request) (*wes.Principal, error) {
	sub, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch sub {
	case "alice", "bob":
		return &wes.Principal{Subject: sub, Roles: []string{wes.RoleResearcher}, Groups: []string{"analysts", "cohort-analysts"}}, nil
	case "mallory":
		return &wes.Principal{Subject: sub, Roles: []string{wes.RoleResearcher}, Groups: []string{"outsiders"}}, nil
	case "carol":
		return &wes.Principal{Subject: sub, Roles: []string{wes.RoleDataController}}, nil
	case "admin":
		return &wes.Principal{Subject: sub, Roles: []string{wes.RoleAdmin}}, nil
	}
	return nil, wes.Errorf(wes.EUNAUTHORIZED, "a valid bearer token is required")
}

// flakyStore is the real local-disk result store with an upload failure to switch on.
type flakyStore struct {
	*localfs.Store
	failPut bool
}

func (f *flakyStore) Put(ctx context.Context, key string, r io.Reader, size int64, ct string) (wes.ObjectInfo, error) {
	if f.failPut {
		return wes.ObjectInfo{}, wes.Errorf(wes.EUNAVAILABLE, "the object store is down (test)")
	}
	return f.Store.Put(ctx, key, r, size, ct)
}

// zone is the sealed zone end to end: the WES API in sealed mode and the runner with the
// local executor and the real Snakemake and cwltool, on the real test Redis (runs and
// audit trail) and a local-disk result store. The runner's steps are called directly.
type zone struct {
	t        *testing.T
	dataDir  string // runs
	zoneDir  string // the catalogue: workflows and datasets
	store    *redisstore.Store
	audit    *audit.Log
	results  *flakyStore
	holder   *catalog.Holder
	r        *runner.Runner
	srv      *httptest.Server
	forbid   []string // text no API answer may contain
	allowAll bool     // set while a test reads what may legitimately contain forbid text
}

// requireEngines skips (or, under CI, fails) without the real engines.
func requireEngines(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"snakemake", "cwltool"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required under CI", bin)
			}
			t.Skipf("SKIP: %s is not installed (`make setup` installs it)", bin)
		}
	}
}

// newZone starts a zone on the catalogue file catalogPath.
func newZone(t *testing.T, catalogPath string) *zone {
	t.Helper()
	requireEngines(t)
	rdb := testutil.Redis(t)
	prefix := testutil.UniqueName("enclave-zone-") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, err := rdb.Keys(ctx, prefix+"*").Result(); err == nil && len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	z := &zone{t: t, dataDir: t.TempDir(), zoneDir: filepath.Dir(catalogPath),
		store: redisstore.New(rdb, redisstore.Options{Prefix: prefix}),
		audit: audit.New(rdb, audit.Options{Prefix: prefix})}
	abs, err := filepath.Abs(z.zoneDir)
	if err != nil {
		t.Fatal(err)
	}
	z.zoneDir = abs
	z.forbid = []string{z.dataDir, z.zoneDir, "SECRET-MARKER"}
	rs, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	z.results = &flakyStore{Store: rs}
	reg := engines.NewRegistry(snakemake.New(snakemake.Config{}, nil), cwl.New(cwl.Config{}, nil))
	reg.Discover(context.Background(), nil)
	if z.holder, err = catalog.NewHolder(catalogPath, catalog.Options{Engines: reg}, nil); err != nil {
		t.Fatal(err)
	}
	lcfg, err := local.SelfShim(local.Config{StateDir: t.TempDir(), Grace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	lx, err := local.New(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	disp := &recDispatcher{}
	z.r, err = runner.New(runner.Config{DataDir: z.dataDir, Catalog: z.holder, Results: z.results, Audit: z.audit},
		z.store, disp, executors.NewRegistry(lx), reg)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := runs.New(runs.Config{DataDir: z.dataDir, Mode: runs.ModeSealed},
		runs.Deps{Store: z.store, Dispatcher: disp, Engines: reg, Logger: slog.New(slog.DiscardHandler),
			Catalog: z.holder, Results: z.results, Audit: z.audit, AuditLog: z.audit})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Config{AuthMode: "oidc"},
		httpapi.Deps{Runs: svc, Authenticate: zoneAuth, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	z.srv = httptest.NewServer(h)
	t.Cleanup(z.srv.Close)
	return z
}

// do sends a request as user and returns status and body. No answer may carry a path
// inside the zone or dataset content, unless allowAll is set.
func (z *zone) do(method, path, user, contentType string, body io.Reader) (int, []byte, http.Header) {
	z.t.Helper()
	url := path
	if !strings.HasPrefix(path, "http") {
		url = z.srv.URL + httpapi.BasePath + path
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		z.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+user)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := z.srv.Client().Do(req)
	if err != nil {
		z.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		z.t.Fatal(err)
	}
	if !z.allowAll {
		for _, f := range z.forbid {
			if bytes.Contains(b, []byte(f)) {
				z.t.Errorf("%s %s as %s: the answer contains %q:\n%s", method, path, user, f, b)
			}
		}
	}
	return resp.StatusCode, b, resp.Header
}

// getJSON fetches path as user, wants status 200 and decodes the body into v.
func (z *zone) getJSON(path, user string, v any) {
	z.t.Helper()
	st, b, _ := z.do(http.MethodGet, path, user, "", nil)
	if st != http.StatusOK {
		z.t.Fatalf("GET %s as %s: %d %s", path, user, st, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		z.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// post sends a sealed-zone run request built from fields (name → value) as user.
func (z *zone) post(user string, fields map[string]string, files map[string]string) (int, []byte) {
	z.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for name, content := range files {
		fw, _ := w.CreateFormFile("workflow_attachment", name)
		_, _ = io.WriteString(fw, content)
	}
	_ = w.Close()
	st, b, _ := z.do(http.MethodPost, "/runs", user, w.FormDataContentType(), &buf)
	return st, b
}

// submit posts a run that must be accepted and returns its id.
func (z *zone) submit(user, workflow, params string, extra ...string) string {
	z.t.Helper()
	f := map[string]string{"workflow_url": workflow, "workflow_params": params}
	for i := 0; i+1 < len(extra); i += 2 {
		f[extra[i]] = extra[i+1]
	}
	st, b := z.post(user, f, nil)
	if st != http.StatusOK {
		z.t.Fatalf("submit %s as %s: %d %s", workflow, user, st, b)
	}
	var id api.RunId
	if err := json.Unmarshal(b, &id); err != nil {
		z.t.Fatal(err)
	}
	return id.RunId
}

// run drives a stored run through the runner's steps until it has ended.
func (z *zone) run(id string) *wes.Run {
	z.t.Helper()
	ctx := context.Background()
	if err := z.r.Start(ctx, id); err != nil {
		z.t.Fatalf("start: %v", err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		run := z.get(id)
		if run.State.Terminal() {
			return run
		}
		if time.Now().After(deadline) {
			z.t.Fatalf("run %s did not end: %s %v", id, run.State, run.Log.SystemLogs)
		}
		if err := z.r.Finalize(ctx, id); err != nil {
			z.t.Fatalf("finalize: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // polling the job's state, not synchronising
	}
}

func (z *zone) get(id string) *wes.Run {
	z.t.Helper()
	run, err := z.store.Get(context.Background(), id)
	if err != nil {
		z.t.Fatal(err)
	}
	return run
}

// events returns the audit trail's events about run id (all when id is "").
func (z *zone) events(id string) []wes.AuditEvent {
	z.t.Helper()
	page, err := z.audit.Query(context.Background(), audit.Filter{RunID: id, Limit: 1000})
	if err != nil {
		z.t.Fatal(err)
	}
	out := make([]wes.AuditEvent, len(page.Entries))
	for i, e := range page.Entries {
		out[i] = e.Event
	}
	return out
}

// findEvent returns the first event with action (and, when set, detail path).
func findEvent(evs []wes.AuditEvent, action, path string) (wes.AuditEvent, bool) {
	for _, e := range evs {
		if e.Action == action && (path == "" || e.Detail["path"] == path) {
			return e, true
		}
	}
	return wes.AuditEvent{}, false
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
