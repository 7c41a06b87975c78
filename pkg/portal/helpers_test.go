package portal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/egress/localfs"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/runs"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// The test users: researchers alice and bob, carol a data controller, root an
// administrator.
var testUsers = map[string]*wes.Principal{
	"alice": {Subject: "alice", Name: "Alice A.", Roles: []string{wes.RoleResearcher}},
	"bob":   {Subject: "bob", Name: "Bob B.", Roles: []string{wes.RoleResearcher}},
	"carol": {Subject: "carol", Name: "Carol C.", Roles: []string{wes.RoleDataController}},
	"root":  {Subject: "root", Name: "Root", Roles: []string{wes.RoleAdmin}},
}

// nopDispatcher queues nothing: no worker runs the tests' runs.
type nopDispatcher struct{}

func (nopDispatcher) Start(context.Context, string) error    { return nil }
func (nopDispatcher) Cancel(context.Context, string) error   { return nil }
func (nopDispatcher) Finalize(context.Context, string) error { return nil }

// testSessions logs in whoever the cookie "test_user" names (a stand-in for the OIDC
// sessions of pkg/portal/session), with Anonymous's double-submit CSRF.
type testSessions struct{ csrf Sessions }

func (s testSessions) Principal(r *http.Request) (*wes.Principal, error) {
	c, err := r.Cookie("test_user")
	if err != nil {
		return nil, nil
	}
	return testUsers[c.Value], nil
}
func (s testSessions) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	return s.csrf.CSRFToken(w, r)
}
func (s testSessions) ValidCSRF(r *http.Request) bool { return s.csrf.ValidCSRF(r) }
func (s testSessions) LoginRequired() bool            { return true }
func (s testSessions) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "login page") })
}

// harness is the portal on a sealed run service over the example catalogue, with a real
// Redis store and audit trail and a local-disk result store. Runs are queued with a
// dispatcher that does nothing (no worker runs them); tests move them on in the store.
type harness struct {
	t       *testing.T
	srv     *httptest.Server
	svc     *runs.Service
	store   *redisstore.Store
	results *localfs.Store
	dataDir string
}

func newHarness(t *testing.T, sess Sessions) *harness {
	t.Helper()
	holder, err := catalog.NewHolder("../../examples/catalog/catalog.yaml", catalog.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	c := testutil.Redis(t)
	prefix := testutil.UniqueName("enclave-portal-test-") + ":"
	t.Cleanup(func() {
		if keys, err := c.Keys(context.Background(), prefix+"*").Result(); err == nil && len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	h := &harness{t: t, store: redisstore.New(c, redisstore.Options{Prefix: prefix}), results: rs, dataDir: t.TempDir()}
	trail := audit.New(c, audit.Options{Prefix: prefix})
	h.svc, err = runs.New(runs.Config{DataDir: h.dataDir, Mode: runs.ModeSealed},
		runs.Deps{Store: h.store, Dispatcher: nopDispatcher{}, Idempotency: h.store,
			Engines: engines.NewRegistry(snakemake.New(snakemake.Config{Versions: []string{"7.21.0"}}, nil),
				cwl.New(cwl.Config{Versions: []string{"3.1.20230209161050"}}, nil)),
			Catalog: holder, Results: rs, Audit: trail, AuditLog: trail})
	if err != nil {
		t.Fatal(err)
	}
	if sess == nil {
		sess = testSessions{csrf: Anonymous([]byte("test key"))}
	}
	handler, err := New(Config{}, Deps{Runs: h.svc, Sessions: sess})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(handler)
	t.Cleanup(h.srv.Close)
	return h
}

// browser is a client with its own cookies, logged in as user ("" for nobody), that does
// not follow redirects.
type browser struct {
	h *harness
	c *http.Client
}

func (h *harness) browser(user string) *browser {
	jar, _ := cookiejar.New(nil)
	if user != "" {
		u, _ := url.Parse(h.srv.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: "test_user", Value: user, Path: "/"}})
	}
	return &browser{h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) page {
	b.h.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

// post sends form to path; csrf, when true, adds the token the browser's last page gave
// it (fetched from the catalogue when it has none yet).
func (b *browser) post(path string, form url.Values, csrf bool) page {
	b.h.t.Helper()
	if csrf {
		form.Set("csrf", b.token())
	}
	return b.do(http.MethodPost, path, form)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the CSRF token a page shows this browser.
func (b *browser) token() string {
	b.h.t.Helper()
	m := csrfField.FindStringSubmatch(b.get("/runs").body)
	if m == nil {
		b.h.t.Fatal("no csrf token on the runs page")
	}
	return m[1]
}

func (b *browser) do(method, path string, form url.Values) page {
	b.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.h.srv.URL+path, body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	bs, err := io.ReadAll(resp.Body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(bs)}
}

// createRun stores a run of owner's directly (a catalogue run of cohort-count-cwl that
// read cohort-demo), as the worker would have left it after edit.
func (h *harness) createRun(owner string, edit func(*wes.Run)) *wes.Run {
	h.t.Helper()
	u, err := uuid.NewV7()
	if err != nil {
		h.t.Fatal(err)
	}
	l := wes.LayoutFor(h.dataDir, u.String())
	if err := os.MkdirAll(l.WorkDir(), 0o750); err != nil {
		h.t.Fatal(err)
	}
	r := &wes.Run{ID: u.String(), Owner: owner, State: wes.StateQueued, Engine: "cwltool", EngineVer: "3.1.20230209161050",
		Executor: "local", WorkDir: l.WorkDir(), Workflow: "cohort-count-cwl", Datasets: []string{"cohort-demo"},
		Request: wes.RunRequest{WorkflowURL: "cohort-count-cwl", WorkflowType: "CWL", WorkflowTypeVersion: "v1.2"},
		Provenance: &wes.Provenance{Workflow: "cohort-count-cwl", WorkflowVersion: "1.0.0", WorkflowName: "Count (CWL)",
			Engine: "cwltool", Files: []wes.ProvenanceFile{{Path: "cohort-count.cwl", SHA256: strings.Repeat("ab", 32)}},
			Datasets: []wes.ProvenanceDataset{{ID: "cohort-demo"}}}}
	if edit != nil {
		edit(r)
	}
	if err := h.store.Create(context.Background(), r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// heldOutput writes content as output p of run r's work dir and returns it as egress
// records a held file.
func (h *harness) heldOutput(r *wes.Run, p, content string) wes.Output {
	h.t.Helper()
	full := filepath.Join(r.WorkDir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o640); err != nil {
		h.t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return wes.Output{Path: p, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]), ContentType: "text/csv",
		Status: wes.OutputPending, ApprovalsRequired: 1,
		Checks: []wes.CheckResult{{Check: "min_cell_count", Passed: false, Detail: "row 2, column n: 3 < 5"}}}
}

func (h *harness) getRun(id string) *wes.Run {
	h.t.Helper()
	r, err := h.store.Get(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// finish moves a stored run to COMPLETE with outs as its egress result.
func (h *harness) finish(id string, outs ...wes.Output) {
	h.t.Helper()
	for _, st := range []wes.State{wes.StateInitializing, wes.StateRunning, wes.StateComplete} {
		_, err := h.store.Update(context.Background(), id, func(r *wes.Run) error {
			r.State = st
			if st == wes.StateComplete {
				r.Released = outs
				r.AddSystemLog("egress: outputs held for review in " + r.WorkDir)
			}
			return nil
		})
		if err != nil {
			h.t.Fatal(err)
		}
	}
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			t.Errorf("%s contains %q", what, b)
		}
	}
}
