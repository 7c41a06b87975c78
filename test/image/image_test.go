// Package image tests the enclave container image (Dockerfile, scripts/image.sh) on the
// test Docker engine: it builds the image, runs it, and checks that it serves the WES API,
// runs as the non-root user and holds no shell.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nonRoot is the uid and gid the image runs as (the Dockerfile's USER).
const nonRoot = "65532"

// engine returns the test dockerd's address (scripts/docker.sh start writes it). Without one
// the test skips, except under CI, where it fails.
func engine(t *testing.T) string {
	t.Helper()
	host := os.Getenv("ENCLAVE_TEST_DOCKER_HOST")
	if host == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ENCLAVE_TEST_DOCKER_HOST is required under CI (scripts/test-services.sh starts the test dockerd)")
		}
		t.Skip("SKIP: no ENCLAVE_TEST_DOCKER_HOST (run under scripts/test-services.sh, or scripts/docker.sh start DIR)")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatalf("the docker CLI is needed with ENCLAVE_TEST_DOCKER_HOST set: %v", err)
	}
	return host
}

// docker runs the docker CLI against host and returns its stdout; stderr is in the error.
func docker(ctx context.Context, host string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// buildImage builds the image with scripts/image.sh under a tag of its own and removes it
// when the test ends.
func buildImage(t *testing.T, host string) string {
	t.Helper()
	tag := fmt.Sprintf("local/enclave-image-test:%d", time.Now().UnixNano())
	start := time.Now()
	cmd := exec.Command(filepath.Join(repoRoot(t), "scripts", "image.sh"), "build", tag)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host, "VERSION=v0.0.0-image-test")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("scripts/image.sh build: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("scripts/image.sh build: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != tag {
		t.Fatalf("scripts/image.sh printed %q, want the image name %q", got, tag)
	}
	t.Logf("image %s built in %s", tag, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { _, _ = docker(context.Background(), host, "rmi", "-f", tag) })
	return tag
}

// freePort returns a TCP port nothing listens on now. The container uses the host's network
// (the test dockerd has no bridge), so it must not collide with another test's port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestImage(t *testing.T) {
	host := engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	image := buildImage(t, host)

	t.Run("config", func(t *testing.T) {
		out, err := docker(ctx, host, "image", "inspect", "-f", "{{json .Config}}", image)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			User       string
			Entrypoint []string
			Env        []string
		}
		if err := json.Unmarshal([]byte(out), &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.User != nonRoot+":"+nonRoot {
			t.Errorf("Config.User = %q, want %s:%s", cfg.User, nonRoot, nonRoot)
		}
		if len(cfg.Entrypoint) != 1 || cfg.Entrypoint[0] != "/usr/local/bin/enclave" {
			t.Errorf("Entrypoint = %q, want [/usr/local/bin/enclave] (exec form: no shell)", cfg.Entrypoint)
		}
	})

	t.Run("files", func(t *testing.T) { checkFiles(ctx, t, host, image) })

	t.Run("no shell", func(t *testing.T) {
		for _, sh := range []string{"/bin/sh", "/bin/bash", "/bin/busybox", "/usr/bin/env"} {
			out, err := docker(ctx, host, "run", "--rm", "--network", "none", "--entrypoint", sh, image, "-c", "true")
			if err == nil {
				t.Errorf("%s ran in the image (output %q); the image must hold no shell", sh, out)
			}
		}
	})

	// A container listens on every interface: without auth configured enclave must refuse
	// to start rather than serve everyone as the anonymous admin.
	t.Run("refuses auth off by default", func(t *testing.T) {
		addr := fmt.Sprintf("0.0.0.0:%d", freePort(t))
		_, err := docker(ctx, host, "run", "--rm", "--network", "host", "-e", "ENCLAVE_SERVER_ADDR="+addr, image)
		if err == nil || !strings.Contains(err.Error(), "auth.mode") {
			t.Fatalf("enclave started on %s without auth configured; want a refusal naming auth.mode, got %v", addr, err)
		}
	})

	t.Run("serves as non-root", func(t *testing.T) { checkServes(ctx, t, host, image) })
}

