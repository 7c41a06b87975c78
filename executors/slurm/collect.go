package slurm

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/pkg/sftp"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Collect copies an ended job's work directory and log files back from the cluster
// (wes.Collector; workspace.go). A job of the shared workspace has nothing to collect.
// Files the worker already has with the same size and modification time (the inputs
// Submit copied) are not copied again.
func (e *Executor) Collect(ctx context.Context, h wes.Handle) error {
	d, r, err := e.handle(h)
	if err != nil || d.Workspace == nil {
		return err
	}
	ws := d.Workspace
	for _, p := range []string{ws.Work.Local, ws.Stdout.Local, ws.Stderr.Local} {
		if p != "" && (!within(e.cfg.LocalRoot, p) || p == e.cfg.LocalRoot) {
			return wes.Internal(nil, "the job handle names local paths outside the data directory")
		}
	}
	sr, ok := r.(*sshRunner)
	if !ok {
		return wes.Internal(nil, "the sftp workspace needs mode ssh")
	}
	dl := &downloader{maxFiles: e.cfg.CollectMaxFiles, maxBytes: e.cfg.CollectMaxBytes}
	err = sr.withSFTP(ctx, func(c *sftp.Client) error {
		dl.c = c
		if err := dl.workDir(ctx, ws.Work); err != nil {
			return err
		}
		for _, p := range []pathPair{ws.Stdout, ws.Stderr} {
			if p.Remote != "" {
				if err := dl.logFile(p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	var te *tooMuch
	switch {
	case err == nil:
		e.log.Info("slurm executor: run files collected", "run_id", d.Name, "files", dl.files, "bytes", dl.bytes, "skipped", dl.skipped)
		return nil
	case errors.As(err, &te):
		return &wes.Error{Code: wes.ETOOLARGE, Message: te.Error()}
	case errors.Is(err, errRemoteWorkGone):
		return &wes.Error{Code: wes.ENOTFOUND, Message: err.Error()}
	}
	return e.remoteError(err, "could not copy the run's files back from the cluster")
}

var errRemoteWorkGone = errors.New("the run's work directory is not on the cluster (any more)")

// tooMuch is a run that left more on the cluster than Collect may copy.
type tooMuch struct {
	what  string
	limit int64
}

func (t *tooMuch) Error() string {
	return "the run left more than " + formatLimit(t.limit, t.what) + " on the cluster, more than may be copied back; ask the operators"
}

func formatLimit(n int64, what string) string {
	if what == "bytes" && n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " " + what
}

// downloader copies files from the cluster within the limits.
type downloader struct {
	c              *sftp.Client
	maxFiles       int
	maxBytes       int64
	files, skipped int
	bytes          int64
}

// workDir copies the remote work directory into the local one, which must exist.
func (dl *downloader) workDir(ctx context.Context, p pathPair) error {
	fi, err := dl.c.Lstat(p.Remote)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.IsDir()) {
		return errRemoteWorkGone
	}
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(p.Local)
	if err != nil {
		return localError{err}
	}
	defer root.Close()
	return dl.tree(ctx, root, p.Remote, ".")
}

// tree copies the remote directory dir to rel under root. Entries are listed with
// their own attributes (not following links): links and special files are skipped.
func (dl *downloader) tree(ctx context.Context, root *os.Root, dir, rel string) error {
	entries, err := dl.c.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, fi := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := fi.Name()
		if name == "." || name == ".." || name == "" || !filepath.IsLocal(name) || path.Base(name) != name {
			continue
		}
		if dl.files++; dl.files > dl.maxFiles {
			return &tooMuch{what: "files", limit: int64(dl.maxFiles)}
		}
		remote, lrel := path.Join(dir, name), filepath.Join(rel, name)
		switch {
		case fi.IsDir():
			if err := mkdirReplacing(root, lrel); err != nil {
				return err
			}
			if err := dl.tree(ctx, root, remote, lrel); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := dl.file(root, remote, lrel, fi); err != nil {
				return err
			}
		default:
			dl.skipped++
		}
	}
	return nil
}

// logFile copies one log file into its local directory; a job that never wrote it
// leaves nothing to copy.
func (dl *downloader) logFile(p pathPair) error {
	fi, err := dl.c.Lstat(p.Remote)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		dl.skipped++
		return nil
	}
	root, err := os.OpenRoot(filepath.Dir(p.Local))
	if err != nil {
		return localError{err}
	}
	defer root.Close()
	dl.files++
	return dl.file(root, p.Remote, filepath.Base(p.Local), fi)
}

// file copies one remote regular file to rel under root, unless the local file has the
// same size and modification time (to the second: SFTP's resolution).
func (dl *downloader) file(root *os.Root, remote, rel string, fi os.FileInfo) error {
	left := dl.maxBytes - dl.bytes
	if fi.Size() > left {
		return &tooMuch{what: "bytes", limit: dl.maxBytes}
	}
	if lfi, err := root.Lstat(rel); err == nil && lfi.Mode().IsRegular() && lfi.Size() == fi.Size() &&
		lfi.ModTime().Unix() == fi.ModTime().Unix() {
		dl.bytes += fi.Size()
		return nil
	}
	rf, err := dl.c.Open(remote)
	if err != nil {
		return err
	}
	defer rf.Close()
	// The name may have been replaced since it was listed: the open file must still be
	// a regular file.
	if ofi, err := rf.Stat(); err != nil {
		return err
	} else if !ofi.Mode().IsRegular() {
		dl.skipped++
		return nil
	}
	if err := removeIfNotFile(root, rel); err != nil {
		return err
	}
	mode := os.FileMode(0o640)
	if fi.Mode().Perm()&0o100 != 0 {
		mode = 0o750
	}
	lf, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, mode)
	if err != nil {
		return localError{err}
	}
	n, err := io.Copy(lf, io.LimitReader(rf, left+1))
	if cerr := lf.Close(); err == nil && cerr != nil {
		err = localError{cerr}
	}
	if err != nil {
		return err
	}
	if n > left {
		return &tooMuch{what: "bytes", limit: dl.maxBytes}
	}
	dl.bytes += n
	if err := root.Chtimes(rel, fi.ModTime(), fi.ModTime()); err != nil {
		return localError{err}
	}
	return nil
}

// mkdirReplacing makes the directory rel under root; anything else of that name (a file
// the job replaced by a directory) is removed first.
func mkdirReplacing(root *os.Root, rel string) error {
	fi, err := root.Lstat(rel)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		if err := root.RemoveAll(rel); err != nil {
			return localError{err}
		}
	case !errors.Is(err, fs.ErrNotExist):
		return localError{err}
	}
	if err := root.Mkdir(rel, 0o750); err != nil {
		return localError{err}
	}
	return nil
}

// removeIfNotFile removes rel under root when it is anything but a regular file (a
// directory the job replaced by a file, or a link).
func removeIfNotFile(root *os.Root, rel string) error {
	fi, err := root.Lstat(rel)
	if err != nil || fi.Mode().IsRegular() {
		return nil
	}
	if err := root.RemoveAll(rel); err != nil {
		return localError{err}
	}
	return nil
}

// Cleanup removes the run's directory from the cluster (wes.Cleaner), unless
// Config.KeepRemote; a job of the shared workspace has nothing to remove. rm -rf does
// not follow links.
func (e *Executor) Cleanup(ctx context.Context, h wes.Handle) error {
	d, r, err := e.handle(h)
	if err != nil || d.Workspace == nil || e.cfg.KeepRemote {
		return err
	}
	if _, err := r.run(ctx, nil, "rm", "-rf", "--", d.Workspace.RemoteRun); err != nil {
		return e.remoteError(err, "could not remove the run's files from the cluster")
	}
	e.log.Debug("slurm executor: run files removed from the cluster", "run_id", d.Name)
	return nil
}
