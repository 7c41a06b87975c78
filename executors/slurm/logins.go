package slurm

import (
	"slices"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Per-user cluster accounts. With Config.Logins, a job runs as its owner's login: Submit
// maps wes.Job.Owner to the login, uses an SSH connection of that login (its own key, or
// SSH.KeyFile) and records the login in the handle, so that status, cancel, collect and
// cleanup use the same account. SLURM then runs the job with that user's uid, and the
// cluster's own permissions and accounting apply to it.

// loginUsers returns the distinct logins of the configuration, sorted.
func (c *Config) loginUsers() []string {
	var users []string
	for _, l := range c.Logins {
		if !slices.Contains(users, l.User) {
			users = append(users, l.User)
		}
	}
	slices.Sort(users)
	return users
}

// keyFor returns the key file of login: the first mapping that names one, else SSH.KeyFile.
func (c *Config) keyFor(login string) string {
	for _, subject := range sortedSubjects(c.Logins) {
		if l := c.Logins[subject]; l.User == login && l.KeyFile != "" {
			return l.KeyFile
		}
	}
	return c.SSH.KeyFile
}

func sortedSubjects(m map[string]Login) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// newLoginRunner returns an SSH runner of login.
func (e *Executor) newLoginRunner(login string) (*sshRunner, error) {
	s := e.cfg.SSH
	s.User, s.KeyFile = login, e.cfg.keyFor(login)
	return newSSHRunner(s, e.log.With("login", login))
}

// runnerFor returns the runner of login: "" is SSH.User's (or the local one). A login
// that is not configured (any more) still gets a connection, with SSH.KeyFile, so that
// the jobs of an earlier configuration can be polled and cancelled.
func (e *Executor) runnerFor(login string) (runner, error) {
	if login == "" || (login == e.cfg.SSH.User && e.cfg.keyFor(login) == e.cfg.SSH.KeyFile) {
		return e.run, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.logins[login]; ok {
		return r, nil
	}
	r, err := e.newLoginRunner(login)
	if err != nil {
		return nil, wes.Internal(err, "cannot use the cluster login of the job")
	}
	e.logins[login] = r
	return r, nil
}

// ownerLogin returns the login job's owner runs as ("" for SSH.User); EINVALID when
// Logins is configured and the owner is not in it.
func (e *Executor) ownerLogin(job *wes.Job) (string, error) {
	login, ok := e.cfg.loginFor(job.Owner)
	if !ok {
		return "", wes.Errorf(wes.EINVALID, "the run's owner has no login on the SLURM cluster (executor.slurm.logins); ask the operators to map the account")
	}
	return login, nil
}
