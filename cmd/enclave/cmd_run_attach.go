package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/spe4hd/enclave/pkg/wesclient"
)

// attachSet collects attachments relative to one base directory.
type attachSet struct {
	base     string // absolute base directory, as the user named it
	realBase string // the same with symbolic links resolved
	files    []wesclient.Attachment
	seen     map[string]bool
}

// collectAttachments returns the workflow file and everything named by attach, each
// named relative to baseDir (default: the workflow file's directory), and workflow_url.
// It refuses paths outside the base directory, symbolic links that resolve outside it,
// and anything but regular files; inside attached directories it skips hidden
// directories (.git, .snakemake), which are engine state or history, not workflow files.
func collectAttachments(baseDir, workflow string, attach []string) ([]wesclient.Attachment, string, error) {
	if baseDir == "" {
		baseDir = filepath.Dir(workflow)
	}
	base, err := filepath.Abs(baseDir)
	if err != nil {
		return nil, "", err
	}
	realBase, err := filepath.EvalSymlinks(base)
	if err != nil {
		return nil, "", fmt.Errorf("base directory: %w", err)
	}
	s := &attachSet{base: base, realBase: realBase, seen: map[string]bool{}}
	info, err := os.Lstat(workflow)
	if err != nil {
		return nil, "", fmt.Errorf("workflow file: %w", err)
	}
	if info.IsDir() {
		return nil, "", fmt.Errorf("workflow file %s is a directory: name the main workflow file and --attach the directory", workflow)
	}
	workflowURL, err := s.addFile(workflow, info)
	if err != nil {
		return nil, "", err
	}
	for _, a := range attach {
		if err := s.add(a); err != nil {
			return nil, "", err
		}
	}
	return s.files, workflowURL, nil
}

// name returns p's attachment name: its path relative to the base directory.
func (s *attachSet) name(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(s.base, abs)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the base directory %s: choose another with --base-dir", p, s.base)
	}
	name := filepath.ToSlash(rel)
	if strings.ContainsFunc(name, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) {
		return "", fmt.Errorf("%s: attachment names may not contain backslashes or control characters", p)
	}
	return name, nil
}

// add attaches a file, or every file under a directory.
func (s *attachSet) add(p string) error {
	info, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("--attach: %w", err)
	}
	if !info.IsDir() {
		_, err := s.addFile(p, info)
		return err
	}
	if _, err := s.name(filepath.Join(p, "x")); err != nil { // the directory itself must be inside
		return err
	}
	return filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("--attach: %w", err)
		}
		if d.IsDir() {
			if path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("--attach: %w", err)
		}
		_, err = s.addFile(path, info)
		return err
	})
}

// addFile attaches one file (info from Lstat) and returns its name. A symbolic link is
// followed only to a regular file inside the base directory.
func (s *attachSet) addFile(p string, info fs.FileInfo) (string, error) {
	name, err := s.name(p)
	if err != nil {
		return "", err
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		rel, err := filepath.Rel(s.realBase, target)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("%s is a symbolic link that leaves the base directory %s: refused", p, s.base)
		}
		if info, err = os.Stat(target); err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		if info.IsDir() {
			return "", fmt.Errorf("%s is a symbolic link to a directory: attach the directory itself", p)
		}
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file: only files can be attached", p)
	}
	if !s.seen[name] {
		s.seen[name] = true
		s.files = append(s.files, wesclient.Attachment{Name: name, Path: p})
	}
	return name, nil
}
