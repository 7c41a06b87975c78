package nextflow_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
	"github.com/spe4hd/enclave/pkg/engines/nextflow"
)

func TestProcessNames(t *testing.T) {
	l := enginetest.NewRun(t, "r1", "")
	w := l.WorkDir()
	enginetest.WriteFile(t, w, "main.nf", `
include { ALIGN; SORT as SORT_BAM } from './modules/align'
include { QC } from "./modules/qc"
include { REMOTE } from 'plugin/nf-remote'
include { ESCAPE } from '../../outside.nf'

process sayHello {
    tag "$sample"
    script: "echo hi"
}

workflow PIPELINE {
    sayHello()
}

workflow {
    PIPELINE()
}
`)
	enginetest.WriteFile(t, w, "modules/align.nf", "process ALIGN {\n}\nprocess SORT {\n}\nprocess HELPER {\n}\n")
	enginetest.WriteFile(t, w, "modules/qc/main.nf", "process QC {\n}\nworkflow QC_SUB {\n}\n")
	enginetest.WriteFile(t, l.Root, "outside.nf", "process OUTSIDE {\n}\n")
	var got []string
	for n := range nextflow.ProcessNames(engines.Workflow{WorkDir: w, Main: "main.nf"}) {
		got = append(got, n)
	}
	slices.Sort(got)
	if want := "ALIGN ESCAPE HELPER PIPELINE QC QC_SUB REMOTE SORT SORT_BAM sayHello"; strings.Join(got, " ") != want {
		t.Errorf("ProcessNames = %q, want %q", got, want)
	}
}

// A trace row's name is shown only as a declared (qualified) process, with Nextflow's
// own index as its tag; a tag directive's value (a sample's name) is dropped.
func TestSafeTasks(t *testing.T) {
	l := enginetest.NewRun(t, "r1", "")
	w := l.WorkDir()
	enginetest.WriteFile(t, w, "main.nf", "process sayHello {\n}\nworkflow PIPELINE {\n}\n")
	trace := "task_id\thash\tname\tstatus\texit\tsubmit\tstart\tcomplete\n" +
		"1\tab/cdef12\tsayHello (1)\tCOMPLETED\t0\t1700000000000\t1700000001000\t1700000002000\n" +
		"2\tab/cdef13\tPIPELINE:sayHello (Jane Roe 1961-02-03)\tCOMPLETED\t0\t-\t-\t-\n" +
		"3\tab/cdef14\tJane_Roe (1)\tFAILED\t1\t-\t-\t-\n" +
		"4711 Jane\tab/cdef15\tsayHello\tCOMPLETED\t0\t-\t-\t-\n"
	if err := os.MkdirAll(filepath.Join(w, ".enclave"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w, ".enclave", "trace.tsv"), []byte(trace), 0o644); err != nil {
		t.Fatal(err)
	}
	e := nextflow.New(nextflow.Config{}, nil)
	wf := engines.Workflow{WorkDir: w, Main: "main.nf", Pins: enginetest.Pins(t, w, "main.nf")}
	tasks, err := engines.Tasks(context.Background(), e, wf)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range tasks {
		got = append(got, tk.ID+"/"+tk.Name)
	}
	if want := "1/sayHello (1)|2/PIPELINE:sayHello|3/|task-4/sayHello"; strings.Join(got, "|") != want {
		t.Errorf("tasks = %q, want %q", got, want)
	}
}
