package slurm

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

func TestNewValidates(t *testing.T) {
	okSSH := SSHConfig{Addr: "login:22", User: "u", KeyFile: "/k", KnownHostsFile: "/kh"}
	for _, c := range []struct {
		name string
		cfg  Config
		want string // part of the error
	}{
		{"no mode", Config{}, "Mode"},
		{"bad mode", Config{Mode: "rsh"}, "Mode"},
		{"ssh without known_hosts", Config{Mode: ModeSSH, SSH: SSHConfig{Addr: "a:22", User: "u", KeyFile: "/k"}}, "KnownHostsFile is required"},
		{"ssh without addr", Config{Mode: ModeSSH, SSH: SSHConfig{User: "u", KeyFile: "/k", KnownHostsFile: "/kh"}}, "SSH.Addr"},
		{"ssh missing key file", Config{Mode: ModeSSH, SSH: okSSH}, "SSH.KeyFile"},
		{"bad partition", Config{Mode: ModeLocal, Partition: "debug;rm -rf /"}, "Partition"},
		{"option as account", Config{Mode: ModeLocal, Account: "--uid=0"}, "Account"},
		{"relative work root", Config{Mode: ModeLocal, WorkRoot: "work"}, "WorkRoot"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error naming %q", err, c.want)
			}
		})
	}
	if _, err := New(Config{Mode: ModeLocal, Partition: "debug", QOS: "normal"}); err != nil {
		t.Fatalf("New(local) = %v", err)
	}
}

func localExecutor(t *testing.T, cfg Config) *Executor {
	t.Helper()
	cfg.Mode = ModeLocal
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestValidateJob(t *testing.T) {
	e := localExecutor(t, Config{WorkRoot: "/work", AllowedPartitions: []string{"gpu"}, AllowedQOS: []string{"high", "low"}, Account: "proj1"})
	base := wes.Job{ID: "run-1", Argv: []string{"snakemake"}, WorkDir: "/work/r1", Stdout: "/work/r1/out", Stderr: "/work/r1/err"}
	for _, c := range []struct {
		name  string
		edit  func(j *wes.Job)
		field string // named in the message; "" = valid
	}{
		{"valid", func(j *wes.Job) {}, ""},
		{"valid params", func(j *wes.Job) { j.Params = map[string]string{"partition": "gpu", "qos": "high", "other": "$(x)"} }, ""},
		{"id with space", func(j *wes.Job) { j.ID = "a b" }, "job.id"},
		{"id as option", func(j *wes.Job) { j.ID = "-x" }, "job.id"},
		{"id with newline", func(j *wes.Job) { j.ID = "a\nb" }, "job.id"},
		{"empty argv0", func(j *wes.Job) { j.Argv = []string{""} }, "job.argv"},
		{"NUL in argv", func(j *wes.Job) { j.Argv = []string{"a\x00b"} }, "job.argv[0]"},
		{"bad env name", func(j *wes.Job) { j.Env = map[string]string{"A;B": "x"} }, "job.env"},
		{"relative work dir", func(j *wes.Job) { j.WorkDir = "r1" }, "job.work_dir"},
		{"work dir outside root", func(j *wes.Job) { j.WorkDir = "/etc" }, "job.work_dir"},
		{"work dir escaping root", func(j *wes.Job) { j.WorkDir = "/work/../etc" }, "job.work_dir"},
		{"stdout outside root", func(j *wes.Job) { j.Stdout = "/tmp/x" }, "job.stdout"},
		{"newline in stderr", func(j *wes.Job) { j.Stderr = "/work/a\nb" }, "job.stderr"},
		{"negative cpus", func(j *wes.Job) { j.Resources.CPUs = -1 }, "job.resources"},
		{"partition injection", func(j *wes.Job) { j.Params = map[string]string{"partition": "a;touch x"} }, "job.params.partition"},
		{"account option", func(j *wes.Job) { j.Params = map[string]string{"account": "--uid=0"} }, "job.params.account"},
		{"qos with space", func(j *wes.Job) { j.Params = map[string]string{"qos": "a b"} }, "job.params.qos"},
		{"partition not allowed", func(j *wes.Job) { j.Params = map[string]string{"partition": "bigmem"} }, "job.params.partition"},
		{"account not allowed", func(j *wes.Job) { j.Params = map[string]string{"account": "proj2"} }, "job.params.account"},
		{"default account allowed", func(j *wes.Job) { j.Params = map[string]string{"account": "proj1"} }, ""},
		{"qos not allowed", func(j *wes.Job) { j.Params = map[string]string{"qos": "normal"} }, "job.params.qos"},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := base
			c.edit(&j)
			err := e.validate(&j)
			if c.field == "" {
				if err != nil {
					t.Fatalf("validate = %v, want nil", err)
				}
				return
			}
			if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), c.field) {
				t.Fatalf("validate = %v, want %s naming %s", err, wes.EINVALID, c.field)
			}
			if strings.Contains(wes.ErrorMessage(err), "/work") {
				t.Errorf("message %q carries a path", wes.ErrorMessage(err))
			}
		})
	}
}

