package catalog_test

import (
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/catalog"
)

// The test catalogue's wf-a has two free-text strings (label, with only a maxLength, and
// opts.note); every other string is a dataset id, an enum or has a pattern.
func TestWarningsNameFreeTextParams(t *testing.T) {
	c, _ := mustLoad(t)
	got := c.Warnings()
	want := []string{"workflow wf-a: params_schema at /properties/label ", "workflow wf-a: params_schema at /properties/opts/properties/note "}
	if len(got) != len(want) {
		t.Fatalf("warnings = %q, want %d naming %q", got, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) || !strings.Contains(got[i], "free text") {
			t.Errorf("warning %d = %q, want it to start %q and say free text", i, got[i], want[i])
		}
	}
}

func TestWarningsFollowCombinatorsAndDefinitions(t *testing.T) {
	zone := newZone(t)
	doc := baseDoc(t)
	wf := workflow(doc, 2) // wf-open
	wf["params_schema"] = map[string]any{
		"type": "object", "additionalProperties": false,
		"$defs": map[string]any{"free": map[string]any{"type": "string"}, "tag": map[string]any{"type": "string", "pattern": "^[a-z]+$"}},
		"properties": map[string]any{
			"cohort": map[string]any{"type": "string", "x-enclave-dataset": true},
			"a":      map[string]any{"$ref": "#/$defs/tag"},
			"b":      map[string]any{"anyOf": []any{map[string]any{"type": "integer"}, map[string]any{"type": []any{"string", "null"}}}},
			"c":      map[string]any{"type": "array", "items": map[string]any{"type": "string", "format": "date"}},
			"d":      map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
			"e":      map[string]any{"description": "no type at all"},
			"f":      map[string]any{"type": "number"},
		},
	}
	c := loadDoc(t, zone, doc)
	var got []string
	for _, w := range c.Warnings() {
		if strings.HasPrefix(w, "workflow wf-open: ") {
			got = append(got, strings.Fields(w)[4])
		}
	}
	want := []string{"/properties/b/anyOf/1", "/properties/d/additionalProperties", "/properties/e", "/$defs/free"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("free-text params = %q, want %q", got, want)
	}
}

func loadDoc(t *testing.T, zone string, doc map[string]any) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Load(writeCatalog(t, zone, toYAML(t, doc)))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}
