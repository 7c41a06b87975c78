package wesclient_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/internal/testsupport/apptest"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

func TestMain(m *testing.M) {
	// The in-process server starts jobs through this test binary (local.SelfShim), as
	// the real binary does through itself.
	local.MaybeShim()
	os.Exit(m.Run())
}

// startServer runs a whole Enclave (API and worker) in this process on a free loopback
// port, with the tests' real Redis, the example catalogue and zone mode open, after
// edit (if any) changed its configuration, and returns its root URL.
func startServer(t *testing.T, edit func(*config.Config)) string {
	t.Helper()
	catalog, err := filepath.Abs("../../examples/catalog/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := apptest.Config(t, "wesclient", t.TempDir())
	cfg.Zone.Mode = "open"
	cfg.Zone.Catalog = catalog
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return "http://" + apptest.Start(t, cfg)
}

// needEngines skips the test when an engine the example workflows use is missing.
func needEngines(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := os.Stat("/usr/bin/" + n); err != nil {
			t.Skipf("SKIP: %s is not installed at /usr/bin/%s", n, n)
		}
	}
}

// recorder is an http.RoundTripper that notes the Authorization header of every request
// it passes on, by host, so a test sees what really went over the wire.
type recorder struct {
	mu   sync.Mutex
	seen []string // "host authorization"
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.URL.Host+" "+req.Header.Get("Authorization"))
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.seen
	r.seen = nil
	return s
}

// client returns a client of url with token (none when "") whose requests rec records.
func client(t *testing.T, url, token string, rec *recorder) *wesclient.Client {
	t.Helper()
	var opts []wesclient.Option
	if rec != nil {
		opts = append(opts, wesclient.WithHTTPClient(&http.Client{Transport: rec}))
	}
	if token != "" {
		opts = append(opts, wesclient.WithToken(token))
	}
	c, err := wesclient.New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantError requires err to be an answer of the server with status whose message
// mentions mention.
func wantError(t *testing.T, what string, err error, status int, mention string) {
	t.Helper()
	var e *wesclient.Error
	switch {
	case err == nil:
		t.Errorf("%s: no error; want %d", what, status)
	case !errors.As(err, &e):
		t.Errorf("%s: %v is not a *wesclient.Error", what, err)
	case e.Status != status || int(e.Response.StatusCode) != status:
		t.Errorf("%s: status %d, ErrorResponse.status_code %d (%v); want %d", what, e.Status, e.Response.StatusCode, err, status)
	case !strings.Contains(strings.ToLower(e.Response.Msg), strings.ToLower(mention)):
		t.Errorf("%s: msg %q does not mention %q", what, e.Response.Msg, mention)
	case wesclient.StatusOf(err) != status:
		t.Errorf("%s: StatusOf %d; want %d", what, wesclient.StatusOf(err), status)
	}
}
