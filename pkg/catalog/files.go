package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/spe4hd/enclave/pkg/wes"
)

// VerifyFiles re-checks the sha256 of every file of workflow id, for the runner before a
// run starts. ECONFLICT when the workflow left the catalogue or a file changed or went
// missing; the message is safe for the run's owner and names no path, the cause (in the
// error chain, for the log and the audit trail) names the file relative to the
// workflow's dir.
func (c *Catalog) VerifyFiles(id string) error {
	e, ok := c.workflows[id]
	if !ok {
		return wes.Errorf(wes.ECONFLICT, "workflow %q is no longer in the catalogue", id)
	}
	for i, f := range e.Files {
		got, err := hashFile(filepath.Join(e.dir, filepath.FromSlash(f.Path)))
		if err == nil && got != f.SHA256 {
			err = errors.New("sha256 mismatch")
		}
		if err != nil {
			return e.tampered(i, err)
		}
	}
	return nil
}

// StageFiles copies the files of workflow id into workDir at their paths (Entry.Files),
// checking each file's sha256 on the bytes it copies, so nothing can change between the
// check and the run. A file that does not match is removed again and the error is
// ECONFLICT, as for VerifyFiles. The copy stays inside workDir even if it holds symlinks.
func (c *Catalog) StageFiles(id, workDir string) error {
	e, ok := c.workflows[id]
	if !ok {
		return wes.Errorf(wes.ECONFLICT, "workflow %q is no longer in the catalogue", id)
	}
	dst, err := os.OpenRoot(workDir)
	if err != nil {
		return wes.Internal(pathless(err), "cannot open the run's work dir")
	}
	defer dst.Close()
	for i, f := range e.Files {
		if err := e.stage(dst, f); err != nil {
			var we *wes.Error
			if errors.As(err, &we) {
				return err
			}
			return e.tampered(i, err)
		}
	}
	return nil
}

func (e *Entry) stage(dst *os.Root, f File) error {
	src, err := openRegular(filepath.Join(e.dir, filepath.FromSlash(f.Path)))
	if err != nil {
		return err
	}
	defer src.Close()
	rel := filepath.FromSlash(f.Path)
	if d := path.Dir(f.Path); d != "." {
		if err := dst.MkdirAll(filepath.FromSlash(d), 0o755); err != nil {
			return wes.Internal(pathless(err), "cannot write workflow %s into the work dir", e.ID)
		}
	}
	out, err := dst.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return wes.Internal(pathless(err), "cannot write workflow %s into the work dir", e.ID)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), src)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		err = errors.New("sha256 mismatch")
	}
	if err != nil {
		_ = dst.Remove(rel) // never leave an unchecked workflow file behind
		return err
	}
	return nil
}

// tampered is the error for a pinned file that no longer matches.
func (e *Entry) tampered(i int, cause error) error {
	return &wes.Error{Code: wes.ECONFLICT,
		Message: fmt.Sprintf("workflow %s cannot run: its files no longer match the catalogue's checksums; the operators must check it", e.ID),
		Err:     fmt.Errorf("workflow %s files[%d] %s: %w", e.ID, i, e.Files[i].Path, pathless(cause))}
}

// hashFile returns the sha256 of the regular file at p (not a symlink), as hex. Errors
// carry no path.
func hashFile(p string) (string, error) {
	f, err := openRegular(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", pathless(err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// openRegular opens p for reading if it is a regular file. O_NOFOLLOW refuses a symlink
// at the last component, and the check runs on the opened file, so nothing can be swapped
// in between.
func openRegular(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, errors.New("must be a regular file, not a symlink")
	}
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %w", pathless(err))
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, errors.New("must be a regular file")
	}
	return f, nil
}
