package k8sagent

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLogFileStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	lf, err := createLog(path)
	if err != nil {
		t.Fatal(err)
	}
	lf.copyFrom(streamStdout, strings.NewReader("out 1\n"))
	lf.copyFrom(streamStderr, strings.NewReader("err 1\n"))
	lf.copyFrom(streamStdout, strings.NewReader("out 2, no newline"))
	if err := lf.close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want func(byte) bool
		out  string
	}{
		{"all", func(byte) bool { return true }, "out 1\nerr 1\nout 2, no newline"},
		{"stdout", func(s byte) bool { return s == streamStdout }, "out 1\nout 2, no newline"},
		{"stderr", func(s byte) bool { return s == streamStderr }, "err 1\n"},
	} {
		var b strings.Builder
		if err := readLog(path, c.want, &b); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.out {
			t.Errorf("%s = %q, want %q", c.name, b.String(), c.out)
		}
	}
	if _, err := createLog(path); err == nil {
		t.Error("createLog over an existing log succeeded; a pod's log is created once")
	}
}
