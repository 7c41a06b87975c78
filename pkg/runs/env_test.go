package runs

import (
	"context"
	"testing"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
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
