package catalog_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/wes"
)

// A run's provenance names the entry's version and every pinned file with its sha256,
// and each dataset with the version and checksum the catalogue declares, and no path.
func TestProvenance(t *testing.T) {
	zone := newZone(t)
	doc := baseDoc(t)
	sum := "sha256:" + strings.Repeat("ab", 32)
	dataset(doc, 0)["version"] = "2024-06"
	dataset(doc, 0)["checksum"] = sum
	c, err := catalog.Load(writeCatalog(t, zone, toYAML(t, doc)))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := c.Provenance("wf-a", []string{"ds-a", "ds-dir", "gone"})
	if !ok {
		t.Fatal("no provenance for wf-a")
	}
	if p.Workflow != "wf-a" || p.WorkflowVersion != "1.0" || p.Main != "Snakefile" || p.WorkflowType != "SMK" {
		t.Errorf("entry part: %+v", p)
	}
	want := []wes.ProvenanceFile{{Path: "Snakefile", SHA256: sha(t, zone, "wf/a/Snakefile")},
		{Path: "lib/helper.py", SHA256: sha(t, zone, "wf/a/lib/helper.py")}}
	if !slices.Equal(p.Files, want) {
		t.Errorf("files %+v, want %+v", p.Files, want)
	}
	wantDS := []wes.ProvenanceDataset{{ID: "ds-a", Version: "2024-06", Checksum: sum}, {ID: "ds-dir"}, {ID: "gone"}}
	if !slices.Equal(p.Datasets, wantDS) {
		t.Errorf("datasets %+v, want %+v", p.Datasets, wantDS)
	}
	if _, ok := c.Provenance("nope", nil); ok {
		t.Error("provenance of an unknown entry")
	}
}

// A declared dataset checksum must be sha256:<64 hex>; anything else is a load problem.
func TestDatasetChecksumForm(t *testing.T) {
	zone := newZone(t)
	doc := baseDoc(t)
	dataset(doc, 1)["checksum"] = "md5:abc"
	_, err := catalog.Load(writeCatalog(t, zone, toYAML(t, doc)))
	ps := problems(t, err)
	if len(ps) != 1 || !strings.Contains(ps[0], "datasets[ds-b].checksum: must be sha256:") {
		t.Errorf("problems %q", ps)
	}
}

func sha(t *testing.T, zone, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(zone, rel))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
