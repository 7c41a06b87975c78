package browser

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

const (
	readyTimeout = 60 * time.Second // a server answering /healthz on a loaded machine
	stopTimeout  = 30 * time.Second // a graceful stop
)

// server is one `enclave server` process of a test, configured through ENCLAVE_* only.
type server struct {
	addr    string // host:port it listens on
	dir     string // working directory (the embedded default keeps ./enclave-data here)
	logPath string
}

// URL is the root the portal is mounted at, ending in "/".
func (s *server) URL() string { return "http://" + s.addr + "/" }

// startServer runs `enclave server --addr ADDR` with env (ENCLAVE_* settings) added to a
// clean environment, waits for /healthz, and stops it (SIGTERM, checked) when the test ends;
// its log is printed when the test fails.
func startServer(t *testing.T, addr string, env ...string) *server {
	t.Helper()
	s := &server{addr: addr, dir: t.TempDir()}
	s.logPath = filepath.Join(t.TempDir(), "enclave-server.log")
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(enclaveBin, "server", "--addr", addr)
	cmd.Dir = s.dir
	cmd.Env = append(testutil.CleanEnv(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start enclave server: %v", err)
	}
	logf.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("enclave server exited with %v after SIGTERM; want a clean exit", err)
			}
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("enclave server did not stop within %s of SIGTERM; killed it", stopTimeout)
		}
		if t.Failed() || os.Getenv("BROWSER_SHOW_LOGS") != "" {
			t.Logf("---- log of enclave server ----\n%s", testutil.TailFile(s.logPath, 64<<10))
		}
	})

	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
			err = errors.New(resp.Status)
		}
		select {
		case err := <-done:
			done <- err // for the cleanup
			t.Fatalf("enclave server exited before it was ready: %v\n%s", err, testutil.TailFile(s.logPath, 16<<10))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("enclave server did not answer /healthz within %s: %v", readyTimeout, err)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
}

// embeddedServer is `make run`: no configuration file, authentication off, the embedded
// store, the example catalogue.
func embeddedServer(t *testing.T) *server {
	t.Helper()
	return startServer(t, testutil.FreeAddr(t), "ENCLAVE_ZONE_CATALOG="+filepath.Join(repoRoot, "examples", "catalog", "catalog.yaml"))
}
