package runs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/spe4hd/enclave/executors/docker"
	"github.com/spe4hd/enclave/pkg/wes"
)

// A running job's log is read live from its executor, here the real test dockerd (whose
// logs reach the work directory only when the job ends): the owner following it by offset
// sees what the job has written so far, with the zone's paths rewritten, and each read
// goes on where the last one stopped.
func TestLiveLogFromDocker(t *testing.T) {
	host, image := os.Getenv("ENCLAVE_TEST_DOCKER_HOST"), os.Getenv("ENCLAVE_TEST_DOCKER_IMAGE")
	if host == "" || image == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ENCLAVE_TEST_DOCKER_HOST/IMAGE unset: CI needs the test dockerd (scripts/test-services.sh)")
		}
		t.Skip("SKIP: no test dockerd (run under scripts/test-services.sh with docker.io installed)")
	}
	ctx := context.Background()
	ex, err := docker.New(ctx, docker.Config{Host: host, Image: image, Grace: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	e := newTestEnv(t, func(d *Deps) {
		d.LogReader = func(name string) wes.LogReader {
			if name == docker.Name {
				return ex
			}
			return nil
		}
	})
	id := uuid.Must(uuid.NewV7()).String()
	layout := wes.LayoutFor(e.dataDir, id)
	work := layout.WorkDir()
	if err := os.MkdirAll(work, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(work, 0o777); err != nil {
		t.Fatal(err)
	}
	// The job names its own work dir (a zone path), then waits for the test.
	script := "echo first line; echo reading " + work + "/data.csv; while [ ! -e release ]; do sleep 0.05; done; echo last line"
	job := &wes.Job{ID: id, Argv: []string{"sh", "-c", script}, WorkDir: work, Stdout: layout.StdoutPath(), Stderr: layout.StderrPath()}
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Cancel(ctx, h); _ = ex.Cleanup(ctx, h) })
	run := &wes.Run{ID: id, Owner: "alice", State: wes.StateRunning, WorkDir: work, Executor: docker.Name, Handle: &h}
	if err := e.store.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	read := func(offset int64) (string, int64) {
		t.Helper()
		body, next, err := e.s.LogSection(ctx, alice, id, Stdout, offset)
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b), next
	}
	var got string
	var next int64
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(got, "data.csv"); {
		if time.Now().After(deadline) {
			t.Fatalf("the live log never showed the job's second line: %q", got)
		}
		var part string
		part, next = read(next)
		got += part
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(got, e.dataDir) || !strings.HasPrefix(got, "first line\nreading ") {
		t.Fatalf("live log %q: want the job's lines with the zone path rewritten", got)
	}
	if err := os.WriteFile(filepath.Join(work, "release"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(got, "last line"); {
		if time.Now().After(deadline) {
			t.Fatalf("the live log never went on from offset %d: %q", next, got)
		}
		var part string
		part, next = read(next)
		got += part
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Count(got, "first line") != 1 {
		t.Errorf("a line was read twice: %q", got)
	}
}
