package slurm

import (
	"path"
	"regexp"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// handleVersion is the version of handleData; bump it when the fields change meaning.
// Login and Workspace were added without a bump: a handle without them means what every
// version-1 handle meant (SSH.User, a shared file system).
const handleVersion = 1

// handleData is what a handle holds: the SLURM job id; the job name (the run id), which
// guards against job ids that a cluster reuses after its state was wiped; the login the
// job was submitted as (per-user accounts; "" is SSH.User); and, with the sftp
// workspace, where the run's files are on both sides, so that any worker can collect
// and clean up after a restart.
type handleData struct {
	JobID     string     `json:"job_id"`
	Name      string     `json:"name"`
	Login     string     `json:"login,omitempty"`
	Workspace *workspace `json:"workspace,omitempty"`
}

// workspace is the sftp workspace of one job: its run directory on the cluster (removed
// by Cleanup) and the local and remote paths of its work directory and log files.
type workspace struct {
	RemoteRun string   `json:"remote_run"`
	Work      pathPair `json:"work"`
	Stdout    pathPair `json:"stdout,omitzero"`
	Stderr    pathPair `json:"stderr,omitzero"`
}

// pathPair is one path on the worker (Local) and on the cluster (Remote).
type pathPair struct {
	Local  string `json:"local"`
	Remote string `json:"remote"`
}

var jobIDPattern = regexp.MustCompile(`^[0-9]{1,18}$`)

// Valid reports whether d names a SLURM job by its id and run, with a login and
// workspace this executor may act on (wes.HandleData).
func (d *handleData) Valid() bool {
	return jobIDPattern.MatchString(d.JobID) && wes.ValidJobID(d.Name) &&
		(d.Login == "" || loginPattern.MatchString(d.Login)) && (d.Workspace == nil || d.Workspace.valid())
}

func encodeHandle(d handleData) (wes.Handle, error) { return wes.EncodeHandle(Name, handleVersion, d) }

func decodeHandle(h wes.Handle) (handleData, error) {
	var d handleData
	return d, wes.DecodeHandle(h, Name, handleVersion, &d)
}

// valid checks that the remote run directory is a clean absolute path at least two
// levels deep, that every remote path lies in it, and that every path is absolute and
// clean: Cleanup removes RemoteRun and Collect writes to the local paths.
func (w *workspace) valid() bool {
	run := w.RemoteRun
	if !cleanAbs(run) || strings.Count(run, "/") < 2 {
		return false
	}
	if !w.Work.under(run) {
		return false
	}
	for _, p := range []pathPair{w.Stdout, w.Stderr} {
		if p != (pathPair{}) && !p.under(run) {
			return false
		}
	}
	return true
}

func (p pathPair) under(remoteRun string) bool {
	return cleanAbs(p.Local) && cleanAbs(p.Remote) && strings.HasPrefix(p.Remote, remoteRun+"/")
}

func cleanAbs(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p && !strings.ContainsAny(p, "\x00\n")
}
