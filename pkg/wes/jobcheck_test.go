package wes_test

import (
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

func TestJobValidate(t *testing.T) {
	ok := func() *wes.Job {
		return &wes.Job{ID: "r1", Argv: []string{"snakemake"}, Env: map[string]string{"A": "1"},
			WorkDir: "/d/runs/r1/work", Stdout: "/d/runs/r1/logs/o", Stderr: "/d/runs/r1/logs/e"}
	}
	if err := ok().Validate(); err != nil {
		t.Fatalf("Validate(valid job) = %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*wes.Job) *wes.Job
		want string
	}{
		{"nil", func(*wes.Job) *wes.Job { return nil }, "no job given"},
		{"no id", func(j *wes.Job) *wes.Job { j.ID = ""; return j }, "job.id must be"},
		{"id as option", func(j *wes.Job) *wes.Job { j.ID = "-x"; return j }, "job.id must be"},
		{"id as path", func(j *wes.Job) *wes.Job { j.ID = "a/b"; return j }, "job.id must be"},
		{"no argv", func(j *wes.Job) *wes.Job { j.Argv = nil; return j }, "job.argv is empty"},
		{"empty command", func(j *wes.Job) *wes.Job { j.Argv = []string{""}; return j }, "job.argv is empty"},
		{"NUL in argv", func(j *wes.Job) *wes.Job { j.Argv = []string{"a", "b\x00"}; return j }, "job.argv[1] contains a NUL byte"},
		{"env name with =", func(j *wes.Job) *wes.Job { j.Env = map[string]string{"A=B": "x"}; return j }, "job.env:"},
		{"empty env name", func(j *wes.Job) *wes.Job { j.Env = map[string]string{"": "x"}; return j }, "job.env:"},
		{"NUL in env value", func(j *wes.Job) *wes.Job { j.Env = map[string]string{"A": "\x00"}; return j }, "job.env[A]"},
		{"relative work dir", func(j *wes.Job) *wes.Job { j.WorkDir = "work"; return j }, "job.work_dir must be an absolute path"},
		{"no stderr", func(j *wes.Job) *wes.Job { j.Stderr = ""; return j }, "stdout and job.stderr must be absolute paths"},
		{"relative stdout", func(j *wes.Job) *wes.Job { j.Stdout = "o"; return j }, "stdout and job.stderr must be absolute paths"},
		{"negative time limit", func(j *wes.Job) *wes.Job { j.Resources.TimeLimit = -time.Second; return j }, "job.resources"},
	} {
		err := tc.edit(ok()).Validate()
		if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tc.want) {
			t.Errorf("%s: Validate = %v; want EINVALID containing %q", tc.name, err, tc.want)
		}
		if strings.Contains(wes.ErrorMessage(err), "/d/runs") {
			t.Errorf("%s: message %q carries a path", tc.name, wes.ErrorMessage(err))
		}
	}
}
