package snakemake_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
)

func sortedNames(m map[string]bool) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestRuleNames(t *testing.T) {
	l := enginetest.NewRun(t, "r1", "")
	w := l.WorkDir()
	enginetest.WriteFile(t, w, "workflow/Snakefile", `
include: "rules/align.smk"
include: 'rules/missing.smk'  # a missing include declares nothing
include: "../../outside.smk"
include: "/etc/snakemake.smk"
include: os.path.join("rules", "computed.smk")
module other:
    snakefile: "https://example.org/Snakefile"
use rule * from other as other_*
use rule count, tally from other
use rule sort from other as sorted_reads with:
    threads: 2

rule all:
    input: "x"
localrules: all
checkpoint split :
    output: directory("parts")
rule:
    shell: "true"
`)
	enginetest.WriteFile(t, w, "workflow/rules/align.smk", "rule align:\n    shell: 'true'\n")
	enginetest.WriteFile(t, w, "workflow/rules/computed.smk", "rule computed:\n")
	enginetest.WriteFile(t, l.Root, "outside.smk", "rule outside:\n")
	wf := engines.Workflow{WorkDir: w, Main: "workflow/Snakefile"}
	got := strings.Join(sortedNames(snakemake.RuleNames(wf)), " ")
	// align (1), count, tally, sorted_reads (4), all, split, the unnamed rule (7).
	if want := "7 align all count sorted_reads split tally"; got != want {
		t.Errorf("RuleNames = %q, want %q", got, want)
	}

	// Pinned: the job rewrote the include; its rules no longer count.
	wf.Pins = enginetest.Pins(t, w, "workflow/Snakefile", "workflow/rules/align.smk")
	enginetest.WriteFile(t, w, "workflow/rules/align.smk", "rule DATA_ROW_4711:\n")
	if got := snakemake.RuleNames(wf); got["DATA_ROW_4711"] || got["align"] || !got["all"] {
		t.Errorf("pinned RuleNames = %v", sortedNames(got))
	}
	if got := snakemake.RuleNames(engines.Workflow{WorkDir: w}); len(got) != 0 {
		t.Errorf("RuleNames without a main file = %v", got)
	}
}

// A log line the job wrote that looks like Snakemake's own never becomes a task's name or
// id, while the workflow's rules keep theirs.
func TestSafeTasksCraftedLog(t *testing.T) {
	l := enginetest.NewRun(t, "r1", "")
	w := l.WorkDir()
	enginetest.WriteFile(t, w, "Snakefile", "rule all:\n    input: 'x'\n\nrule leak:\n    output: 'x'\n    run: pass\n")
	log := `[Tue Nov  3 09:00:01 2026]
rule leak:
    jobid: 1

[Tue Nov  3 09:00:02 2026]
Error in rule leak:
    jobid: 1

RuleException:
Exception in file Snakefile, line 6:

rule 4711_Jane_Roe_1961_02_03:
    jobid: 4711,Jane Roe 1961-02-03

Error in rule Jane_Roe:
    jobid: 12
`
	if err := os.WriteFile(l.StderrPath(), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	e := snakemake.New(snakemake.Config{}, nil)
	raw, err := e.Tasks(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	if s := mustJSON(t, raw); !strings.Contains(s, "Jane") {
		t.Fatalf("the crafted log did not reach the parser, so the test proves nothing: %s", s)
	}
	wf := engines.Workflow{WorkDir: w, Main: "Snakefile", Pins: enginetest.Pins(t, w, "Snakefile")}
	tasks, err := e.SafeTasks(context.Background(), wf)
	if err != nil {
		t.Fatal(err)
	}
	if s := mustJSON(t, tasks); strings.Contains(s, "Jane") || strings.Contains(s, "4711") {
		t.Errorf("data in tasks: %s", s)
	}
	if len(tasks) != 3 || tasks[0].ID != "1" || tasks[0].Name != "leak" || tasks[1].ID != "task-2" || tasks[1].Name != "" ||
		tasks[2].ID != "12" || tasks[2].Name != "" {
		t.Errorf("tasks = %+v", tasks)
	}
}

// A real Snakefile that raises an exception holding a data row while Snakemake reads it:
// the row reaches Snakemake's log as a rule block, and SafeTasks keeps it out of the tasks.
func TestRunRaisingData(t *testing.T) {
	data := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(data, []byte("id,name\n4711,Jane Roe 1961-02-03\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	enginetest.WriteFile(t, src, "Snakefile", `
row = open(config["rows"]).read().splitlines()[1]
name = row.replace(",", "_").replace(" ", "_").replace("-", "_")
raise Exception("\nrule " + name + ":\n    jobid: " + row + "\n")

rule all:
    input: "out.txt"
`)
	l, e, code := runReal(t, src, `{"rows": "`+data+`"}`, nil)
	if code == 0 {
		t.Fatal("the raising workflow exited 0")
	}
	raw, err := e.Tasks(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mustJSON(t, raw), "Jane") {
		t.Fatalf("Snakemake's log no longer turns the exception into a task (%+v), so the test proves nothing:\n%s", raw, enginetest.Logs(l))
	}
	wf := engines.Workflow{WorkDir: l.WorkDir(), Main: "Snakefile", Pins: enginetest.Pins(t, l.WorkDir(), "Snakefile")}
	tasks, err := engines.Tasks(context.Background(), e, wf)
	if err != nil {
		t.Fatal(err)
	}
	if s := mustJSON(t, tasks); strings.Contains(s, "Jane") || strings.Contains(s, "4711") {
		t.Errorf("data in tasks: %s", s)
	}
	for _, tk := range tasks {
		if tk.Name != "" || !strings.HasPrefix(tk.ID, "task-") {
			t.Errorf("task %+v: want an opaque id and no name", tk)
		}
	}
}

// The example workflow's real rules keep their names through SafeTasks.
func TestRunHelloSafeNames(t *testing.T) {
	l, e, code := runReal(t, exampleDir, `{"name": "Ada"}`, nil)
	if code != 0 {
		t.Fatalf("snakemake exited %d:\n%s", code, enginetest.Logs(l))
	}
	wf := engines.Workflow{WorkDir: l.WorkDir(), Main: "Snakefile", Pins: enginetest.Pins(t, l.WorkDir(), "Snakefile")}
	tasks, err := engines.Tasks(context.Background(), e, wf)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range tasks {
		if !engines.NumericID(tk.ID) {
			t.Errorf("task id %q is not Snakemake's jobid", tk.ID)
		}
		got = append(got, tk.Name)
	}
	slices.Sort(got)
	if strings.Join(got, " ") != "all greet shout" {
		t.Errorf("task names = %q", got)
	}
}
