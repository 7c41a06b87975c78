package redact_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/redact"
)

const (
	dataDir = "/srv/enclave"
	workDir = "/srv/enclave/runs/0190c6b4-0f7a-7c1e-9d2b-5f0e8a1b2c3d/work"
	cohortA = "/zone/cohorts/a"
	cohortB = "/zone/cohorts/ab" // cohortA is a prefix of it
)

func rewriter() *redact.Rewriter {
	return redact.New(
		redact.Rule{Path: dataDir, Placeholder: "<data>"},
		redact.Rule{Path: cohortA, Placeholder: "<dataset:a>"},
		redact.Rule{Path: workDir + "/", Placeholder: "<workdir>"}, // cleaned
		redact.Rule{Path: cohortB, Placeholder: "<dataset>"},
		redact.Rule{Path: "relative/x", Placeholder: "<no>"},
		redact.Rule{Path: "/", Placeholder: "<no>"},
		redact.Rule{Path: "/with\nbreak", Placeholder: "<no>"},
		redact.Rule{Path: dataDir, Placeholder: "<duplicate>"},
	)
}

func TestString(t *testing.T) {
	w := rewriter()
	for in, want := range map[string]string{
		"":                                  "",
		"no paths here":                     "no paths here",
		"/usr/bin/snakemake":                "/usr/bin/snakemake",
		workDir + "/results/a.txt":          "<workdir>/results/a.txt",
		dataDir + "/runs/x/logs/stderr.log": "<data>/runs/x/logs/stderr.log",
		"cat " + cohortA + "/rows.csv > " + workDir + "/out": "cat <dataset:a>/rows.csv > <workdir>/out",
		cohortB + "/rows.csv":                                "<dataset>/rows.csv",
		"file://" + workDir + "/x":                           "file://<workdir>/x",
		dataDir + "2/other":                                  "<data>2/other",
		"'" + dataDir + "'":                                  "'<data>'",
		"/srv/enclav":                                        "/srv/enclav",
		strings.Repeat(dataDir+" ", 3):                       strings.Repeat("<data> ", 3),
		"relative/x " + dataDir + "/with":                    "relative/x <data>/with",
	} {
		if got := w.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	if got := len(w.Rules()); got != 4 {
		t.Errorf("rules kept = %v, want the 4 absolute ones", w.Rules())
	}
	if got := w.Strings([]string{"a", dataDir}); strings.Join(got, ",") != "a,<data>" || w.Strings(nil) != nil {
		t.Errorf("Strings = %q", got)
	}
	var none *redact.Rewriter
	if none.String(dataDir) != dataDir {
		t.Error("a nil Rewriter must leave text alone")
	}
}

func TestWithResolved(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	realResolved, _ := filepath.EvalSymlinks(real)
	w := redact.New(redact.WithResolved([]redact.Rule{{Path: link, Placeholder: "<data>"}})...)
	if got := w.String(realResolved + "/x " + link + "/y"); got != "<data>/x <data>/y" {
		t.Errorf("String = %q", got)
	}
}

// paths and filler make random logs in which zone paths are cut by reads in every way.
var pieces = []string{dataDir, workDir, cohortA, cohortB, "/srv/enc", "/zone/coh", "/", "x", " ", "\n", "\r", "abc/def", "é"}

func randomLog(r *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// assertNoZonePath fails when s shows any zone path, or the start of one long enough to
// tell where the zone keeps its files (a path cut after its second slash).
func assertNoZonePath(t *testing.T, what, s string) {
	t.Helper()
	for _, p := range []string{dataDir, cohortA, "/srv/enclave/", "/zone/cohorts/"} {
		if strings.Contains(s, p) {
			t.Fatalf("%s shows %q: %q", what, p, s)
		}
	}
}

func read(t *testing.T, w *redact.Rewriter, log string, size, off int64, final bool) (string, int64) {
	t.Helper()
	r, next, err := w.Section(strings.NewReader(log), size, off, final)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), next
}

// A follower that reads a growing log by the offsets Section returns sees exactly the
// rewritten log, whatever the sizes the log had at each read.
func TestSectionFollow(t *testing.T) {
	w := rewriter()
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		log := randomLog(r, 50+r.IntN(400))
		var got strings.Builder
		var off int64
		for size := int64(0); ; {
			size = min(int64(len(log)), size+int64(1+r.IntN(40)))
			final := size == int64(len(log))
			text, next := read(t, w, log[:size], size, off, final)
			if next < off || next > size {
				t.Fatalf("next offset %d after reading from %d of %d bytes", next, off, size)
			}
			got.WriteString(text)
			off = next
			if final {
				break
			}
		}
		if want := w.String(log); got.String() != want {
			t.Fatalf("followed log:\n%q\nwant\n%q", got.String(), want)
		}
		assertNoZonePath(t, "followed log", got.String())
	}
}

