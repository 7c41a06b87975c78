package slurm

import (
	"maps"
	"path/filepath"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// The sftp workspace. The worker prepares a run's work directory under its data
// directory (Config.LocalRoot); the job runs on the cluster, which does not see that file
// system. Submit copies the work directory to the same relative place under
// Config.RemoteRoot and creates the directories of the log files there; Collect copies
// the work directory and the log files back once the job has ended; Cleanup removes the
// cluster copy of the run directory.
//
// Path mapping. A path is mapped when it is LocalRoot itself or starts with LocalRoot
// followed by '/': that prefix is replaced by RemoteRoot (with "{login}" replaced by the
// job's login). This applies to job.WorkDir, job.Stdout and job.Stderr, which must lie
// under LocalRoot, and to every argv word and environment value that starts with the
// prefix. A word that only contains such a path (for example "--dir=/data/runs/x") is
// not rewritten: engines pass paths relative to the work directory, which is the job's
// working directory on both sides. Paths inside a dataset mount (wes.Job.Datasets) are
// never rewritten: dataset paths are cluster paths already.
//
// What is copied. Only directories and regular files; symbolic links are never followed
// on either side. Submit refuses a work directory that holds a link or a special file.
// Collect skips remote links and special files, counts files and bytes against
// Config.CollectMaxFiles and CollectMaxBytes, and writes through an os.Root of the local
// work directory (and of the log directory), so nothing lands outside them.

// remoteRoot is RemoteRoot for login ("" is SSH.User).
func (e *Executor) remoteRoot(login string) string {
	if login == "" {
		login = e.cfg.SSH.User
	}
	return strings.ReplaceAll(e.cfg.RemoteRoot, loginToken, login)
}

// mapJob returns the job as the cluster runs it and its workspace: with the shared
// workspace, job itself and nil.
func (e *Executor) mapJob(job *wes.Job, login string) (*wes.Job, *workspace, error) {
	if e.cfg.Workspace != WorkspaceSFTP {
		return job, nil, nil
	}
	local := e.cfg.LocalRoot
	runDir := ""
	for _, p := range []struct{ field, path string }{{"job.work_dir", job.WorkDir}, {"job.stdout", job.Stdout}, {"job.stderr", job.Stderr}} {
		if p.path == "" && p.field != "job.work_dir" {
			continue
		}
		if !filepath.IsAbs(p.path) || !within(local, p.path) || filepath.Clean(p.path) == local {
			return nil, nil, wes.Errorf(wes.EINVALID, "%s must lie under the executor's local root (the data directory)", p.field)
		}
		dir := filepath.Clean(p.path)
		if p.field != "job.work_dir" {
			dir = filepath.Dir(dir)
		}
		runDir = commonDir(runDir, dir)
	}
	if runDir == local {
		return nil, nil, wes.Errorf(wes.EINVALID, "job.work_dir and the log files must share a directory below the executor's local root")
	}
	remote := e.remoteRoot(login)
	rewrite := func(w string) string {
		if w != local && !strings.HasPrefix(w, local+"/") {
			return w
		}
		for _, d := range job.Datasets {
			if d.Path != "" && within(d.Path, w) {
				return w
			}
		}
		return remote + w[len(local):]
	}
	cp := *job
	cp.Argv = make([]string, len(job.Argv))
	for i, a := range job.Argv {
		cp.Argv[i] = rewrite(a)
	}
	cp.Env = maps.Clone(job.Env)
	for k, v := range cp.Env {
		cp.Env[k] = rewrite(v)
	}
	pair := func(p string) pathPair {
		if p == "" {
			return pathPair{}
		}
		p = filepath.Clean(p)
		return pathPair{Local: p, Remote: rewrite(p)}
	}
	ws := &workspace{RemoteRun: rewrite(runDir), Work: pair(job.WorkDir), Stdout: pair(job.Stdout), Stderr: pair(job.Stderr)}
	cp.WorkDir, cp.Stdout, cp.Stderr = ws.Work.Remote, ws.Stdout.Remote, ws.Stderr.Remote
	if !ws.valid() {
		return nil, nil, wes.Errorf(wes.EINVALID, "job.work_dir and the log files cannot be mapped to the cluster")
	}
	return &cp, ws, nil
}

// commonDir is the deepest directory that holds both a and b ("" is no directory yet).
func commonDir(a, b string) string {
	if a == "" {
		return b
	}
	for !within(a, b) {
		a = filepath.Dir(a)
	}
	return a
}
