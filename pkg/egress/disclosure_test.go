package egress_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/egresstest"
	"github.com/spe4hd/enclave/pkg/egress/s3"
	"github.com/spe4hd/enclave/pkg/wes"
)

// auditLog is a wes.Auditor that keeps the events.
type auditLog struct{ events }

func (a *auditLog) Record(_ context.Context, e wes.AuditEvent) error {
	a.add(e)
	return nil
}

// The automatic disclosure checks stand between a run's end and the real object store:
// under egress auto a table with a count of 3 (min_cell_count 5) and one that copies a row
// of the run's input dataset stay in the zone, each refusal audited, while a clean
// aggregate is released to MinIO with its results; under egress review the same files are
// held with their results flagged for the reviewer.
func TestDisclosureChecksAtEgress(t *testing.T) {
	ctx := t.Context()
	store, err := s3.New(ctx, egresstest.S3Config(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := filepath.Join(t.TempDir(), "cohort")
	if err := os.MkdirAll(ds, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ds, "patients.csv"), []byte("id,age,diagnosis\np001,71,C50\np002,64,C18\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := wes.OutputPolicy{Globs: []string{"results/**"}, Checks: &wes.DisclosureChecks{
		MinCellCount: 5, CountColumns: []string{"n"}, DatasetOverlap: true}}
	for _, mode := range []string{wes.EgressAuto, wes.EgressReview} {
		t.Run(mode, func(t *testing.T) {
			z := newZone(t)
			z.file("results/clean.csv", "diagnosis,n\nC50,12\nC18,<5\n")
			z.file("results/small.csv", "diagnosis,n\nC50,3\n")
			z.file("results/copied.csv", "id,age,diagnosis,n\np002,64,C18,9\n")
			z.file("results/notes.txt", "not a table: not checked\n")
			trail := &auditLog{}
			g := &egress.Releaser{Results: store, Audit: trail}
			run := &wes.Run{ID: "r-" + mode, Owner: "alice", Workflow: "wf", Datasets: []string{"cohort"}}
			outs, note, err := g.Finish(ctx, run, z.work, pol, mode, []string{ds})
			if err != nil {
				t.Fatal(err)
			}
			byPath := map[string]wes.Output{}
			for _, o := range outs {
				byPath[o.Path] = o
			}
			failed := func(p string) []string {
				var names []string
				for _, c := range byPath[p].Checks {
					if !c.Passed {
						names = append(names, c.Check)
					}
				}
				return names
			}
			if mode == wes.EgressAuto {
				if _, ok := byPath["results/small.csv"]; ok {
					t.Error("a table with a count of 3 was released")
				}
				if _, ok := byPath["results/copied.csv"]; ok {
					t.Error("a table holding a dataset row was released")
				}
				if o := byPath["results/clean.csv"]; o.Status != wes.OutputReleased || len(o.Checks) != 2 || len(failed(o.Path)) != 0 {
					t.Errorf("clean table: %+v", o)
				}
				if o := byPath["results/notes.txt"]; o.Status != wes.OutputReleased || o.Checks != nil {
					t.Errorf("unchecked text file: %+v", o)
				}
				for p, check := range map[string]string{"results/small.csv": "min_cell_count (row 1, column n)",
					"results/copied.csv": "dataset_overlap (row 1 is a row of an input dataset)"} {
					ev := trail.find(egress.ActionRefuse, p)
					if ev == nil || ev.Detail["kind"] != egress.RefuseCheck || !strings.Contains(ev.Reason, check) {
						t.Errorf("refusal of %s: %+v, want one naming %s", p, ev, check)
					}
				}
				if !strings.Contains(note, "2 file(s) failed the workflow's disclosure checks") {
					t.Errorf("note %q", note)
				}
				if got, err := readKey(t, store, byPath["results/clean.csv"].Key); err != nil || !strings.Contains(got, "C18,<5") {
					t.Errorf("released object: %q %v", got, err)
				}
				return
			}
			for p, want := range map[string][]string{"results/small.csv": {"min_cell_count"}, "results/copied.csv": {"dataset_overlap"}, "results/clean.csv": nil} {
				if o := byPath[p]; o.Status != wes.OutputPending || !slices.Equal(failed(p), want) {
					t.Errorf("%s held as %+v, want pending with failed checks %v", p, o, want)
				}
			}
			if ev := trail.find(egress.ActionHold, "results/small.csv"); ev == nil || !strings.HasPrefix(ev.Detail["checks"], "failed: min_cell_count") {
				t.Errorf("hold of the small table: %+v", ev)
			}
		})
	}
}
