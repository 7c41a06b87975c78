package egress_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

// zone is a run's work dir beside a fake dataset the workflow must never release.
type zone struct {
	t       *testing.T
	work    string
	dataset string // a directory outside the work dir, holding secret.csv
}

const secret = "patient,diagnosis\nP001,SECRET\n"

func newZone(t *testing.T) *zone {
	base := t.TempDir()
	z := &zone{t: t, work: filepath.Join(base, "runs", "r1", "work"), dataset: filepath.Join(base, "datasets", "cohort")}
	for _, d := range []string{z.work, z.dataset} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(z.dataset, "secret.csv"), []byte(secret), 0o640); err != nil {
		t.Fatal(err)
	}
	return z
}

func (z *zone) file(rel, content string) {
	z.t.Helper()
	p := filepath.Join(z.work, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		z.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
		z.t.Fatal(err)
	}
}

func (z *zone) symlink(target, rel string) {
	z.t.Helper()
	p := filepath.Join(z.work, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		z.t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		z.t.Fatal(err)
	}
}

// sparse makes a file of the given size without writing its bytes.
func (z *zone) sparse(rel string, size int64) {
	z.t.Helper()
	z.file(rel, "")
	if err := os.Truncate(filepath.Join(z.work, rel), size); err != nil {
		z.t.Fatal(err)
	}
}

var policy = wes.OutputPolicy{Globs: []string{"results/**/*.csv", "report.html"}}

func paths(cs []egress.Candidate) []string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Path)
	}
	return s
}

func kinds(rs []egress.Refusal) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		m[r.Path] = r.Kind
	}
	return m
}

