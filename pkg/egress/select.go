package egress

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Candidate is a file Select accepted for release. Device and Inode pin the exact file
// Select saw: Release copies it only if the file it opens is still that one.
type Candidate struct {
	Path   string `json:"path"` // relative to the work dir, slash-separated
	Size   int64  `json:"size"`
	Device uint64 `json:"device"`
	Inode  uint64 `json:"inode"`
}

// Refusal is a file that stays in the zone, and why.
type Refusal struct {
	Path   string `json:"path"`   // relative to the work dir, slash-separated
	Kind   string `json:"kind"`   // one of the Refuse* constants
	Reason string `json:"reason"` // Enclave's words, fit for the owner and the audit trail
}

// Kinds of refusal.
const (
	RefuseNotAllowed    = "not_allowed"      // matched by no glob of the allow-list
	RefuseSymlink       = "symlink"          // a symbolic link (to a file or a directory)
	RefuseNotRegular    = "not_regular"      // a device, fifo, socket, ...
	RefuseOutside       = "outside_work_dir" // its real path leaves the work directory
	RefuseHardLink      = "hard_link"        // a regular file with more than one link
	RefuseFileTooLarge  = "file_too_large"   // over the per-file limit
	RefuseTotalTooLarge = "total_too_large"  // would take the total over its limit
	RefuseTooManyFiles  = "too_many_files"   // over the file count limit
	RefuseUnreadable    = "unreadable"       // could not be read (permissions, I/O)
	RefuseChanged       = "changed"          // no longer the file Select accepted (Release)
	RefuseCheck         = "disclosure_check" // failed a disclosure check (checks.go)
	RefuseInvalidPath   = "invalid_path"     // a candidate path that is not clean and relative (Release)
)

// SkippedDirs are top-level directories of the work dir that belong to Enclave or the
// engine, not to the workflow's results: Select neither releases nor reports them.
var SkippedDirs = []string{".enclave", ".snakemake"}

// Select decides which files of workDir may leave the zone under pol, with defaults
// filling the limits pol leaves at zero. It never follows a symbolic link. Accepted files
// come in lexical path order; once the count or total limit is reached, every later
// matching file is refused, so what is released is a prefix of that order. Every other
// file in the work dir (outside SkippedDirs) is returned as a Refusal with its reason.
//
// err is EINVALID for a bad policy (see ValidatePolicy) and internal when the work dir
// itself cannot be read; problems with single entries are refusals, not errors.
func Select(workDir string, pol wes.OutputPolicy, defaults Limits) (accepted []Candidate, refused []Refusal, err error) {
	if err := ValidatePolicy(pol); err != nil {
		return nil, nil, err
	}
	lim := effective(pol, defaults)
	// The work dir's own path is Enclave's and trusted; resolve it once so every real
	// path below can be compared with it.
	root, err := filepath.EvalSymlinks(workDir)
	if err != nil {
		return nil, nil, wes.Internal(err, "the run's work directory cannot be read")
	}
	if fi, err := os.Lstat(root); err != nil || !fi.IsDir() {
		return nil, nil, wes.Internal(fmt.Errorf("work dir %s: not a directory (%v)", workDir, err), "the run's work directory cannot be read")
	}
	s := selector{root: root, pol: pol, lim: lim, realDirs: map[string]bool{}}
	if err := filepath.WalkDir(root, s.visit); err != nil {
		return nil, nil, wes.Internal(err, "the run's work directory cannot be read")
	}
	return s.accepted, s.refused, nil
}

type selector struct {
	root     string
	pol      wes.OutputPolicy
	lim      Limits
	total    int64
	full     string          // set once a count or total limit was reached: the kind
	realDirs map[string]bool // rel dir -> its real path is where it should be
	accepted []Candidate
	refused  []Refusal
}

func (s *selector) refuse(rel, kind, reason string) {
	s.refused = append(s.refused, Refusal{Path: rel, Kind: kind, Reason: reason})
}

func (s *selector) visit(p string, d fs.DirEntry, walkErr error) error {
	if p == s.root {
		return walkErr // the work dir itself must be readable
	}
	r, err := filepath.Rel(s.root, p)
	if err != nil {
		return err
	}
	rel := filepath.ToSlash(r)
	if walkErr != nil {
		s.refuse(rel, RefuseUnreadable, "could not be read")
		if d != nil && d.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	if d.IsDir() {
		for _, skip := range SkippedDirs {
			if rel == skip {
				return fs.SkipDir
			}
		}
		return nil
	}
	// WalkDir reports a link as a link (it never descends into a linked directory), so a
	// symlinked directory and everything "under" it end here.
	switch t := d.Type(); {
	case t&fs.ModeSymlink != 0:
		s.refuse(rel, RefuseSymlink, "is a symbolic link; only regular files are released")
		return nil
	case !t.IsRegular():
		s.refuse(rel, RefuseNotRegular, "is not a regular file (device, pipe or socket); only regular files are released")
		return nil
	}
	if !matches(s.pol.Globs, rel) {
		s.refuse(rel, RefuseNotAllowed, "is not on the workflow's output allow-list")
		return nil
	}
	fi, err := d.Info() // lstat: never follows
	if err != nil {
		s.refuse(rel, RefuseUnreadable, "could not be read")
		return nil
	}
	if !fi.Mode().IsRegular() { // swapped since the directory was read
		s.refuse(rel, RefuseNotRegular, "is not a regular file; only regular files are released")
		return nil
	}
	id, ok := fileIDOf(fi)
	if !ok {
		s.refuse(rel, RefuseUnreadable, "could not be inspected")
		return nil
	}
	if id.nlink > 1 {
		s.refuse(rel, RefuseHardLink, "has more than one hard link, so it may be a file from outside the work directory; write outputs, do not link them")
		return nil
	}
	if !s.inside(path.Dir(rel)) {
		s.refuse(rel, RefuseOutside, "resolves to a location outside the work directory")
		return nil
	}
	size := fi.Size()
	switch {
	case size > s.lim.MaxFileBytes:
		s.refuse(rel, RefuseFileTooLarge, fmt.Sprintf("is %d bytes, over the limit of %d bytes per file", size, s.lim.MaxFileBytes))
		return nil
	case s.full == "" && len(s.accepted) >= s.lim.MaxFiles:
		s.full = RefuseTooManyFiles
	case s.full == "" && s.total+size > s.lim.MaxTotalBytes:
		s.full = RefuseTotalTooLarge
	}
	switch s.full {
	case RefuseTooManyFiles:
		s.refuse(rel, RefuseTooManyFiles, fmt.Sprintf("comes after the first %d files, the limit per run", s.lim.MaxFiles))
		return nil
	case RefuseTotalTooLarge:
		s.refuse(rel, RefuseTotalTooLarge, fmt.Sprintf("would take the run's outputs over the total limit of %d bytes", s.lim.MaxTotalBytes))
		return nil
	}
	s.total += size
	s.accepted = append(s.accepted, Candidate{Path: rel, Size: size, Device: id.dev, Inode: id.ino})
	return nil
}

// inside reports whether the work dir's sub-directory relDir (slash-separated) really
// lies where its path says: its parent chain, links resolved, is root/relDir. The walk
// follows no links, so this fails only if a directory was swapped for a link mid-walk.
func (s *selector) inside(relDir string) bool {
	if relDir == "." {
		return true
	}
	if ok, seen := s.realDirs[relDir]; seen {
		return ok
	}
	want := filepath.Join(s.root, filepath.FromSlash(relDir))
	real, err := filepath.EvalSymlinks(want)
	ok := err == nil && real == want
	s.realDirs[relDir] = ok
	return ok
}
