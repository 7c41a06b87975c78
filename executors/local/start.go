package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// probeTimeout bounds the check of the shim command (one start of the shim binary).
const probeTimeout = 10 * time.Second

// checkShim makes sure, once per Executor, that ShimCommand is a shim speaking this
// executor's protocol. Submit no longer waits for each shim to come up (that costs a
// start of the whole enclave binary, tens of milliseconds), so a broken ShimCommand
// would otherwise only show as lost jobs. A failed check is not remembered: the next
// Submit checks again.
func (e *Executor) checkShim(ctx context.Context) error {
	e.shimMu.Lock()
	defer e.shimMu.Unlock()
	if e.shimOK {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(pctx, e.cfg.ShimCommand[0], append(slices.Clone(e.cfg.ShimCommand[1:]), "probe")...)
	cmd.Env = e.cfg.ShimEnv
	cmd.Dir = e.cfg.StateDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	// Own process group: a signal to the worker's group must not reach the probe.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err := cmd.Run()
	if got := strings.TrimSpace(stdout.String()); err == nil && got != shimProtocol {
		err = fmt.Errorf("it answered %q, want %q", clip(got), shimProtocol)
	}
	if err != nil {
		if ctx.Err() != nil {
			return &wes.Error{Code: wes.EUNAVAILABLE, Message: "submission interrupted while checking the job supervisor program; submit again", Err: err}
		}
		return wes.Internal(fmt.Errorf("local executor: shim command %q probe: %w; stderr: %s", e.cfg.ShimCommand, err, clip(stderr.String())),
			"the job supervisor program of the local executor does not work")
	}
	e.shimOK = true
	return nil
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// startShim starts `shim run DIR` as the leader of a new session, with the run lock as
// fd 3, and returns its identity for the handle. It does not wait for the shim to come
// up: the pid and the start time (from /proc, fixed at fork and kept across exec) are
// known as soon as the process exists, and that is all a handle needs.
//
// The shim is this process's child. Its own session keeps it out of the worker's process
// group, so a signal to that group (kill -9 of a whole worker) does not reach it; if the
// worker dies the kernel re-parents it (to init or the nearest subreaper). While the
// worker lives, a goroutine waits for the shim so that it does not stay a zombie; that
// goroutine (and the thread it blocks in waitid) ends when the shim does. Compared with
// a launcher process that exits at once, so that init adopts the shim, this saves a
// start of the enclave binary per job; and a worker that is PID 1 of a container, to
// which orphans are re-parented, no longer piles up zombie shims.
func (e *Executor) startShim(dir string, runLock *os.File) (handleData, error) {
	boot, err := bootID()
	if err != nil {
		return handleData{}, wes.Internal(err, "could not read the boot id")
	}
	logf, err := os.OpenFile(filepath.Join(dir, fileShimLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return handleData{}, wes.Internal(err, "could not open the job supervisor's log")
	}
	defer logf.Close() // the shim has its own copy
	cmd := exec.Command(e.cfg.ShimCommand[0], append(slices.Clone(e.cfg.ShimCommand[1:]), "run", dir)...)
	cmd.Env = e.cfg.ShimEnv
	cmd.Dir = dir // never pin the worker's working directory
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{runLock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return handleData{}, wes.Internal(fmt.Errorf("start shim: %w", err), "could not start the job's supervisor process")
	}
	// Read before anything can reap the child: until then even a shim that has already
	// exited is a zombie whose pid nobody else can have.
	ps, err := readProcStat(cmd.Process.Pid)
	go e.reap(cmd, filepath.Base(dir))
	if err != nil {
		return handleData{}, wes.Internal(fmt.Errorf("shim identity: %w", err), "could not identify the job's supervisor process")
	}
	return handleData{StateDir: dir, BootID: boot, ShimPID: cmd.Process.Pid, ShimStart: ps.StartTicks}, nil
}

// reap waits for a shim this process started. A shim that failed says why in shim.log.
func (e *Executor) reap(cmd *exec.Cmd, jobID string) {
	if err := cmd.Wait(); err != nil {
		e.log.Warn("job supervisor process failed; see its shim.log", "job_id", jobID, "err", err)
	}
}