func TestSbatchArgs(t *testing.T) {
	e := localExecutor(t, Config{Partition: "debug", Account: "proj1"})
	job := &wes.Job{
		ID: "run-1", Argv: []string{"x"}, WorkDir: "/w/r 1", Stdout: "/w/r 1/out%j", Stderr: "",
		Resources: wes.Resources{CPUs: 2, MemoryMB: 512, TimeLimit: 61 * time.Second},
		Params:    map[string]string{"partition": "gpu", "qos": "high"},
	}
	got := e.sbatchArgs(job)
	want := []string{"sbatch", "--parsable", "--no-requeue", "--job-name=run-1", "--chdir=/w/r 1",
		"--output=/w/r 1/out%%j", "--error=/dev/null", "--cpus-per-task=2", "--mem=512M", "--time=2",
		"--partition=gpu", "--account=proj1", "--qos=high"}
	if !slices.Equal(got, want) {
		t.Errorf("sbatch args:\n got %q\nwant %q", got, want)
	}
}

func TestParseScontrol(t *testing.T) {
	line := "JobId=7 JobName=run-1 UserId=u(1001) JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 " +
		"StartTime=2026-11-24T01:11:55 EndTime=2026-11-24T01:11:57 WorkDir=/x JobState=RUNNING Command=(null)\n"
	r, ok := parseScontrol(line, time.UTC)
	if !ok {
		t.Fatal("not parsed")
	}
	if r.id != "7" || r.name != "run-1" || r.state != "FAILED" || r.exit == nil || *r.exit != 3 ||
		!r.start.Equal(time.Date(2026, 11, 24, 1, 11, 55, 0, time.UTC)) || r.end.Sub(r.start) != 2*time.Second {
		t.Errorf("parsed %+v", r)
	}
	if _, ok := parseScontrol("garbage", time.UTC); ok {
		t.Error("garbage parsed")
	}
}

func TestParseSqueueAndStates(t *testing.T) {
	for _, c := range []struct {
		line  string
		state wes.JobState
		exit  string
	}{
		{"1|PENDING|N/A|N/A|0|run-1", wes.JobQueued, "none"},
		{"1|RUNNING|2026-11-24T01:11:55|2026-11-24T02:11:55|0|run-1", wes.JobRunning, "none"},
		{"1|COMPLETING|2026-11-24T01:11:55|2026-11-24T01:12:55|0|run-1", wes.JobRunning, "none"},
		{"1|COMPLETED|2026-11-24T01:11:55|2026-11-24T01:12:55|0|run-1", wes.JobSucceeded, "0"},
		{"1|FAILED|2026-11-24T01:11:55|2026-11-24T01:12:55|768|run-1", wes.JobFailed, "3"},
		{"1|TIMEOUT|2026-11-24T01:11:55|2026-11-24T01:12:55|15|run-1", wes.JobFailed, "143"},
		{"1|OUT_OF_MEMORY|2026-11-24T01:11:55|2026-11-24T01:12:55|0|run-1", wes.JobFailed, "1"},
		{"1|NODE_FAIL|2026-11-24T01:11:55|2026-11-24T01:12:55|0|run-1", wes.JobFailed, "1"},
		{"1|CANCELLED|2026-11-24T01:11:55|2026-11-24T01:12:55|15|run-1", wes.JobCanceled, "none"},
		{"1|WEIRD_NEW_STATE|N/A|N/A|0|run-1", wes.JobLost, "none"},
	} {
		r, ok := parseSqueue(c.line, time.UTC)
		if !ok {
			t.Fatalf("%q not parsed", c.line)
		}
		st := r.status()
		exit := "none"
		if st.ExitCode != nil {
			exit = strconv.Itoa(*st.ExitCode)
		}
		if st.State != c.state || exit != c.exit {
			t.Errorf("%q: %s exit %s, want %s exit %s", c.line, st.State, exit, c.state, c.exit)
		}
		if st.State.Ended() && st.State != wes.JobLost && st.EndTime.IsZero() {
			t.Errorf("%q: ended without an end time", c.line)
		}
	}
	// sacct -c says "CANCELLED by 1001".
	if st := (record{state: "CANCELLED by 1001"}).status(); st.State != wes.JobCanceled {
		t.Errorf("CANCELLED by: %s", st.State)
	}
}
