package jobcheck

import (
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

func TestBasic(t *testing.T) {
	ok := func() *wes.Job {
		return &wes.Job{ID: "r1", Argv: []string{"snakemake"}, WorkDir: "/d/runs/r1/work", Stdout: "/d/runs/r1/logs/o", Stderr: "/d/runs/r1/logs/e"}
	}
	if err := Basic(ok()); err != nil {
		t.Fatalf("Basic(valid job) = %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*wes.Job) *wes.Job
		want string
	}{
		{"nil", func(*wes.Job) *wes.Job { return nil }, "no job given"},
		{"no id", func(j *wes.Job) *wes.Job { j.ID = ""; return j }, "job id is empty"},
		{"no argv", func(j *wes.Job) *wes.Job { j.Argv = nil; return j }, "job argv is empty"},
		{"empty command", func(j *wes.Job) *wes.Job { j.Argv = []string{""}; return j }, "job argv is empty"},
		{"relative work dir", func(j *wes.Job) *wes.Job { j.WorkDir = "work"; return j }, "work_dir must be an absolute path"},
		{"no stderr", func(j *wes.Job) *wes.Job { j.Stderr = ""; return j }, "stdout and stderr must be absolute paths"},
		{"relative stdout", func(j *wes.Job) *wes.Job { j.Stdout = "o"; return j }, "stdout and stderr must be absolute paths"},
	} {
		err := Basic(tc.edit(ok()))
		if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tc.want) {
			t.Errorf("%s: Basic = %v; want EINVALID containing %q", tc.name, err, tc.want)
		}
	}
}
