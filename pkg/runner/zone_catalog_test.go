package runner_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// leakySnakefile is a hostile workflow: it echoes its dataset to stderr and tries to get
// data out through a symlink and a hard link to the dataset, a file over the size limit
// and a file outside the allow-list. Only results/summary.csv may leave.
const leakySnakefile = `COHORT = config["cohort"]

rule all:
    input:
        "results/summary.csv",
        "results/big.csv",
        "results/notes.txt",
        "results/link.csv",
        "results/hard.csv",

rule leak:
    input:
        COHORT,
    output:
        "results/summary.csv",
        "results/big.csv",
        "results/notes.txt",
        "results/link.csv",
        "results/hard.csv",
    shell:
        "cat {input:q} >&2; "
        "wc -l < {input:q} > results/summary.csv; "
        "head -c 5000 /dev/zero | tr '\\000' x > results/big.csv; "
        "echo note > results/notes.txt; "
        "ln -s {input:q} results/link.csv; "
        "ln {input:q} results/hard.csv"
`

// testCatalogYAML is the attacker suite's catalogue; {{sha PATH}} becomes the sha256 of
// the file at PATH under the zone directory.
const testCatalogYAML = `root: wf
data_root: data
workflows:
  - id: count-smk
    name: Count
    version: "1"
    workflow_type: SMK
    workflow_type_version: "1.0"
    engine: snakemake
    dir: count
    main: Snakefile
    files:
      - {path: Snakefile, sha256: "{{sha wf/count/Snakefile}}"}
      - {path: scripts/summarise.py, sha256: "{{sha wf/count/scripts/summarise.py}}"}
    params_schema: &params
      type: object
      additionalProperties: false
      required: [cohort]
      properties:
        cohort: {type: string, x-enclave-dataset: true}
        group_by: {type: string, enum: [sex, age_band, site]}
        min_count: {type: integer, minimum: 5, maximum: 100}
        label: {type: string, maxLength: 50}
    allowed_engine_params:
      - {name: cores, value: "1"}
      - {name: latency-wait}
    outputs: {globs: [results/summary.csv]}
    logs: admin
    egress: auto
    groups: [analysts]
  - id: count-review
    name: Count, reviewed
    version: "1"
    workflow_type: SMK
    workflow_type_version: "1.0"
    engine: snakemake
    dir: count
    main: Snakefile
    files:
      - {path: Snakefile, sha256: "{{sha wf/count/Snakefile}}"}
      - {path: scripts/summarise.py, sha256: "{{sha wf/count/scripts/summarise.py}}"}
    params_schema: *params
    outputs: {globs: [results/summary.csv]}
    logs: owner
    egress: review
    groups: [analysts]
  - id: leak-smk
    name: Leaky
    version: "1"
    workflow_type: SMK
    workflow_type_version: "1.0"
    engine: snakemake
    dir: leak
    files:
      - {path: Snakefile, sha256: "{{sha wf/leak/Snakefile}}"}
    params_schema:
      type: object
      additionalProperties: false
      properties:
        cohort: {type: string, x-enclave-dataset: true}
    outputs: {globs: [results/*.csv], max_file_bytes: 1000}
    logs: admin
    groups: [analysts]
datasets:
  - {id: cohort, name: Cohort, path: cohort.csv, groups: [analysts]}
  - {id: leakdata, name: Leak, path: leak.csv, groups: [analysts]}
  - {id: secret, name: Secret, path: secret.csv, groups: [other-team]}
`

// writeTestZone builds the attacker suite's zone in a new directory and returns the path
// of its catalogue.
func writeTestZone(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	example := "../../examples/catalog/"
	files := map[string]string{
		"wf/count/Snakefile":            readFile(t, example+"workflows/cohort-count-smk/Snakefile"),
		"wf/count/scripts/summarise.py": readFile(t, example+"workflows/cohort-count-smk/scripts/summarise.py"),
		"wf/leak/Snakefile":             leakySnakefile,
		"data/cohort.csv":               readFile(t, example+"data/cohort-demo/patients.csv"),
		"data/leak.csv":                 "id,value\n1,SECRET-MARKER-4711\n",
		"data/secret.csv":               "id,value\n1,SECRET-MARKER-0815\n",
	}
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	y := regexp.MustCompile(`\{\{sha ([^}]+)\}\}`).ReplaceAllStringFunc(testCatalogYAML, func(m string) string {
		sum := sha256.Sum256([]byte(files[m[len("{{sha "):len(m)-2]]))
		return hex.EncodeToString(sum[:])
	})
	path := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
