package redact_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// A Snakemake-like log: most lines hold no zone path, some several.
func benchLog(n int) []byte {
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString("[Tue Nov  3 09:00:01 2026]\nrule copy:\n    input: " + cohortA + "/patients.csv\n    output: work/raw_copy.csv\n    jobid: 2\n\n")
		b.WriteString("cp " + cohortA + "/patients.csv " + workDir + "/work/raw_copy.csv\nFinished job 2.\n1 of 3 steps (33%) done\n")
	}
	return b.Bytes()
}

func BenchmarkSection(b *testing.B) {
	w := rewriter()
	log := benchLog(8 << 20)
	b.SetBytes(int64(len(log)))
	for b.Loop() {
		r, _, err := w.Section(bytes.NewReader(log), int64(len(log)), 0, false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	w := rewriter()
	s := strings.Repeat("python3 scripts/summarise.py "+cohortA+"/patients.csv site 5 results/summary.csv ", 4)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		_ = w.String(s)
	}
}
