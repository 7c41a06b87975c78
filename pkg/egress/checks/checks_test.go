package checks

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

func results(t *testing.T, spec wes.DisclosureChecks, ix *RowIndex, name, body string) map[string]wes.CheckResult {
	t.Helper()
	c, err := Compile(spec, ix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]wes.CheckResult{}
	for _, r := range c.Check(name, strings.NewReader(body)) {
		out[r.Check] = r
	}
	return out
}

func TestMinCellCount(t *testing.T) {
	spec := wes.DisclosureChecks{MinCellCount: 5, CountColumns: []string{"n"}}
	for _, tc := range []struct {
		body   string
		passed bool
		detail string
	}{
		{"group,n\na,12\nb,5\n", true, ""},
		{"group,n\na,12\nb,3\n", false, "row 2, column n"},
		{"group,n\na,12\nb,<5\nc,*\nd,NA\ne,\n", true, ""},
		{"group,n\na,<6\n", false, "row 1, column n"}, // a suppression above the threshold says too much
		{"group,n\na,0\n", false, "row 1, column n"},
		{"group,n\na,2.5\n", false, "row 1, column n"},
		{"group,count\na,1\n", false, "a count column named by the workflow is missing"},
	} {
		r := results(t, spec, nil, "out/table.csv", tc.body)[MinCellCount]
		if r.Passed != tc.passed || r.Detail != tc.detail {
			t.Errorf("%q: %+v, want passed %v detail %q", tc.body, r, tc.passed, tc.detail)
		}
	}
}

func TestRowsColumnsPatterns(t *testing.T) {
	spec := wes.DisclosureChecks{MaxRows: 2, ForbiddenColumns: []string{"Patient_ID"},
		DenyPatterns: []string{`^\d{4}-\d{2}-\d{2}$`}}
	got := results(t, spec, nil, "t.tsv", "patient_id\tdob\tn\nx\t1970-01-02\t7\ny\tz\t8\nw\tv\t9\n")
	want := map[string]string{
		ForbiddenColumns: "column patient_id",
		MaxRows:          "more than 2 rows",
		DenyPatterns:     "row 1, column dob matches pattern 1",
	}
	for check, detail := range want {
		if r := got[check]; r.Passed || r.Detail != detail {
			t.Errorf("%s: %+v, want failed at %q", check, r, detail)
		}
	}
	for _, r := range got {
		if strings.Contains(r.Detail, "1970") {
			t.Errorf("a result quotes a value: %+v", r)
		}
	}
	ok := results(t, spec, nil, "t.csv", "group,n\na,7\n")
	for _, r := range ok {
		if !r.Passed {
			t.Errorf("clean table failed %+v", r)
		}
	}
}

// A file that is not the table its name says fails every declared check.
func TestUnreadableTableFails(t *testing.T) {
	spec := wes.DisclosureChecks{MaxRows: 10}
	for _, body := range []string{"", "a,b\n\"unterminated,1\n"} {
		got := results(t, spec, nil, "x.csv", body)
		if got[Parse].Passed || got[MaxRows].Passed {
			t.Errorf("%q: %+v, want parse and max_rows failed", body, got)
		}
	}
}

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An output that copies a whole row of an input dataset fails the overlap check; an
// aggregate of it passes, and so does a row that shares only one field.
func TestDatasetOverlap(t *testing.T) {
	ds := t.TempDir()
	writeFile(t, filepath.Join(ds, "cohort.csv"), "id,age,diagnosis\np001,71,C50\np002,64,C18\n")
	writeFile(t, filepath.Join(ds, "sub", "more.tsv"), "id\tage\np003\t55\n")
	writeFile(t, filepath.Join(ds, "notes.txt"), "p009,1,2\n")
	ix, err := BuildIndex([]string{ds}, IndexLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Rows() != 3 || ix.Incomplete() {
		t.Fatalf("indexed %d rows (incomplete %v), want 3", ix.Rows(), ix.Incomplete())
	}
	spec := wes.DisclosureChecks{DatasetOverlap: true}
	for _, tc := range []struct {
		body   string
		passed bool
	}{
		{"diagnosis,n\nC50,1\nC18,1\n", true},
		{"id,age,diagnosis\np002, 64 ,C18\n", false}, // trimmed fields still match
		{"x,y\np003,55\n", false},
		{"diagnosis,id,age,n\nC50,p001,71,4\n", false}, // reordered, with a column added
		{"id,n,age,diagnosis\np001,4,71,C50\n", true},  // split by another column: a documented limit
		{"id\np001\n", true},                           // one field is not a row
		{"a,b\np009,1\n", true},                        // not from a table file
	} {
		r := results(t, spec, ix, "out.csv", tc.body)[DatasetOverlap]
		if r.Passed != tc.passed {
			t.Errorf("%q: %+v, want passed %v", tc.body, r, tc.passed)
		}
	}
	// An index cut short by its limits cannot clear a file.
	small, err := BuildIndex([]string{ds}, IndexLimits{MaxRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r := results(t, spec, small, "out.csv", "diagnosis,n\nC50,9\n")[DatasetOverlap]; r.Passed || !small.Incomplete() {
		t.Errorf("with an incomplete index: %+v", r)
	}
	if r := results(t, spec, nil, "out.csv", "diagnosis,n\nC50,9\n")[DatasetOverlap]; r.Passed {
		t.Errorf("without an index: %+v", r)
	}
}

func TestCompileAndApplies(t *testing.T) {
	for _, spec := range []wes.DisclosureChecks{
		{DenyPatterns: []string{"("}},
		{MinCellCount: 5},
		{Files: []string{"[unclosed"}},
		{MaxRows: -1},
	} {
		if err := Validate(spec); err == nil {
			t.Errorf("%+v compiled", spec)
		}
	}
	c, err := Compile(wes.DisclosureChecks{MaxRows: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{"a.csv": true, "x/y/b.TSV": false, "x/y/b.tsv": true, "r.txt": false} {
		if c.Applies(rel) != want {
			t.Errorf("Applies(%s) = %v", rel, !want)
		}
	}
}

// BenchmarkOverlap100MB measures the overlap check's throughput on a 100 MB CSV output
// against an index of one million dataset rows (go test -bench Overlap -run X).
func BenchmarkOverlap100MB(b *testing.B) {
	dir := b.TempDir()
	ds := filepath.Join(dir, "ds.csv")
	f, _ := os.Create(ds)
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,age,code")
	for i := range 1_000_000 {
		fmt.Fprintf(w, "p%07d,%d,C%02d\n", i, i%90, i%50)
	}
	w.Flush()
	f.Close()
	ix, err := BuildIndex([]string{ds}, IndexLimits{})
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("group,code,n\n")
	for i := 0; sb.Len() < 100<<20; i++ {
		fmt.Fprintf(&sb, "g%d,C%02d,%d\n", i, i%50, 5+i%100)
	}
	body := sb.String()
	c, err := Compile(wes.DisclosureChecks{DatasetOverlap: true, MinCellCount: 5, CountColumns: []string{"n"}}, ix)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !Passed(c.Check("out.csv", strings.NewReader(body))) {
			b.Fatal("the synthetic output failed")
		}
	}
}
