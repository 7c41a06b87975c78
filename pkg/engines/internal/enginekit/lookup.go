package enginekit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// ErrLink is returned by Tree.Lookup for a path that passes through a symbolic link.
var ErrLink = errors.New("the path passes through a link")

// Tree looks paths up in a work dir without following links. It reads each directory it
// needs once, so checking every string of a large params object costs map look-ups, not
// a system call per string. It is not safe for concurrent use.
type Tree struct {
	root string
	dirs map[string]map[string]fs.FileMode // relative dir ("." for the root) → entry name → type
}

// NewTree returns a Tree of workDir.
func NewTree(workDir string) *Tree {
	return &Tree{root: workDir, dirs: map[string]map[string]fs.FileMode{}}
}

// Lookup finds rel, a relative path without "..", under the work dir. It returns the type
// of its last component (fs.ModeDir for a directory, 0 for a regular file) and ok, or
// ok false when a component does not exist or is not a directory where one is needed;
// ErrLink when a component is a symbolic link. Other errors are internal.
func (t *Tree) Lookup(rel string) (mode fs.FileMode, ok bool, err error) {
	dir, mode := ".", fs.ModeDir
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if part == "." || part == "" {
			continue
		}
		if mode&fs.ModeDir == 0 {
			return 0, false, nil
		}
		entries, err := t.read(dir)
		if err != nil {
			return 0, false, err
		}
		if mode, ok = entries[part]; !ok {
			return 0, false, nil
		}
		if mode&fs.ModeSymlink != 0 {
			return 0, false, ErrLink
		}
		dir = dir + "/" + part
	}
	return mode, true, nil
}

func (t *Tree) read(dir string) (map[string]fs.FileMode, error) {
	if m, ok := t.dirs[dir]; ok {
		return m, nil
	}
	// The work dir itself may be reached through a link (the data dir's path); the
	// directories under it were found by name, never followed.
	des, err := os.ReadDir(filepath.Join(t.root, filepath.FromSlash(dir)))
	if err != nil {
		return nil, wes.Internal(err, "cannot read the run's files")
	}
	m := make(map[string]fs.FileMode, len(des))
	for _, de := range des {
		m[de.Name()] = de.Type()
	}
	t.dirs[dir] = m
	return m, nil
}