// checkServes runs the server on a non-loopback address with authentication off written
// out, as an operator trying the image would, and checks that it answers service-info and
// /readyz, and that its process runs as the non-root user.
func checkServes(ctx context.Context, t *testing.T, host, image string) {
	port := freePort(t)
	name := fmt.Sprintf("enclave-image-test-%d", port)
	_, err := docker(ctx, host, "run", "-d", "--name", name, "--network", "host", "--read-only",
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"--tmpfs", "/tmp:mode=1777", "--tmpfs", "/data:uid="+nonRoot+",gid="+nonRoot+",mode=0750",
		"-e", fmt.Sprintf("ENCLAVE_SERVER_ADDR=0.0.0.0:%d", port), "-e", "ENCLAVE_AUTH_MODE=none", image)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := docker(context.Background(), host, "logs", name)
			t.Logf("container log:\n%s", logs)
		}
		_, _ = docker(context.Background(), host, "rm", "-f", name)
	})

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	body := waitFor(ctx, t, host, name, base+"/ga4gh/wes/v1/service-info")
	var info struct {
		WorkflowEngineVersions map[string]any `json:"workflow_engine_versions"`
		Version                string         `json:"version"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatalf("service-info is not JSON: %v: %s", err, body)
	}
	if info.Version != "v0.0.0-image-test" {
		t.Errorf("service-info version = %q, want the version linked in by scripts/image.sh (v0.0.0-image-test)", info.Version)
	}
	waitFor(ctx, t, host, name, base+"/readyz")

	out, err := docker(ctx, host, "inspect", "-f", "{{.State.Pid}}", name)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(out)
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatalf("reading the container process's status: %v", err)
	}
	for _, key := range []string{"Uid:", "Gid:"} {
		// Real, effective, saved and filesystem ids, all the non-root user.
		if got := field(string(status), key); got != strings.Repeat(nonRoot+" ", 3)+nonRoot {
			t.Errorf("process %s %s = %q, want %s everywhere", pid, key, got, nonRoot)
		}
	}
	if got := field(string(status), "CapEff:"); strings.Trim(got, "0") != "" {
		t.Errorf("process %s has effective capabilities %s, want none", pid, got)
	}
}

// field returns the whitespace-normalised value of a /proc/PID/status line.
func field(status, key string) string {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// waitFor polls url until it answers 200 and returns the body. It gives up when the
// container exits (its log then says why) or after a minute.
func waitFor(ctx context.Context, t *testing.T, host, name, url string) []byte {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		if running, _ := docker(ctx, host, "inspect", "-f", "{{.State.Running}}", name); strings.TrimSpace(running) != "true" {
			t.Fatalf("the container stopped before %s answered (last: %s)", url, last)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	t.Fatalf("%s did not answer 200 within a minute (last: %s)", url, last)
	return nil
}

// checkFiles reads the image's layers (docker save) and checks they hold exactly the
// binary, the CA bundle, passwd and group, and the non-root user's /data and /tmp: no
// shell, no other program, no link to one.
func checkFiles(ctx context.Context, t *testing.T, host, image string) {
	cmd := exec.CommandContext(ctx, "docker", "save", image)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	saved, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker save: %v", err)
	}
	want := map[string]bool{
		"usr/local/bin/enclave": false, "etc/ssl/certs/ca-certificates.crt": false,
		"etc/passwd": false, "etc/group": false, "data/": false, "tmp/": false,
	}
	for _, layer := range layers(t, saved) {
		tr := tar.NewReader(bytes.NewReader(layer))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(h.Name, "./")
			if _, ok := want[name]; ok {
				want[name] = true
			}
			checkEntry(t, h, name, tr)
		}
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("%s missing from the image", name)
		}
	}
}

func checkEntry(t *testing.T, h *tar.Header, name string, r io.Reader) {
	t.Helper()
	switch {
	case h.Typeflag == tar.TypeReg && h.Mode&0o111 != 0 && name != "usr/local/bin/enclave":
		t.Errorf("executable %s in the image; only usr/local/bin/enclave may be", name)
	case h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink:
		t.Errorf("link %s -> %s in the image", name, h.Linkname)
	case name == "data/" || name == "tmp/":
		if strconv.Itoa(h.Uid) != nonRoot || strconv.Itoa(h.Gid) != nonRoot {
			t.Errorf("%s is owned by %d:%d, want %s:%s (writable by the process)", name, h.Uid, h.Gid, nonRoot, nonRoot)
		}
	case name == "etc/passwd":
		b, _ := io.ReadAll(r)
		if strings.Contains(string(b), "root:") || !strings.Contains(string(b), ":"+nonRoot+":"+nonRoot+":") {
			t.Errorf("etc/passwd = %q, want only the non-root user %s", b, nonRoot)
		}
	}
}

// layers returns the layer tars of a `docker save` archive, in order (manifest.json).
func layers(t *testing.T, saved []byte) [][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(saved))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = b
		}
	}
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("docker save: manifest.json: %v (%d images)", err, len(manifest))
	}
	var out [][]byte
	for _, l := range manifest[0].Layers {
		b, ok := files[l]
		if !ok {
			t.Fatalf("docker save: layer %s missing", l)
		}
		out = append(out, b)
	}
	return out
}
