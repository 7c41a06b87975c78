package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileTmp is the job's private temporary directory in its state directory: TMPDIR
// without namespaces, /tmp with them. The shim removes it when the job has ended.
const fileTmp = "tmp"

// reportFD is where a confining stage (exec or init) finds the write end of the pipe
// on which it reports to the shim. It is close-on-exec in the stage, so an exec stage
// whose execve succeeded reports nothing.
const reportFD = 3

// stageReport is one line on the report pipe.
type stageReport struct {
	Error  string `json:"error,omitempty"`  // the job could not be confined or started; for shim.log
	Status *int   `json:"status,omitempty"` // the job's wait status, from init
}

// startConfined starts the job's confining stage: `init DIR PATH` as PID 1 of new
// namespaces when the plan has them, else `exec DIR PATH`, in its own process group, in
// the job's output files. It returns the stage's command and the read end of its report
// pipe. started gets the stage's pid: the job's first process, or the init whose end
// ends every process of the job.
func startConfined(dir string, sp spec, path string, stdout, stderr *os.File, started func(pid int)) (*exec.Cmd, *os.File, error) {
	p := sp.Confine
	tmp := filepath.Join(dir, fileTmp)
	if err := os.Mkdir(tmp, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, nil, err
	}
	mode := "exec"
	if p.Namespaces {
		mode = "init"
		// The job runs as p.UID: it owns its work dir and tmp. Nothing else of the
		// machine is visible to it, so nothing else needs to change owner.
		if err := os.Lchown(tmp, p.UID, p.GID); err != nil {
			return nil, nil, err
		}
		if err := chownTree(sp.Job.WorkDir, p.UID, p.GID); err != nil {
			return nil, nil, fmt.Errorf("handing the work dir to the job's uid: %w", err)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer w.Close()
	args := append(slices.Clone(sp.Shim), mode, dir, path)
	cmd := jobCommand(sp.Shim[0], args, os.Environ(), sp.Job.WorkDir, stdout, stderr)
	cmd.ExtraFiles = []*os.File{w} // reportFD
	if p.Namespaces {
		cmd.SysProcAttr.Cloneflags = nsFlags
	}
	if err := cmd.Start(); err != nil {
		r.Close()
		return nil, nil, err
	}
	started(cmd.Process.Pid)
	return cmd, r, nil
}

// readReport reads what the stage reported, once it has ended (the pipe is small).
func readReport(r *os.File) stageReport {
	defer r.Close()
	var rep stageReport
	dec := json.NewDecoder(io.LimitReader(r, 1<<16))
	for {
		var one stageReport
		if dec.Decode(&one) != nil {
			return rep
		}
		if one.Error != "" {
			rep.Error = one.Error
		}
		if one.Status != nil {
			rep.Status = one.Status
		}
	}
}

// report writes one line to the shim, if the report pipe is there.
func report(rep stageReport) {
	if _, err := unix.FcntlInt(reportFD, unix.F_GETFD, 0); err != nil {
		return
	}
	b, _ := json.Marshal(rep)
	_, _ = unix.Write(reportFD, append(b, '\n'))
}

// stageFail reports why the stage could not run the job and returns its exit code.
func stageFail(format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	report(stageReport{Error: msg})
	if _, err := unix.FcntlInt(reportFD, unix.F_GETFD, 0); err != nil {
		fmt.Fprintln(os.Stderr, "enclave: "+msg) // no report pipe: the unconfined exec stage
	}
	return 126
}

// chownTree hands dir and everything in it to uid:gid, never following a symlink.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// jobEnvConfined is jobEnv with TMPDIR pointing at the job's private tmp, unless the
// job sets TMPDIR itself.
func jobEnvConfined(sp spec, tmp string) []string {
	env := jobEnv(sp)
	if _, ok := sp.Job.Env["TMPDIR"]; !ok {
		env = append(env, "TMPDIR="+tmp)
	}
	return env
}

// waitStatusOf is how a process ended, as its wait status.
func waitStatusOf(ps *os.ProcessState) (syscall.WaitStatus, bool) {
	if ps == nil {
		return 0, false
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ws, ok
}
