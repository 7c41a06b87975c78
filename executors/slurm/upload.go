package slurm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/pkg/sftp"

	"github.com/spe4hd/enclave/pkg/wes"
)

// errSpecialFile is a link or special file in the work directory, which is not copied.
type errSpecialFile struct{ rel string }

func (e *errSpecialFile) Error() string { return "not a regular file or directory: " + e.rel }

// upload copies the run's work directory to the cluster (workspace.go). The remote run
// directory is made afresh (0700, removing what an earlier, interrupted attempt left),
// then the work directory's directories and regular files are created in it with
// O_EXCL, so nothing is written through a link planted there, and the log files'
// directories are made.
func (e *Executor) upload(ctx context.Context, r runner, ws *workspace) error {
	sr, ok := r.(*sshRunner)
	if !ok {
		return wes.Internal(nil, "the sftp workspace needs mode ssh")
	}
	if fi, err := os.Lstat(ws.Work.Local); err != nil || !fi.IsDir() {
		return wes.Errorf(wes.EINVALID, "job.work_dir does not exist on the worker (or is not a directory)")
	}
	root, err := os.OpenRoot(ws.Work.Local)
	if err != nil {
		return wes.Internal(err, "cannot open the run's work directory")
	}
	defer root.Close()
	// The remote copy of an earlier attempt may hold anything: remove it (rm does not
	// follow links) rather than write into it.
	if _, err := sr.run(ctx, nil, "rm", "-rf", "--", ws.RemoteRun); err != nil {
		return e.remoteError(err, "could not prepare the run's directory on the cluster")
	}
	err = sr.withSFTP(ctx, func(c *sftp.Client) error {
		if err := c.MkdirAll(path.Dir(ws.RemoteRun)); err != nil {
			return err
		}
		if err := c.Mkdir(ws.RemoteRun); err != nil {
			return err
		}
		if err := c.Chmod(ws.RemoteRun, 0o700); err != nil {
			return err
		}
		if err := c.MkdirAll(ws.Work.Remote); err != nil {
			return err
		}
		for _, p := range []pathPair{ws.Stdout, ws.Stderr} {
			if p.Remote != "" {
				if err := c.MkdirAll(path.Dir(p.Remote)); err != nil {
					return err
				}
			}
		}
		return fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if rel == "." {
				return nil
			}
			remote := path.Join(ws.Work.Remote, filepath.ToSlash(rel))
			switch {
			case d.IsDir():
				return c.Mkdir(remote)
			case d.Type().IsRegular():
				return uploadFile(c, root, rel, remote)
			}
			return &errSpecialFile{rel: filepath.ToSlash(rel)}
		})
	})
	var sf *errSpecialFile
	switch {
	case err == nil:
		e.log.Debug("slurm executor: work directory copied to the cluster", "remote", ws.RemoteRun)
		return nil
	case errors.As(err, &sf):
		return wes.Errorf(wes.EINVALID, "the run's work directory holds a link or special file (%.200q); only regular files and directories are copied to the cluster", sf.rel)
	}
	return e.remoteError(err, "could not copy the run's files to the cluster")
}

// uploadFile copies one regular file, without following a link on either side, and
// keeps its permission bits (less group and other write) and modification time.
func uploadFile(c *sftp.Client, root *os.Root, rel, remote string) error {
	lf, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return localError{err}
	}
	defer lf.Close()
	fi, err := lf.Stat()
	if err != nil {
		return localError{err}
	}
	if !fi.Mode().IsRegular() {
		return &errSpecialFile{rel: filepath.ToSlash(rel)}
	}
	rf, err := c.OpenFile(remote, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	if _, err := rf.ReadFrom(lf); err != nil {
		rf.Close()
		return err
	}
	if err := rf.Chmod(fi.Mode().Perm() &^ 0o022); err != nil {
		rf.Close()
		return err
	}
	if err := rf.Close(); err != nil {
		return err
	}
	return c.Chtimes(remote, fi.ModTime(), fi.ModTime())
}

// localError marks a failure on the worker's side of a copy.
type localError struct{ err error }

func (e localError) Error() string { return e.err.Error() }
func (e localError) Unwrap() error { return e.err }

// remoteError maps a failed copy or remote command: the worker's own file system and a
// refusal by the cluster's (permissions, a full disk) are internal errors the operators
// must fix; anything else means the cluster could not be reached.
func (e *Executor) remoteError(err error, what string) error {
	var le localError
	var se *sftp.StatusError
	var ee *exitError
	switch {
	case errors.As(err, &le):
		return wes.Internal(err, "%s: the worker could not read them", what)
	case errors.As(err, &ee):
		return e.commandError(err, what)
	case errors.As(err, &se), errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrExist):
		return wes.Internal(err, "%s", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the SLURM cluster did not answer in time", Err: err}
	}
	return &wes.Error{Code: wes.EUNAVAILABLE, Message: fmt.Sprintf("the SLURM cluster cannot be reached (%s)", what), Err: err}
}
