package egress_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/localfs"
	"github.com/spe4hd/enclave/pkg/wes"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// events collects audit events (Release may be given a func called from one goroutine,
// but the lock keeps -race honest if that ever changes).
type events struct {
	mu sync.Mutex
	es []wes.AuditEvent
}

func (e *events) add(ev wes.AuditEvent) { e.mu.Lock(); e.es = append(e.es, ev); e.mu.Unlock() }

func (e *events) find(action, path string) *wes.AuditEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.es {
		if e.es[i].Action == action && e.es[i].Detail["path"] == path {
			return &e.es[i]
		}
	}
	return nil
}

func newLocal(t *testing.T) (*localfs.Store, string) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := localfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}

func selectAll(t *testing.T, z *zone, pol wes.OutputPolicy) []egress.Candidate {
	t.Helper()
	acc, _, err := egress.Select(z.work, pol, egress.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

func readKey(t *testing.T, s wes.ResultStore, key string) (string, error) {
	t.Helper()
	rc, _, err := s.Get(t.Context(), key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func TestReleaseToLocalFS(t *testing.T) {
	z := newZone(t)
	files := map[string]string{"results/a.csv": "id,v\n1,2\n", "results/sub/b.csv": "x\n", "report.html": "<h1>ok</h1>", "results/blob.zzq": "raw"}
	for p, c := range files {
		z.file(p, c)
	}
	pol := wes.OutputPolicy{Globs: []string{"results/**", "report.html"}}
	store, _ := newLocal(t)
	prefix := egress.KeyPrefix("alice", "r1")
	var ev events
	outs, err := egress.Release(t.Context(), store, prefix, z.work, selectAll(t, z, pol), ev.add)
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	var got []string
	for _, o := range outs {
		got = append(got, o.Path)
		want := files[o.Path]
		if o.Key != prefix+o.Path || o.SHA256 != sum(want) || o.Size != int64(len(want)) ||
			o.Status != wes.OutputReleased || o.Released.IsZero() || o.ContentType != egress.ContentType(o.Path) {
			t.Errorf("output %+v: want key %s, sha256 %s, size %d, released", o, prefix+o.Path, sum(want), len(want))
		}
		if c, err := readKey(t, store, o.Key); err != nil || c != want {
			t.Errorf("stored %s = %q, %v; want %q", o.Key, c, err, want)
		}
		e := ev.find(egress.ActionRelease, o.Path)
		if e == nil || e.Outcome != "ok" || e.Actor != "system" || e.Detail["sha256"] != o.SHA256 || e.Detail["key"] != o.Key {
			t.Errorf("audit for %s = %+v, want egress.release ok with sha256 and key", o.Path, e)
		}
	}
	if want := []string{"report.html", "results/a.csv", "results/blob.zzq", "results/sub/b.csv"}; !slices.Equal(got, want) {
		t.Errorf("released %v, want %v", got, want)
	}
	if ct := egress.ContentType("report.html"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("ContentType(report.html) = %q", ct)
	}
	if ct := egress.ContentType("results/blob.zzq"); ct != "application/octet-stream" {
		t.Errorf("ContentType of an unknown extension = %q, want application/octet-stream", ct)
	}
}

// A file swapped between Select and Release is refused, audited, and not stored; the
// other outputs are still released, and nothing of the dataset leaves.
func TestReleaseRefusesSwaps(t *testing.T) {
	tests := []struct {
		name string
		swap func(z *zone)
		kind string
	}{
		{"replaced by a symlink to the dataset", func(z *zone) {
			must(t, os.Remove(z.path("results/a.csv")))
			must(t, os.Symlink(filepath.Join(z.dataset, "secret.csv"), z.path("results/a.csv")))
		}, egress.RefuseChanged},
		{"parent dir replaced by a symlink to the dataset", func(z *zone) {
			must(t, os.WriteFile(filepath.Join(z.dataset, "a.csv"), []byte(secret), 0o640))
			must(t, os.Rename(z.path("results"), z.path("old")))
			must(t, os.Symlink(z.dataset, z.path("results")))
		}, egress.RefuseChanged},
		{"replaced by another regular file", func(z *zone) {
			must(t, os.WriteFile(z.path("tmp"), []byte(strings.Repeat("Z", len("id,v\n1,2\n"))), 0o640))
			must(t, os.Rename(z.path("tmp"), z.path("results/a.csv")))
		}, egress.RefuseChanged},
		{"replaced by a fifo (must not block)", func(z *zone) {
			must(t, os.Remove(z.path("results/a.csv")))
			must(t, syscall.Mkfifo(z.path("results/a.csv"), 0o640))
		}, egress.RefuseChanged},
		{"grew", func(z *zone) {
			f, err := os.OpenFile(z.path("results/a.csv"), os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteString(secret)
			must(t, err)
			must(t, f.Close())
		}, egress.RefuseChanged},
		{"deleted", func(z *zone) { must(t, os.Remove(z.path("results/a.csv"))) }, egress.RefuseChanged},
		{"gained a hard link", func(z *zone) {
			must(t, os.Link(z.path("results/a.csv"), z.path("elsewhere")))
		}, egress.RefuseHardLink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := newZone(t)
			z.file("results/a.csv", "id,v\n1,2\n")
			z.file("report.html", "<p>fine</p>")
			cands := selectAll(t, z, policy)
			if len(cands) != 2 {
				t.Fatalf("selected %v, want 2 files", paths(cands))
			}
			tt.swap(z)
			store, dir := newLocal(t)
			prefix := egress.KeyPrefix("alice", "r1")
			var ev events
			outs, err := egress.Release(t.Context(), store, prefix, z.work, cands, ev.add)
			if err != nil {
				t.Fatalf("Release: %v", err)
			}
			if len(outs) != 1 || outs[0].Path != "report.html" {
				t.Errorf("released %+v, want only report.html", outs)
			}
			e := ev.find(egress.ActionRefuse, "results/a.csv")
			if e == nil || e.Outcome != "refused" || e.Detail["kind"] != tt.kind || strings.Contains(e.Reason, z.work) {
				t.Errorf("audit for the swapped file = %+v, want egress.refuse %s naming no zone path", e, tt.kind)
			}
			if _, err := readKey(t, store, prefix+"results/a.csv"); !wes.IsCode(err, wes.ENOTFOUND) {
				t.Errorf("the swapped file was stored (Get: %v)", err)
			}
			assertNoSecret(t, dir)
		})
	}
}

func (z *zone) path(rel string) string { return filepath.Join(z.work, filepath.FromSlash(rel)) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// assertNoSecret fails if any file under dir holds the dataset's content.
func assertNoSecret(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "SECRET") {
				t.Errorf("the dataset's content reached the store: %s", p)
			}
		}
		return nil
	})
}

// Candidates can be stored (review mode) and read back; forged ones are refused.
func TestReleaseCandidatesFromJSON(t *testing.T) {
	z := newZone(t)
	z.file("results/a.csv", "a")
	b, err := json.Marshal(selectAll(t, z, policy))
	must(t, err)
	var cands []egress.Candidate
	must(t, json.Unmarshal(b, &cands))
	ds, err := os.Stat(filepath.Join(z.dataset, "secret.csv"))
	must(t, err)
	st := ds.Sys().(*syscall.Stat_t)
	for _, p := range []string{"../../../datasets/cohort/secret.csv", "/etc/passwd", "results/../../x", "", "results//a.csv", "./results/a.csv"} {
		cands = append(cands, egress.Candidate{Path: p, Size: ds.Size(), Device: uint64(st.Dev), Inode: st.Ino})
	}
	store, dir := newLocal(t)
	var ev events
	outs, err := egress.Release(t.Context(), store, "o/r1/", z.work, cands, ev.add)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Path != "results/a.csv" {
		t.Errorf("released %+v, want only results/a.csv", outs)
	}
	if e := ev.find(egress.ActionRefuse, "../../../datasets/cohort/secret.csv"); e == nil || e.Detail["kind"] != egress.RefuseInvalidPath {
		t.Errorf("forged candidate: audit %+v, want egress.refuse invalid_path", e)
	}
	assertNoSecret(t, dir)
}

func TestReleaseUploadErrorStops(t *testing.T) {
	z := newZone(t)
	z.file("results/a.csv", "a")
	z.file("results/b.csv", "b")
	store, dir := newLocal(t)
	must(t, os.RemoveAll(dir)) // the store's directory vanishes: every Put fails
	var ev events
	_, err := egress.Release(t.Context(), store, "o/r1/", z.work, selectAll(t, z, policy), ev.add)
	if err == nil {
		t.Fatal("Release to a broken store succeeded")
	}
	if strings.Contains(wes.ErrorMessage(err), z.work) || strings.Contains(wes.ErrorMessage(err), dir) {
		t.Errorf("error message %q names a path", wes.ErrorMessage(err))
	}
	if e := ev.find(egress.ActionRelease, "results/a.csv"); e == nil || e.Outcome != "error" {
		t.Errorf("audit = %+v, want egress.release error for the first file", e)
	}
	if e := ev.find(egress.ActionRelease, "results/b.csv"); e != nil {
		t.Errorf("Release went on after an upload error: %+v", e)
	}
}

func TestReleaseRefusesBadPrefix(t *testing.T) {
	store, _ := newLocal(t)
	for _, p := range []string{"", "../", "/abs/", "a/../"} {
		if _, err := egress.Release(t.Context(), store, p, t.TempDir(), nil, nil); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("Release with prefix %q = %v, want EINVALID", p, err)
		}
	}
}