// The attacker's suite for Select: each way to get something out of the zone that is
// not an allow-listed regular file of the run is refused with the right reason.
func TestSelect(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(z *zone)
		pol     wes.OutputPolicy
		accept  []string
		refused map[string]string // path -> kind; exactly these
	}{
		{"allow-listed files only", func(z *zone) {
			z.file("results/a.csv", "a")
			z.file("results/sub/b.csv", "b")
			z.file("report.html", "<p>")
			z.file("notes.txt", "intermediate")
			z.file("results/a.csv.tmp", "x")
		}, policy, []string{"report.html", "results/a.csv", "results/sub/b.csv"},
			map[string]string{"notes.txt": egress.RefuseNotAllowed, "results/a.csv.tmp": egress.RefuseNotAllowed}},
		{"symlink to a dataset file outside", func(z *zone) {
			z.symlink(filepath.Join(z.dataset, "secret.csv"), "results/leak.csv")
		}, policy, nil, map[string]string{"results/leak.csv": egress.RefuseSymlink}},
		{"relative symlink climbing out", func(z *zone) {
			z.symlink("../../../../datasets/cohort/secret.csv", "results/leak.csv")
		}, policy, nil, map[string]string{"results/leak.csv": egress.RefuseSymlink}},
		{"symlink to a file inside", func(z *zone) {
			z.file("results/a.csv", "a")
			z.symlink("a.csv", "results/copy.csv")
		}, policy, []string{"results/a.csv"}, map[string]string{"results/copy.csv": egress.RefuseSymlink}},
		{"symlink to a dir inside", func(z *zone) {
			z.file("results/sub/b.csv", "b")
			z.symlink("sub", "results/linked")
		}, policy, []string{"results/sub/b.csv"}, map[string]string{"results/linked": egress.RefuseSymlink}},
		{"symlinked parent dir to the dataset", func(z *zone) {
			z.symlink(z.dataset, "results")
		}, policy, nil, map[string]string{"results": egress.RefuseSymlink}},
		{"fifo", func(z *zone) {
			z.file("results/x.csv", "x")
			if err := syscall.Mkfifo(filepath.Join(z.work, "results", "pipe.csv"), 0o640); err != nil {
				z.t.Fatal(err)
			}
		}, policy, []string{"results/x.csv"}, map[string]string{"results/pipe.csv": egress.RefuseNotRegular}},
		{"hard link to a dataset file outside", func(z *zone) {
			z.file("results/x.csv", "x")
			if err := os.Link(filepath.Join(z.dataset, "secret.csv"), filepath.Join(z.work, "results", "hl.csv")); err != nil {
				z.t.Fatal(err)
			}
		}, policy, []string{"results/x.csv"}, map[string]string{"results/hl.csv": egress.RefuseHardLink}},
		{"file over the per-file limit", func(z *zone) {
			z.file("results/small.csv", strings.Repeat("s", 100))
			z.file("results/big.csv", strings.Repeat("b", 101))
		}, wes.OutputPolicy{Globs: policy.Globs, MaxFileBytes: 100}, []string{"results/small.csv"},
			map[string]string{"results/big.csv": egress.RefuseFileTooLarge}},
		{"huge sparse file over the default limit", func(z *zone) {
			z.sparse("results/huge.csv", egress.DefaultLimits.MaxFileBytes+1)
		}, policy, nil, map[string]string{"results/huge.csv": egress.RefuseFileTooLarge}},
		{"too many files", func(z *zone) {
			for _, n := range []string{"1", "2", "3", "4", "5"} {
				z.file("results/"+n+".csv", n)
			}
		}, wes.OutputPolicy{Globs: policy.Globs, MaxFiles: 3}, []string{"results/1.csv", "results/2.csv", "results/3.csv"},
			map[string]string{"results/4.csv": egress.RefuseTooManyFiles, "results/5.csv": egress.RefuseTooManyFiles}},
		{"total over the limit", func(z *zone) {
			for _, n := range []string{"1", "2", "3", "4"} {
				z.file("results/"+n+".csv", strings.Repeat(n, 100))
			}
			z.file("results/5.csv", "5") // small, but after the limit was reached
		}, wes.OutputPolicy{Globs: policy.Globs, MaxTotalBytes: 250}, []string{"results/1.csv", "results/2.csv"},
			map[string]string{"results/3.csv": egress.RefuseTotalTooLarge, "results/4.csv": egress.RefuseTotalTooLarge, "results/5.csv": egress.RefuseTotalTooLarge}},
		{"Enclave's and the engine's dirs are skipped", func(z *zone) {
			z.file(".enclave/params.csv", "p")
			z.file(".snakemake/log/x.csv", "l")
			z.file("results/a.csv", "a")
		}, wes.OutputPolicy{Globs: []string{"**/*.csv"}}, []string{"results/a.csv"}, map[string]string{}},
		{"empty allow-list releases nothing", func(z *zone) {
			z.file("results/a.csv", "a")
		}, wes.OutputPolicy{}, nil, map[string]string{"results/a.csv": egress.RefuseNotAllowed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := newZone(t)
			tt.setup(z)
			acc, ref, err := egress.Select(z.work, tt.pol, egress.Limits{})
			if err != nil {
				t.Fatalf("Select: %v", err)
			}
			if got := paths(acc); !slices.Equal(got, tt.accept) {
				t.Errorf("accepted %v, want %v", got, tt.accept)
			}
			if got := kinds(ref); !mapsEqual(got, tt.refused) {
				t.Errorf("refused %v, want %v", got, tt.refused)
			}
			for _, r := range ref {
				if r.Reason == "" || strings.Contains(r.Reason, z.work) || strings.Contains(r.Reason, z.dataset) {
					t.Errorf("refusal reason %q is empty or names a zone path", r.Reason)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The deployment's limits apply where the policy sets none, and the policy's win.
func TestSelectLimitPrecedence(t *testing.T) {
	z := newZone(t)
	for _, n := range []string{"1", "2", "3"} {
		z.file("results/"+n+".csv", n)
	}
	acc, _, err := egress.Select(z.work, policy, egress.Limits{MaxFiles: 1})
	if err != nil || len(acc) != 1 {
		t.Errorf("deployment MaxFiles 1: accepted %v, %v; want 1 file", paths(acc), err)
	}
	acc, _, err = egress.Select(z.work, wes.OutputPolicy{Globs: policy.Globs, MaxFiles: 2}, egress.Limits{MaxFiles: 1})
	if err != nil || len(acc) != 2 {
		t.Errorf("policy MaxFiles 2 over deployment 1: accepted %v, %v; want 2 files", paths(acc), err)
	}
}

// A work dir reached through a link (e.g. /data -> /mnt/data) is fine: only links
// inside it are refused.
func TestSelectWorkDirBehindLink(t *testing.T) {
	z := newZone(t)
	z.file("results/a.csv", "a")
	link := filepath.Join(t.TempDir(), "work-link")
	if err := os.Symlink(z.work, link); err != nil {
		t.Fatal(err)
	}
	acc, ref, err := egress.Select(link, policy, egress.Limits{})
	if err != nil || !slices.Equal(paths(acc), []string{"results/a.csv"}) || len(ref) != 0 {
		t.Errorf("Select via a link to the work dir = %v %v %v, want results/a.csv", paths(acc), ref, err)
	}
}

func TestSelectMissingWorkDir(t *testing.T) {
	_, _, err := egress.Select(filepath.Join(t.TempDir(), "nope"), policy, egress.Limits{})
	if !wes.IsCode(err, wes.EINTERNAL) || strings.Contains(wes.ErrorMessage(err), "nope") {
		t.Errorf("Select of a missing work dir = %v, want an internal error whose message names no path", err)
	}
}

func TestValidatePolicy(t *testing.T) {
	bad := []string{
		"", "../secret.csv", "results/../../datasets/*.csv", "/etc/passwd", "{..,results}/*.csv",
		"results/{a,../b}.csv", "./results/*.csv", "results/./a.csv", "results//a.csv", "results/", "results/[a.csv",
		"results/{a,b.csv",
	}
	for _, g := range bad {
		err := egress.ValidatePolicy(wes.OutputPolicy{Globs: []string{"ok/*.csv", g}})
		if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), "outputs.globs[1]") {
			t.Errorf("ValidatePolicy(%q) = %v, want EINVALID naming outputs.globs[1]", g, err)
		}
		if _, _, err := egress.Select(t.TempDir(), wes.OutputPolicy{Globs: []string{g}}, egress.Limits{}); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("Select with glob %q = %v, want EINVALID", g, err)
		}
	}
	good := []string{"results/**/*.csv", "*.txt", "{a,b}/*.json", "results/a..b.txt", "**", "out/[0-9]*.tsv"}
	if err := egress.ValidatePolicy(wes.OutputPolicy{Globs: good, MaxFiles: 3}); err != nil {
		t.Errorf("ValidatePolicy(%q) = %v, want nil", good, err)
	}
	for name, pol := range map[string]wes.OutputPolicy{
		"max_file_bytes":  {MaxFileBytes: -1},
		"max_total_bytes": {MaxTotalBytes: -1},
		"max_files":       {MaxFiles: -1},
	} {
		if err := egress.ValidatePolicy(pol); !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), name) {
			t.Errorf("negative %s: %v, want EINVALID naming it", name, err)
		}
	}
}

func TestValidateKeyAndPrefix(t *testing.T) {
	p := egress.KeyPrefix("alice@example.com", "r1")
	if err := egress.ValidateKey(p, true); err != nil || strings.Contains(p, "alice") || !strings.HasSuffix(p, "/r1/") {
		t.Errorf("KeyPrefix = %q (%v), want a valid prefix hiding the owner, ending in /r1/", p, err)
	}
	if egress.KeyPrefix("bob", "r1") == p {
		t.Error("two owners share a key prefix")
	}
	for _, k := range []string{"", "/a", "a/../b", "..", "a//b", "a/./b", `a\b`, "a\x00b", "a/", strings.Repeat("k", 1025)} {
		if err := egress.ValidateKey(k, false); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("ValidateKey(%q) = %v, want EINVALID", k, err)
		}
	}
}
