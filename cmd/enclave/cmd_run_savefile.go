package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode"
)

// saveTarget is where a download is written: a name inside a directory opened as an
// os.Root, so that neither ".." nor a symbolic link in the way can lead the write
// outside that directory.
type saveTarget struct {
	root  *os.Root
	name  string // slash-separated, inside root
	shown string // the destination as the user would name it, for messages
	force bool   // replace an existing file
	perm  fs.FileMode
}

// targetInDir is the file rel (an output's slash-separated path) inside dir. rel comes
// from the server, so anything that is not a plain relative path is refused here, and
// os.Root refuses symbolic links that leave dir.
func targetInDir(dir, rel string, force bool, perm fs.FileMode) (*saveTarget, error) {
	if err := localPath(rel); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("-d: %w", err)
	}
	return &saveTarget{root: root, name: rel, shown: filepath.Join(dir, filepath.FromSlash(rel)), force: force, perm: perm}, nil
}

// targetFile is the file the user named (-O FILE), in an existing directory.
func targetFile(file string, force bool, perm fs.FileMode) (*saveTarget, error) {
	base := filepath.Base(file)
	if base == "." || base == ".." || base == string(filepath.Separator) || strings.HasSuffix(file, string(filepath.Separator)) {
		return nil, fmt.Errorf("-O %s: name a file, not a directory (or use -d DIR)", file)
	}
	root, err := os.OpenRoot(filepath.Dir(file))
	if err != nil {
		return nil, fmt.Errorf("-O: %w", err)
	}
	return &saveTarget{root: root, name: base, shown: file, force: force, perm: perm}, nil
}

// outputTarget is -O FILE of a command that writes to standard output without it (or
// with -O -): nil then; else the file's target, already checked to be free (the caller
// closes it).
func outputTarget(file string, force bool, perm fs.FileMode) (*saveTarget, error) {
	if file == "" || file == "-" {
		return nil, nil
	}
	t, err := targetFile(file, force, perm)
	if err != nil {
		return nil, err
	}
	if err := t.checkFree(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// localPath refuses a path that is absolute, climbs with "..", is not in clean form or
// carries backslashes or control characters.
func localPath(p string) error {
	switch {
	case p == "" || !filepath.IsLocal(filepath.FromSlash(p)) || path.Clean(p) != p:
		return fmt.Errorf("output path %q is not a plain relative path: refused, it could write outside the directory", p)
	case strings.ContainsFunc(p, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }):
		return fmt.Errorf("output path %q contains backslashes or control characters: refused", p)
	}
	return nil
}

func (t *saveTarget) Close() error { return t.root.Close() }

// checkFree fails when the destination exists and --force was not given, so that a
// download that would be refused at the end does not start.
func (t *saveTarget) checkFree() error {
	if t.force {
		return nil
	}
	if _, err := t.root.Lstat(t.name); err == nil {
		return fmt.Errorf("%s exists: use --force to overwrite it", t.shown)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// write streams r into a temporary file next to the destination, checks its sha256
// against wantSHA (when not empty), and only then moves it into place, so that an
// interrupted or corrupt download never leaves a file under the final name. It
// returns the size and sha256 of what was written.
func (t *saveTarget) write(r io.Reader, wantSHA string) (int64, string, error) {
	if err := t.checkFree(); err != nil {
		return 0, "", err
	}
	if dir := path.Dir(t.name); dir != "." {
		if err := t.root.MkdirAll(dir, 0o755); err != nil {
			return 0, "", err
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(t.name), "."+path.Base(t.name)+"."+hex.EncodeToString(rnd[:])+".part")
	f, err := t.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, t.perm)
	if err != nil {
		return 0, "", err
	}
	// Gone after a rename; the leftover after a hard link or a failure.
	defer func() { _ = t.root.Remove(tmp) }()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if wantSHA != "" && !strings.EqualFold(sum, wantSHA) {
		return n, sum, fmt.Errorf("%s: the downloaded bytes have sha256 %s, but the server recorded %s: not saved", t.shown, sum, wantSHA)
	}
	return n, sum, t.place(tmp)
}

// place moves tmp to the destination: with --force replacing what is there, else with a
// hard link, which fails if the name was taken meanwhile.
func (t *saveTarget) place(tmp string) error {
	if t.force {
		return t.root.Rename(tmp, t.name)
	}
	err := t.root.Link(tmp, t.name)
	switch {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s exists: use --force to overwrite it", t.shown)
	case err != nil:
		// A file system without hard links: check, then rename.
		if err := t.checkFree(); err != nil {
			return err
		}
		return t.root.Rename(tmp, t.name)
	}
	return nil
}
