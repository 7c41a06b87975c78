// Package executortest is the conformance suite every executor passes: submit, status,
// cancel, idempotent submit, take-over of a handle by a fresh instance, batch status and
// bad input. An executor's tests call Run with a way to build jobs for that backend.
package executortest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Options tell the suite how to build jobs and instances for the backend under test.
type Options struct {
	// NewJob returns a job with the given id whose command runs script, a POSIX sh script
	// body (local: argv ["sh", "-c", script]). The job's WorkDir must exist and be the
	// script's working directory, readable by the test at the same path; Stdout must be
	// a path the test can read once the job has ended. Required unless NewProgramJob is set.
	NewJob func(t *testing.T, id string, script string) *wes.Job
	// NewProgramJob, when set, is used instead of NewJob: for backends that do not run
	// shell scripts (the fake executor translates a Program into its directives).
	NewProgramJob func(t *testing.T, id string, p Program) *wes.Job
	// Fresh returns a NEW instance of the same executor, configured like the first, to
	// check that a handle alone lets another worker take a job over. Required.
	Fresh func(t *testing.T) wes.Executor
	// Timeout is how long a case waits for a job to reach a state. Default 30s.
	Timeout time.Duration
	// HostProcesses says the job's processes are this host's processes, so the pids a
	// job writes can be checked: the cancel case then requires them to be gone.
	HostProcesses bool
	// StagedWorkDir says the backend copies the job's work dir in when the job starts and
	// back out when it ends (a GA4GH TES server does), so a file the test writes into the
	// work dir while the job runs never reaches the job. The two cases that let a running
	// job finish through such a file ("release") then assert the same behaviour another way:
	//   - IdempotentSubmit submits a job that ends by itself; all three Submits must return
	//     the same handle (and CountJobs, when set, must count one backend job), the job
	//     must succeed, and the work dir it brings back must say it ran once. (Two runs
	//     would each bring back their own copy saying so: hence the handle check.)
	//   - TakeOver has the fresh instance see a running job and cancel it (the first
	//     instance then sees it canceled too), and take a second, short job it never
	//     submitted over to its success: exit 0 and the job's stdout delivered.
	StagedWorkDir bool
	// CountJobs, when set, returns how many jobs the backend holds for a job id; the
	// IdempotentSubmit case then requires exactly one after its three Submits. Optional.
	CountJobs func(t *testing.T, jobID string) int
}

// Program is what a case asks a job to do, in this order. File names are relative to the
// job's work directory.
type Program struct {
	AppendTo string // append the line "ran" to this file: counts executions
	PIDFile  string // write the shell's pid here, start `sleep` in the background and write its pid to PIDFile+".child"
	Stdout   string // print this line on standard output
	WaitFor  string // wait until this file exists
	Exit     int    // exit with this code
}

// Script renders p as a POSIX sh script body.
func (p Program) Script() string {
	var b strings.Builder
	if p.AppendTo != "" {
		fmt.Fprintf(&b, "echo ran >> %s\n", shQuote(p.AppendTo))
	}
	if p.PIDFile != "" {
		fmt.Fprintf(&b, "sleep 3600 &\necho $! > %s\necho $$ > %s\n", shQuote(p.PIDFile+".child"), shQuote(p.PIDFile))
	}
	if p.Stdout != "" {
		fmt.Fprintf(&b, "printf '%%s\\n' %s\n", shQuote(p.Stdout))
	}
	if p.WaitFor != "" {
		fmt.Fprintf(&b, "while [ ! -e %s ]; do sleep 0.05; done\n", shQuote(p.WaitFor))
	}
	fmt.Fprintf(&b, "exit %d\n", p.Exit)
	return b.String()
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Run runs the suite against ex. Cases run one after another; each gives its jobs unique
// ids and cancels whatever it left running.
func Run(t *testing.T, ex wes.Executor, opts Options) {
	t.Helper()
	if opts.NewJob == nil && opts.NewProgramJob == nil {
		t.Fatal("executortest: Options.NewJob or Options.NewProgramJob is required")
	}
	if opts.Fresh == nil {
		t.Fatal("executortest: Options.Fresh is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	s := &suite{ex: ex, opts: opts}
	for _, c := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Success", s.success},
		{"FailureExitCode", s.failure},
		{"CancelRunning", s.cancelRunning},
		{"CancelFinished", s.cancelFinished},
		{"IdempotentSubmit", s.idempotentSubmit},
		{"TakeOver", s.takeOver},
		{"StatusBatch", s.statusBatch},
		{"BadJob", s.badJob},
		{"BadHandle", s.badHandle},
	} {
		t.Run(c.name, c.fn)
	}
}
