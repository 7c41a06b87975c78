package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
)

// A workflow whose command fails ends EXECUTOR_ERROR, with the engine's exit code and
// the failed task, through the API and the CLI.
func TestFailingWorkflow(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	d := redisDeployment(t)
	d.startServer()

	id := d.api.mustSubmit(smkRequest(failingSnakefile, nil))
	d.api.waitState(id, runTimeout, api.StateEXECUTORERROR)

	rl := d.api.runLog(id)
	if rl.RunLog.ExitCode == nil || *rl.RunLog.ExitCode == 0 {
		t.Errorf("run_log.exit_code = %v; want the engine's non-zero exit code", rl.RunLog.ExitCode)
	}
	if len(rl.RunLog.SystemLogs) == 0 {
		t.Errorf("run_log.system_logs is empty; want Enclave's note that the engine failed")
	}
	if len(rl.Outputs) != 0 {
		t.Errorf("outputs %v; want none from a failed run", rl.Outputs)
	}
	checkNoZonePaths(t, d, id)
	var failed []string
	for _, tk := range d.api.tasks(id) {
		if tk.ExitCode != nil && *tk.ExitCode != 0 {
			failed = append(failed, tk.Name)
		}
	}
	if len(failed) != 1 || failed[0] != "fail" {
		t.Errorf("failed tasks %v; want the rule fail", failed)
	}
	_, errOut, code := d.cli("", "wait", id, "--timeout", "30s")
	if code != 1 || !strings.Contains(errOut, "EXECUTOR_ERROR") {
		t.Errorf("wait on a failed run: exit %d, stderr %q; want 1 naming EXECUTOR_ERROR", code, errOut)
	}
	if text := d.mustCLI("", "logs", id, "--stderr"); !strings.Contains(text, "failing on purpose") {
		t.Errorf("logs --stderr does not show the failing command's message: %q", text)
	}
}

// Cancelling a running workflow stops its processes and ends it CANCELED; cancelling
// again, or cancelling a finished run, succeeds and changes nothing.
func TestCancel(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	d := redisDeployment(t)
	d.startServer()

	id := d.api.mustSubmit(smkRequest(sleepingSnakefile, nil))
	d.api.waitState(id, runTimeout, api.StateRUNNING)
	pid := readPID(t, d.workPath(id, "pid.txt"))
	t.Cleanup(func() {
		if alive(pid) { // only after a failure: do not leave a 5-minute sleep behind
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if !alive(pid) {
		t.Fatalf("the workflow's sleep (pid %d) is not running while the run is RUNNING", pid)
	}

	d.api.cancel(id)
	if st := d.api.state(id); st != api.StateCANCELING && st != api.StateCANCELED {
		t.Errorf("state right after cancel: %s; want CANCELING or CANCELED", st)
	}
	d.api.waitState(id, time.Minute, api.StateCANCELED)
	eventually(t, 10*time.Second, fmt.Sprintf("the workflow's sleep (pid %d) is gone", pid), func() (bool, string) {
		return !alive(pid), "still running"
	})
	rl := d.api.runLog(id)
	if len(rl.Outputs) != 0 || rl.RunLog.EndTime == "" {
		t.Errorf("cancelled run: outputs %v, end time %q; want no outputs and an end time", rl.Outputs, rl.RunLog.EndTime)
	}

	// Again, through the API and the CLI: still 200, still CANCELED.
	d.api.cancel(id)
	if out := d.mustCLI("", "cancel", id); strings.TrimSpace(out) != id {
		t.Errorf("CLI cancel of a cancelled run printed %q; want the run id", out)
	}
	if st := d.api.state(id); st != api.StateCANCELED {
		t.Errorf("after cancelling again: %s; want CANCELED", st)
	}

	// A finished run stays finished.
	done := d.api.mustSubmit(smkRequest(onceSnakefile, map[string]any{"sleep": 0}))
	d.api.waitState(done, runTimeout, api.StateCOMPLETE)
	before := d.api.runLog(done)
	d.api.cancel(done)
	after := d.api.runLog(done)
	if after.State != api.StateCOMPLETE || len(after.RunLog.SystemLogs) != len(before.RunLog.SystemLogs) ||
		after.RunLog.EndTime != before.RunLog.EndTime {
		t.Errorf("cancel of a COMPLETE run changed it: state %s, system logs %v → %v, end %q → %q",
			after.State, before.RunLog.SystemLogs, after.RunLog.SystemLogs, before.RunLog.EndTime, after.RunLog.EndTime)
	}
	checkCounts(t, d.api.serviceInfo(), map[api.State]int64{api.StateCANCELED: 1, api.StateCOMPLETE: 1})
}

// readPID waits for the workflow to write its pid file and returns the pid.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, time.Minute, "the workflow writes "+path, func() (bool, string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return false, err.Error()
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil && pid > 1 {
			pid = hostPID(pid)
		}
		return err == nil && pid > 1, fmt.Sprintf("%q, not yet running sleep 300", b)
	})
	return pid
}

// hostPID is the host's pid of the sleeping workflow's `sleep 300`, which the job knows
// as pid: in the job's own pid namespace (the local executor's confinement as root) or
// the host's. It is found by the NSpid line of its status; 0 until the shell has exec'd
// sleep.
func hostPID(pid int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		host, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, _ := os.ReadFile("/proc/" + e.Name() + "/status")
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		for _, line := range strings.Split(string(st), "\n") {
			f := strings.Fields(strings.TrimPrefix(line, "NSpid:"))
			if strings.HasPrefix(line, "NSpid:") && len(f) > 0 && f[len(f)-1] == strconv.Itoa(pid) &&
				string(cmd) == "sleep\x00300\x00" {
				return host
			}
		}
	}
	return 0
}

// alive reports whether process pid exists and is not a zombie: the sandbox's init
// reaps orphans late, and a zombie runs nothing.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state is the first field after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
