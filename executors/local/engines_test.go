package local_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// lookEngine returns the engine's path, or skips the test where it is not installed
// (scripts/setup.sh installs snakemake and cwltool from Debian).
func lookEngine(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil || !strings.HasPrefix(p, "/usr/") {
		t.Skipf("%s is not installed from Debian here", name)
	}
	return p
}

// TestConfinedSnakemake runs a real Snakemake workflow confined: it reads its dataset,
// writes its work dir, and Snakemake's own needs (python's libraries, its .snakemake
// dir, tmp, /dev/null, /proc/self) are met.
func TestConfinedSnakemake(t *testing.T) {
	bin := lookEngine(t, "snakemake")
	inConfinedModes(t, func(t *testing.T, z *zone, policy string) {
		must(t, os.WriteFile(filepath.Join(z.work, "Snakefile"), []byte(`
rule all:
    input: "result.txt"

rule copy:
    input: "`+filepath.Join(z.dsA, "rows.csv")+`"
    output: "result.txt"
    shell: "cat {input} > {output}"
`), 0o644))
		job := z.job("snakemake", "")
		job.Argv = []string{bin, "--snakefile", "Snakefile", "--directory", ".", "--cores", "1", "--nocolor", "--nolock"}
		runConfinedEngine(t, z, policy, job)
	})
}

// TestConfinedCwltool runs a real cwltool workflow confined, with the flags the cwl
// engine gives it.
func TestConfinedCwltool(t *testing.T) {
	bin := lookEngine(t, "cwltool")
	inConfinedModes(t, func(t *testing.T, z *zone, policy string) {
		must(t, os.WriteFile(filepath.Join(z.work, "tool.cwl"), []byte(`cwlVersion: v1.2
class: CommandLineTool
baseCommand: cat
inputs:
  rows: {type: File, inputBinding: {position: 1}}
outputs:
  out: {type: stdout}
stdout: result.txt
`), 0o644))
		must(t, os.WriteFile(filepath.Join(z.work, "params.json"),
			[]byte(`{"rows": {"class": "File", "path": "`+filepath.Join(z.dsA, "rows.csv")+`"}}`), 0o644))
		job := z.job("cwltool", "")
		job.Argv = []string{bin, "--disable-color", "--skip-schemas", "--outdir", ".", "--basedir", ".",
			"--tmpdir-prefix", ".enclave/tmp/", "--no-container", "tool.cwl", "params.json"}
		runConfinedEngine(t, z, policy, job)
	})
}

// inConfinedModes runs f in each confined mode, with a fresh zone.
func inConfinedModes(t *testing.T, f func(t *testing.T, z *zone, policy string)) {
	for _, m := range confinementModes(t) {
		if m.confined {
			t.Run(m.name, func(t *testing.T) {
				m.simulate(t)
				f(t, newZone(t), m.policy)
			})
		}
	}
}

func runConfinedEngine(t *testing.T, z *zone, policy string, job *wes.Job) {
	t.Helper()
	st := run(t, z.executor(t, policy), job)
	if st.State != wes.JobSucceeded {
		t.Fatalf("%s confined: %s (%q)\nstderr:\n%s", filepath.Base(job.Argv[0]), st.State, st.Message, readFile(t, job.Stderr))
	}
	if got := readFile(t, filepath.Join(z.work, "result.txt")); got != "cohort a\n" {
		t.Errorf("result.txt = %q, want the dataset's row", got)
	}
}
