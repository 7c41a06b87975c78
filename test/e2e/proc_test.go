package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// Deadlines. The machine has two cores shared with other suites running under -race, so
// they are generous; every wait polls and returns as soon as its condition holds.
const (
	readyTimeout = 60 * time.Second // a server answering service-info
	stopTimeout  = 30 * time.Second // a graceful stop (server.shutdown_timeout is 20s)
	runTimeout   = 2 * time.Minute  // a small workflow reaching its end
	// recoverTimeout covers a step whose worker was killed mid-step: asynq gives the
	// step back only once its lease (30 s) is 30 s past, checked once a minute.
	recoverTimeout = 150 * time.Second
)

// deployment is one Enclave installation: a working directory, a data directory and the
// ENCLAVE_* configuration that every process of it (servers, workers) is started with.
type deployment struct {
	t       *testing.T
	dir     string   // working directory of the processes
	dataDir string   // absolute data_dir
	logDir  string   // one log file per process started
	addr    string   // host:port of the WES API
	env     []string // ENCLAVE_* settings, "KEY=value"
	args    []string // extra arguments of `enclave server`
	api     *wesAPI
	started atomic.Int32 // processes started, for log file names
}

// redisDeployment returns a deployment on the test Redis with its own key prefix and
// queue, a temporary data dir and a free loopback port. settings are more ENCLAVE_*
// variables (e.g. "ENCLAVE_WORKER_IN_PROCESS=false").
func redisDeployment(t *testing.T, settings ...string) *deployment {
	t.Helper()
	redisAddr := testutil.RedisAddr(t)
	d := newDeployment(t)
	d.dataDir = filepath.Join(d.dir, "data")
	d.env = append([]string{
		"ENCLAVE_REDIS_ADDR=" + redisAddr,
		"ENCLAVE_REDIS_KEY_PREFIX=" + testutil.UniqueName("e2e:") + ":",
		"ENCLAVE_REDIS_QUEUE=" + testutil.UniqueName("e2e-"),
		"ENCLAVE_DATA_DIR=" + d.dataDir,
		"ENCLAVE_SERVER_ADDR=" + d.addr,
		// A cancelled job gets SIGTERM first; nothing here needs the default 10s grace.
		"ENCLAVE_EXECUTOR_LOCAL_GRACE=3s",
	}, settings...)
	return d
}

// embeddedDeployment is `enclave server` with no configuration at all: the embedded
// store, data under ./enclave-data of its working directory. Only the port is chosen
// (with --addr), so parallel tests and a developer's own server on 8080 do not collide.
func embeddedDeployment(t *testing.T) *deployment {
	t.Helper()
	d := newDeployment(t)
	d.dataDir = filepath.Join(d.dir, "enclave-data")
	d.args = []string{"--addr", d.addr}
	return d
}

func newDeployment(t *testing.T) *deployment {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := &deployment{t: t, dir: dir, logDir: t.TempDir(), addr: testutil.FreeAddr(t)}
	d.api = newWESAPI(t, d.addr)
	return d
}

// URL is the server's root URL, as given to `enclave run --url`.
func (d *deployment) URL() string { return "http://" + d.addr }

// startServer starts `enclave server` and waits until it answers service-info. Called
// again after a kill it restarts the server with the same configuration and port.
func (d *deployment) startServer() *process {
	d.t.Helper()
	p := d.start("server", append([]string{"server"}, d.args...)...)
	d.api.hc.CloseIdleConnections() // connections to a killed server are dead
	deadline := time.Now().Add(readyTimeout)
	for {
		_, err := d.api.c.ServiceInfo(context.Background())
		if err == nil {
			return p
		}
		if p.exited() {
			d.t.Fatalf("enclave server exited before it answered service-info: %v (log below)", p.exitErr())
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("enclave server did not answer service-info within %s: last %v", readyTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startWorker starts `enclave worker`. It has no endpoint to wait on: the runs it takes
// show that it works.
func (d *deployment) startWorker() *process {
	d.t.Helper()
	return d.start("worker", "worker")
}

// process is an enclave process of a deployment. Its output goes to a log file that is
// printed when the test fails.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has been waited for
	err     error         // its exit status, valid after done
	stopped atomic.Bool   // the test stopped or killed it on purpose
}

func (d *deployment) start(role string, args ...string) *process {
	t := d.t
	t.Helper()
	n := d.started.Add(1)
	p := &process{name: fmt.Sprintf("%s #%d", role, n), done: make(chan struct{})}
	p.logPath = filepath.Join(d.logDir, fmt.Sprintf("%02d-%s.log", n, role))
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(enclaveBin, args...)
	p.cmd.Dir = d.dir
	p.cmd.Env = append(testutil.CleanEnv(), d.env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", p.name, err)
	}
	logf.Close() // the child has its own descriptor
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		crashed := p.exited() && !p.stopped.Load()
		p.stop(t)
		if crashed {
			t.Errorf("%s exited on its own: %v", p.name, p.err)
		}
		if t.Failed() || os.Getenv("E2E_SHOW_LOGS") != "" {
			t.Logf("---- log of %s (%s) ----\n%s", p.name, strings.Join(args, " "), testutil.TailFile(p.logPath, 64<<10))
		}
	})
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) exitErr() error {
	<-p.done
	return p.err
}

// stop ends the process gracefully (SIGTERM) and checks that it exits 0 in time; a
// process that does not is killed and the test fails.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.stopped.Swap(true) || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("%s exited with %v after SIGTERM; want a clean exit", p.name, p.err)
		}
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within %s of SIGTERM; killed it", p.name, stopTimeout)
	}
}

// kill9 kills the process with SIGKILL, as a crash or the OOM killer would, and waits
// until it is gone.
func (p *process) kill9(t *testing.T) {
	t.Helper()
	p.stopped.Store(true)
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill -9 %s: %v", p.name, err)
	}
	<-p.done
}
