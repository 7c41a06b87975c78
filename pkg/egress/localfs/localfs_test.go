package localfs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/egress/egresstest"
	"github.com/spe4hd/enclave/pkg/egress/localfs"
	"github.com/spe4hd/enclave/pkg/wes"
)

func newStore(t *testing.T) (*localfs.Store, string) {
	dir := filepath.Join(t.TempDir(), "results")
	s, err := localfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}

func TestConformance(t *testing.T) {
	egresstest.RunStore(t, func(t *testing.T) wes.ResultStore {
		s, _ := newStore(t)
		return s
	})
}

// Stored files are 0640, and a link planted inside the store cannot lead a key outside.
func TestModesAndPlantedLink(t *testing.T) {
	s, dir := newStore(t)
	if _, err := s.Put(t.Context(), "o/r/a.txt", strings.NewReader("hi"), 2, "text/plain"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "objects", "o", "r", "a.txt"))
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("object file: %v, mode %v; want 0640", err, fi.Mode().Perm())
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "objects", "o", "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "meta", "o", "evil")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(t.Context(), "o/evil/secret.txt"); err == nil {
		t.Error("Get through a link planted in the store succeeded")
	}
	if _, err := s.Put(t.Context(), "o/evil/new.txt", strings.NewReader("x"), 1, "text/plain"); err == nil {
		t.Error("Put through a link planted in the store succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "new.txt")); err == nil {
		t.Error("Put wrote outside the store")
	}
}
