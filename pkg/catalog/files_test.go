package catalog_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/wes"
)

func TestVerifyFiles(t *testing.T) {
	c, zone := mustLoad(t)
	if err := c.VerifyFiles("wf-a"); err != nil {
		t.Fatalf("VerifyFiles of untouched files: %v", err)
	}
	if err := c.VerifyFiles("wf-zzz"); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("VerifyFiles of an unknown workflow: %v", err)
	}

	for _, tt := range []struct {
		name   string
		change func(t *testing.T, p string)
		cause  string
	}{
		{"content changed", func(t *testing.T, p string) { writeFile(t, p, "print('evil')\n") }, "files[1] lib/helper.py: sha256 mismatch"},
		{"file removed", func(t *testing.T, p string) { must(t, os.Remove(p)) }, "files[1] lib/helper.py: cannot be read: no such file"},
		{"replaced by a symlink", func(t *testing.T, p string) {
			must(t, os.Remove(p))
			must(t, os.Symlink(filepath.Join(zone, "data/a.csv"), p))
		}, "files[1] lib/helper.py: must be a regular file, not a symlink"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(zone, "wf/a/lib/helper.py")
			orig, _ := os.ReadFile(p)
			tt.change(t, p)
			t.Cleanup(func() { _ = os.Remove(p); writeFile(t, p, string(orig)) })

			err := c.VerifyFiles("wf-a")
			if !wes.IsCode(err, wes.ECONFLICT) || !strings.Contains(err.Error(), tt.cause) {
				t.Fatalf("VerifyFiles = %v, want ECONFLICT with %q", err, tt.cause)
			}
			if want := "workflow wf-a cannot run: its files no longer match the catalogue's checksums"; !strings.HasPrefix(wes.ErrorMessage(err), want) {
				t.Errorf("message = %q", wes.ErrorMessage(err))
			}
			assertNoZonePath(t, err.Error(), zone)

			// Staging refuses the same way and leaves no unchecked file behind.
			work := t.TempDir()
			err = c.StageFiles("wf-a", work)
			if !wes.IsCode(err, wes.ECONFLICT) {
				t.Fatalf("StageFiles = %v, want ECONFLICT", err)
			}
			assertNoZonePath(t, err.Error(), zone)
			if _, err := os.Lstat(filepath.Join(work, "lib/helper.py")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the changed file was left in the work dir: %v", err)
			}
		})
	}
}

func TestStageFiles(t *testing.T) {
	c, zone := mustLoad(t)
	work := t.TempDir()
	if err := c.StageFiles("wf-a", work); err != nil {
		t.Fatal(err)
	}
	// A retried start stages again over the first copy.
	if err := c.StageFiles("wf-a", work); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"Snakefile", "lib/helper.py"} {
		got, err := os.ReadFile(filepath.Join(work, rel))
		if err != nil || string(got) != zoneFiles["wf/a/"+rel] {
			t.Errorf("%s = %q, %v", rel, got, err)
		}
	}
	if err := c.StageFiles("wf-zzz", work); !wes.IsCode(err, wes.ECONFLICT) {
		t.Errorf("StageFiles of an unknown workflow: %v", err)
	}

	// A symlink planted in the work dir cannot redirect the copy outside it.
	work = t.TempDir()
	outside := t.TempDir()
	must(t, os.Symlink(outside, filepath.Join(work, "lib")))
	err := c.StageFiles("wf-a", work)
	if err == nil {
		t.Fatal("StageFiles followed a symlink out of the work dir")
	}
	assertNoZonePath(t, wes.ErrorMessage(err), zone)
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("StageFiles wrote outside the work dir: %v", entries)
	}
}

// A FIFO in place of a workflow file must not block the check.
func TestVerifyFilesFIFO(t *testing.T) {
	c, zone := mustLoad(t)
	p := filepath.Join(zone, "wf/a/lib/helper.py")
	must(t, os.Remove(p))
	must(t, syscall.Mkfifo(p, 0o644))
	done := make(chan error, 1)
	go func() { done <- c.VerifyFiles("wf-a") }()
	select {
	case err := <-done:
		if !wes.IsCode(err, wes.ECONFLICT) {
			t.Fatalf("VerifyFiles = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("VerifyFiles blocked on a FIFO")
	}
}

func TestHolderReload(t *testing.T) {
	zone := newZone(t)
	path := writeCatalog(t, zone, baseYAML)
	h, err := catalog.NewHolder(path, catalog.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := h.Catalog()

	// A broken file keeps the old catalogue.
	writeFile(t, path, baseYAML+"\ncolour: red\n")
	err = h.Reload()
	if got := problems(t, err); !strings.Contains(strings.Join(got, "\n"), "unknown field colour") {
		t.Errorf("problems = %q", got)
	}
	if h.Catalog() != first {
		t.Fatal("a failed reload replaced the catalogue")
	}

	// A good file replaces it; readers in flight keep their snapshot.
	doc := baseDoc(t)
	workflow(doc, 2)["groups"] = []any{"team-a"}
	writeCatalog(t, zone, toYAML(t, doc))

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := h.Catalog()
				if _, err := c.Authorize(alice, "wf-a", json.RawMessage(`{"cohort": "ds-a"}`)); err != nil {
					t.Errorf("Authorize during reload: %v", err)
					return
				}
			}
		}()
	}
	if err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if h.Catalog() == first {
		t.Fatal("a good reload kept the old catalogue")
	}
	teamA := &wes.Principal{Groups: []string{"team-a"}}
	if _, err := first.Authorize(teamA, "wf-open", nil); !wes.IsCode(err, wes.EFORBIDDEN) {
		t.Errorf("the old snapshot changed: %v", err)
	}
	if _, err := h.Catalog().Authorize(teamA, "wf-open", nil); err != nil {
		t.Errorf("the reloaded policy is not in use: %v", err)
	}

	if _, err := catalog.NewHolder(filepath.Join(zone, "none.yaml"), catalog.Options{}, nil); err == nil {
		t.Error("NewHolder of a missing file succeeded")
	}
}

func TestHolderReloadOn(t *testing.T) {
	zone := newZone(t)
	path := writeCatalog(t, zone, baseYAML)
	h, err := catalog.NewHolder(path, catalog.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := h.Catalog()
	sig := make(chan os.Signal)
	done := make(chan struct{})
	go func() { h.ReloadOn(t.Context(), sig); close(done) }()

	sig <- syscall.SIGHUP // unbuffered: ReloadOn has it once the send returns
	eventually(t, func() bool { return h.Catalog() != first })
	close(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ReloadOn did not return when its channel closed")
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
