package egress

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"syscall"
)

// CandidateSHA256 hashes the file c names in workDir, without following a link, and only
// if it is still the very file Select saw (same device, inode and size). Review mode uses
// it to record pending outputs and to check, at approval, that nothing changed.
func CandidateSHA256(workDir string, c Candidate) (string, error) {
	h := sha256.New()
	if err := readCandidate(workDir, c, func(r io.Reader) error {
		_, err := io.Copy(h, r)
		return err
	}); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readCandidate hands read the content of the file c names in workDir, opened without
// following a link and only if it is still the very file Select saw (same device, inode
// and size), read up to that size.
func readCandidate(workDir string, c Candidate, read func(io.Reader) error) error {
	root, err := os.OpenRoot(workDir)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := root.OpenFile(c.Path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() || uint64(st.Dev) != c.Device || uint64(st.Ino) != c.Inode || fi.Size() != c.Size {
		return errors.New("not the file selected")
	}
	return read(io.LimitReader(f, c.Size))
}
