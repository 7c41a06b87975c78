package runs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/engines"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// testEnv is a Service on the real test Redis, with its audit trail there too, under a key
// prefix of its own that is removed when the test ends.
type testEnv struct {
	s       *Service
	store   *redisstore.Store
	trail   *audit.Log
	dataDir string
}

// newTestEnv builds a testEnv; edit, when given, changes the deps first (a catalogue).
func newTestEnv(t *testing.T, edit ...func(*Deps)) *testEnv {
	t.Helper()
	c := testutil.Redis(t)
	prefix := testutil.UniqueName("enclave-runs-test-") + ":"
	t.Cleanup(func() {
		if keys, err := c.Keys(context.Background(), prefix+"*").Result(); err == nil && len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	e := &testEnv{store: redisstore.New(c, redisstore.Options{Prefix: prefix}),
		trail: audit.New(c, audit.Options{Prefix: prefix}), dataDir: t.TempDir()}
	deps := Deps{Store: e.store, Dispatcher: struct{ wes.Dispatcher }{}, Engines: engines.NewRegistry(),
		Audit: e.trail, AuditLog: e.trail}
	for _, f := range edit {
		f(&deps)
	}
	var err error
	if e.s, err = New(Config{DataDir: e.dataDir}, deps); err != nil {
		t.Fatal(err)
	}
	return e
}

// exampleCatalog copies the example catalogue, makes each edit (old text → new, in
// order, each once) to its catalog.yaml, and loads it. It returns the holder and the
// copy's directory. An edit whose old text is gone fails the test: the example changed.
func exampleCatalog(t *testing.T, edits ...[2]string) (*catalog.Holder, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "catalog")
	if out, err := exec.Command("cp", "-r", "../../examples/catalog", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy the example catalogue: %v %s", err, out)
	}
	p := filepath.Join(dir, "catalog.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	for _, e := range edits {
		if !strings.Contains(y, e[0]) {
			t.Fatalf("the example catalogue changed; update this test (%q)", e[0])
		}
		y = strings.Replace(y, e[0], e[1], 1)
	}
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := catalog.NewHolder(p, catalog.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h, dir
}
