package k8sagent

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// proc is a pod's container run as a host process, in its own process group: the group
// stands for the container, so everything the command started ends with it.
type proc struct {
	uid     types.UID
	cmd     *exec.Cmd
	started time.Time
	log     *logFile

	mu          sync.Mutex
	terminating bool
	exited      bool
	done        chan struct{} // closed once the group is gone and the log complete
	exitCode    int32
	finished    time.Time
}

// startProc starts the pod's first container: argv = command + args, cwd = workingDir,
// environment = a PATH (an image's default) and the container's literal env values.
// Images, security contexts, volumes and resources are not applied: the process runs
// as the agent's user and sees the host's file system, where the executor's volume
// paths are the same host paths.
func startProc(pod *corev1.Pod, logPath string) (*proc, error) {
	c := pod.Spec.Containers[0]
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(argv) == 0 {
		return nil, errors.New("the container has no command (image entrypoints are not known to the test agent)")
	}
	lf, err := createLog(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.WorkingDir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/tmp"}
	for _, e := range c.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	outR, outW, err := os.Pipe()
	if err != nil {
		_ = lf.close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = lf.close()
		_, _ = outR.Close(), outW.Close()
		return nil, err
	}
	// *os.File streams go to the child as they are: Wait returns when the main process
	// exits, not when the last process holding the pipes does.
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	_, _ = outW.Close(), errW.Close()
	if err != nil {
		_, _ = outR.Close(), errR.Close()
		_ = lf.close()
		return nil, err
	}
	p := &proc{uid: pod.UID, cmd: cmd, started: time.Now(), log: lf, done: make(chan struct{})}
	var readers sync.WaitGroup
	readers.Go(func() { lf.copyFrom(streamStdout, outR); _ = outR.Close() })
	readers.Go(func() { lf.copyFrom(streamStderr, errR); _ = errR.Close() })
	go func() {
		_ = cmd.Wait()
		code := exitCode(cmd.ProcessState)
		// The main process is the container: when it exits, the rest of the group goes.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		readers.Wait()
		_ = lf.close()
		p.mu.Lock()
		p.exited, p.exitCode, p.finished = true, code, time.Now()
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// exitCode is the container's exit code: the status, or 128+signal.
func exitCode(ps *os.ProcessState) int32 {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int32(ws.Signal())
	}
	return int32(ps.ExitCode())
}

// terminate sends SIGTERM to the group and SIGKILL after grace, once.
func (p *proc) terminate(grace time.Duration) {
	p.mu.Lock()
	if p.terminating || p.exited {
		p.mu.Unlock()
		return
	}
	p.terminating = true
	p.mu.Unlock()
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	go func() {
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}()
}

// kill ends the group at once and waits for it.
func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *proc) containerID() string {
	return "enclave-agent://" + strconv.Itoa(p.cmd.Process.Pid)
}

func logPath(dir string, uid types.UID) string {
	return filepath.Join(dir, string(uid)+".log")
}