// A read from any offset, of a finished or a growing log, shows no zone path, nor the
// start of one: an offset inside a path starts the text with its placeholder.
func TestSectionAnyOffset(t *testing.T) {
	w := rewriter()
	r := rand.New(rand.NewPCG(3, 4))
	for range 4 {
		log := randomLog(r, 200)
		for size := int64(0); size <= int64(len(log)); size += 11 {
			for off := int64(0); off <= size+2; off++ {
				for _, final := range []bool{false, true} {
					text, next := read(t, w, log[:size], size, off, final)
					if !final || size == int64(len(log)) { // a log that really ends in a cut path shows it
						assertNoZonePath(t, "read", text)
					}
					if (final && off <= size && next != size) || next < off {
						t.Fatalf("read from %d of %d (final %v): next %d", off, size, final, next)
					}
				}
			}
		}
	}
	text, next := read(t, w, "see "+workDir+"/a\n", int64(len("see "+workDir+"/a\n")), 10, true)
	if text != "<workdir>/a\n" || next != int64(len("see "+workDir+"/a\n")) {
		t.Errorf("read from inside a path = %q, %d", text, next)
	}
}

// A growing log is held back only from where a path could still be forming.
func TestSectionHoldsBackUnfinishedPath(t *testing.T) {
	w := rewriter()
	for _, tc := range []struct {
		log, want string
		held      int // bytes held back
	}{
		{"line one\nreading " + dataDir[:8], "line one\nreading ", 8},
		{"progress 50% (no line break yet)", "progress 50% (no line break yet)", 0},
		{"see /usr/bin", "see /usr/bin", 0},
		{"ends in a slash /", "ends in a slash ", 1},
		// The data dir is whole, but the work dir under it may still be being written.
		{strings.Repeat("x", 200) + dataDir, strings.Repeat("x", 200), len(dataDir)},
		{"a " + workDir + "/y", "a <workdir>/y", 0},
		{"a " + cohortA, "a ", len(cohortA)}, // cohortB may follow
		{"a " + cohortA + "/", "a <dataset:a>", 1},
	} {
		text, next := read(t, w, tc.log, int64(len(tc.log)), 0, false)
		if text != tc.want || next != int64(len(tc.log)-tc.held) {
			t.Errorf("growing log %q = %q (next %d), want %q (next %d)", tc.log, text, next, tc.want, len(tc.log)-tc.held)
		}
	}
}

// Large logs are rewritten a chunk at a time; paths across chunk borders are still found.
func TestSectionLarge(t *testing.T) {
	w := rewriter()
	var b bytes.Buffer
	for b.Len() < 300<<10 {
		b.WriteString("abc " + workDir + " " + cohortA + "/f;")
	}
	log := b.String()
	text, next := read(t, w, log, int64(len(log)), 0, true)
	if next != int64(len(log)) || text != w.String(log) {
		t.Fatalf("large log: next %d, text equal %v", next, text == w.String(log))
	}
	assertNoZonePath(t, "large log", text)
}
