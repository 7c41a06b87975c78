package catalog_test

import (
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/catalog"
)

// An entry's outputs.checks are loaded into its output policy, and a check that cannot
// work is refused at load with the key that names it.
func TestOutputChecks(t *testing.T) {
	zone := newZone(t)
	good := strings.Replace(baseYAML, "outputs: {globs: [results/out.txt]}",
		"outputs: {globs: [results/out.txt], checks: {min_cell_count: 5, count_columns: [n], dataset_overlap: true, deny_patterns: ['^\\d{8}$']}}", 1)
	c, err := catalog.Load(writeCatalog(t, zone, good))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, id := range []string{"wf-open", "wf-a", "wf-b"} {
		if e, ok := c.Entry(id); ok && e.Outputs.Checks != nil {
			ch := e.Outputs.Checks
			found = ch.MinCellCount == 5 && ch.DatasetOverlap && len(ch.DenyPatterns) == 1
		}
	}
	if !found {
		t.Fatal("no entry carries the declared checks")
	}
	bad := strings.Replace(baseYAML, "outputs: {globs: [results/out.txt]}",
		"outputs: {globs: [results/out.txt], checks: {deny_patterns: ['(']}}", 1)
	if _, err := catalog.Load(writeCatalog(t, newZone(t), bad)); err == nil || !strings.Contains(err.Error(), "outputs.checks.deny_patterns[0]") {
		t.Errorf("a bad pattern: %v", err)
	}
}
