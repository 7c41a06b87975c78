package runs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// zoneService is a service on the example catalogue with its data dir at dataDir.
func zoneService(tb testing.TB, dataDir string) *Service {
	tb.Helper()
	holder, err := catalog.NewHolder("../../examples/catalog/catalog.yaml", catalog.Options{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(Config{DataDir: dataDir}, Deps{Store: struct{ wes.RunStore }{}, Dispatcher: struct{ wes.Dispatcher }{},
		Engines: engines.NewRegistry(), Catalog: holder})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// A run's work dir is <workdir> under either of its names: the data dir configured
// through a symlink, and the resolved path tools print.
func TestWorkDirRewrittenUnderBothNames(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "data")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	real, _ = filepath.EvalSymlinks(real)
	s := zoneService(t, link)
	r := &wes.Run{ID: "r1", WorkDir: wes.LayoutFor(link, "r1").WorkDir()}
	if got := s.zoneRewriter(r).String(filepath.Join(real, "runs", "r1", "work", "x") + " " + r.WorkDir); got != "<workdir>/x <workdir>" {
		t.Errorf("work dir rewritten as %q", got)
	}
}

// What building a run's rewriter costs per request (the example catalogue's datasets,
// each resolved through symlinks).
func BenchmarkZoneRewriter(b *testing.B) {
	s := zoneService(b, b.TempDir())
	r := &wes.Run{ID: "r1", WorkDir: wes.LayoutFor(s.cfg.DataDir, "r1").WorkDir(), Datasets: []string{"cohort-demo"}}
	for b.Loop() {
		s.zoneRewriter(r)
	}
}
