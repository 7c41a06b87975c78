package catalog_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"slices"
	"testing"

	"github.com/spe4hd/enclave/pkg/catalog"
)

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Each Reload tells its OnReload hook what it added, removed and changed, with the
// file's sha256, and a refused file is reported too, with its sha256 and the error.
func TestHolderReportsWhatAReloadChanged(t *testing.T) {
	zone := newZone(t)
	path := writeCatalog(t, zone, baseYAML)
	h, err := catalog.NewHolder(path, catalog.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := h.Catalog().Fingerprint()
	if first.SHA256 != fileSHA256(t, path) || len(first.Workflows) != 3 || len(first.Datasets) != 4 || len(first.Rules) != 1 {
		t.Fatalf("fingerprint of the base catalogue: %+v", first)
	}
	var got []catalog.Reload
	h.OnReload(func(r catalog.Reload) { got = append(got, r) })

	// wf-b leaves, wf-a gains a group, ds-b moves, a second rule comes first.
	doc := baseDoc(t)
	workflow(doc, 0)["groups"] = []any{"team-a", "team-c"}
	doc["workflows"] = slices.Delete(doc["workflows"].([]any), 1, 2)
	dataset(doc, 1)["path"] = "dir"
	doc["policy"] = append([]any{map[string]any{"groups": []any{"team-c"}, "workflows": []any{"wf-a"}}}, doc["policy"].([]any)...)
	writeCatalog(t, zone, toYAML(t, doc))
	if err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "workflows: [{id: BAD}]\n")
	if h.Reload() == nil {
		t.Fatal("a bad file was taken")
	}

	if len(got) != 2 {
		t.Fatalf("OnReload calls: %+v", got)
	}
	ok, bad := got[0], got[1]
	want := catalog.Change{
		Workflows: catalog.Diff{Removed: []string{"wf-b"}, Changed: []string{"wf-a"}},
		Datasets:  catalog.Diff{Changed: []string{"ds-b"}},
		Rules:     catalog.Diff{Added: []string{"#1"}},
	}
	if ok.Err != nil || ok.Previous.SHA256 != first.SHA256 || ok.SHA256 == first.SHA256 || ok.Current.SHA256 != ok.SHA256 ||
		!equalChange(ok.Change, want) {
		t.Errorf("reload: %+v\nwant change %+v", ok, want)
	}
	if bad.Err == nil || bad.SHA256 != fileSHA256(t, path) || bad.Previous.SHA256 != ok.SHA256 || !bad.Change.Workflows.Empty() {
		t.Errorf("refused reload: %+v", bad)
	}
}

func equalChange(a, b catalog.Change) bool {
	eq := func(x, y catalog.Diff) bool {
		return slices.Equal(x.Added, y.Added) && slices.Equal(x.Removed, y.Removed) && slices.Equal(x.Changed, y.Changed)
	}
	return eq(a.Workflows, b.Workflows) && eq(a.Datasets, b.Datasets) && eq(a.Rules, b.Rules)
}

func TestCompareRules(t *testing.T) {
	old := catalog.Fingerprint{Rules: []string{"r1", "r2", "r2"}}
	cur := catalog.Fingerprint{Rules: []string{"r2", "r3", "r1"}}
	d := catalog.Compare(old, cur).Rules
	if !slices.Equal(d.Added, []string{"#2"}) || !slices.Equal(d.Removed, []string{"#3"}) || len(d.Changed) != 0 {
		t.Errorf("rules diff %+v", d)
	}
}
