package catalog_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/spe4hd/enclave/pkg/catalog"
)

// zoneFiles are the files of the test zone: workflows and datasets.
var zoneFiles = map[string]string{
	"wf/a/Snakefile":     "rule all:\n    shell: 'true'\n",
	"wf/a/lib/helper.py": "print('helper')\n",
	"wf/b/main.cwl":      "cwlVersion: v1.2\nclass: Workflow\n",
	"wf/open/Snakefile":  "rule all:\n    shell: 'true'\n",
	"data/a.csv":         "id,x\n1,2\n",
	"data/b.csv":         "id,x\n3,4\n",
	"data/open.csv":      "id,x\n5,6\n",
	"data/dir/part1.csv": "id,x\n7,8\n",
}

// baseYAML is a valid catalogue over zoneFiles; {{sha PATH}} becomes the file's sha256.
const baseYAML = `
root: wf
data_root: data
workflows:
  - id: wf-a
    name: Workflow A
    description: the main test workflow
    version: "1.0"
    workflow_type: SMK
    workflow_type_version: "1.0"
    engine: snakemake
    dir: a
    files:
      - {path: Snakefile, sha256: "{{sha wf/a/Snakefile}}"}
      - {path: lib/helper.py, sha256: "{{sha wf/a/lib/helper.py}}"}
    params_schema:
      type: object
      additionalProperties: false
      required: [cohort]
      properties:
        cohort: {type: string, x-enclave-dataset: true}
        cohorts:
          type: array
          items: {type: string, x-enclave-dataset: true}
        sample: {type: string, pattern: "^S[0-9]+$"}
        label: {type: string, maxLength: 200}
        ref: {type: string, pattern: "^/refs/[a-z]+$"}
        mode: {type: string, enum: [fast, slow]}
        count: {type: integer, minimum: 1, maximum: 10}
        opts:
          type: object
          properties:
            note: {type: string}
    allowed_engine_params:
      - {name: cores, value: "1"}
      - {name: keep-going}
    outputs: {globs: [results/**/*.csv], max_file_bytes: 1000}
    resources: {cpus: 2, memory_mb: 256, time_limit: 5m}
    groups: [team-a]
  - id: wf-b
    name: Workflow B
    version: "2.0"
    workflow_type: CWL
    workflow_type_version: v1.2
    engine: cwltool
    dir: b
    files:
      - {path: main.cwl, sha256: "{{sha wf/b/main.cwl}}"}
    params_schema:
      type: object
      additionalProperties: false
      properties:
        cohort: {type: string, x-enclave-dataset: true}
        dirs:
          type: array
          items: {type: string, x-enclave-dataset: true}
    outputs: {globs: [outputs/summary.csv]}
    logs: owner
    egress: review
    groups: [team-b]
  - id: wf-open
    name: Open workflow
    version: "1.0"
    workflow_type: SMK
    workflow_type_version: "1.0"
    engine: snakemake
    dir: open
    files:
      - {path: Snakefile, sha256: "{{sha wf/open/Snakefile}}"}
    params_schema:
      type: object
      additionalProperties: false
      properties:
        cohort: {type: string, x-enclave-dataset: true}
    outputs: {globs: [results/out.txt]}
datasets:
  - {id: ds-a, name: Dataset A, path: a.csv, groups: [team-a]}
  - {id: ds-b, name: Dataset B, path: b.csv, groups: [team-b]}
  - {id: ds-open, name: Open dataset, description: for every researcher, path: open.csv}
  - {id: ds-dir, name: A directory, path: dir, groups: [team-a, team-b]}
policy:
  - roles: [researcher]
    workflows: [wf-open]
    datasets: [ds-open]
`

var shaRef = regexp.MustCompile(`\{\{sha ([^}]+)\}\}`)

// newZone writes zoneFiles under a temp dir and returns its absolute path.
func newZone(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range zoneFiles {
		writeFile(t, filepath.Join(dir, rel), content)
	}
	return dir
}

// writeCatalog writes text (with {{sha PATH}} filled in from the files under zone) as
// zone/catalog.yaml and returns its path.
func writeCatalog(t testing.TB, zone, text string) string {
	t.Helper()
	text = shaRef.ReplaceAllStringFunc(text, func(m string) string {
		rel := shaRef.FindStringSubmatch(m)[1]
		data, err := os.ReadFile(filepath.Join(zone, rel))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:])
	})
	p := filepath.Join(zone, "catalog.yaml")
	writeFile(t, p, text)
	return p
}

// mustLoad builds a zone with the base catalogue and loads it.
func mustLoad(t testing.TB) (*catalog.Catalog, string) {
	t.Helper()
	zone := newZone(t)
	c, err := catalog.Load(writeCatalog(t, zone, baseYAML))
	if err != nil {
		t.Fatalf("Load of the base catalogue: %v", err)
	}
	return c, zone
}

// baseDoc returns baseYAML as a generic document, for tests that change one field.
func baseDoc(t testing.TB) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(baseYAML), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func toYAML(t testing.TB, doc map[string]any) string {
	t.Helper()
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// workflow returns the i-th workflow of doc.
func workflow(doc map[string]any, i int) map[string]any {
	return doc["workflows"].([]any)[i].(map[string]any)
}

func dataset(doc map[string]any, i int) map[string]any {
	return doc["datasets"].([]any)[i].(map[string]any)
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// problems returns the problems of a failed Load, failing the test for any other outcome.
func problems(t testing.TB, err error) []string {
	t.Helper()
	var le *catalog.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Load error = %v (%T), want a *LoadError", err, err)
	}
	return le.Problems
}

// assertNoZonePath fails when s names a place inside the zone.
func assertNoZonePath(t testing.TB, s, zone string) {
	t.Helper()
	if strings.Contains(s, zone) || strings.Contains(s, "/data/") || strings.Contains(s, ".csv") {
		t.Errorf("message names a zone path: %q", s)
	}
}
