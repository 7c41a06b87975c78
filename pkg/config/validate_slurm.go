package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// slurmName is what partition, account, QOS and login names may look like.
var slurmName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)

// validateSlurm checks the keys of an enabled slurm executor beyond its SSH connection.
func validateSlurm(v *validator, sl SlurmExecutorConfig) {
	for _, l := range []struct {
		path string
		vs   []string
	}{
		{"executor.slurm.allowed_partitions", sl.AllowedPartitions},
		{"executor.slurm.allowed_accounts", sl.AllowedAccounts},
		{"executor.slurm.allowed_qos", sl.AllowedQOS},
	} {
		for i, s := range l.vs {
			v.Check(fmt.Sprintf("%s[%d]", l.path, i), slurmName.MatchString(s), "must be letters, digits, '.', '_' or '-', not starting with '-'")
		}
	}
	if sl.Workspace != "" { // "" is shared, as in a Config built in code
		v.OneOf("executor.slurm.workspace", sl.Workspace, []string{"shared", "sftp"})
	}
	if sl.Workspace == "sftp" {
		v.Check("executor.slurm.workspace", sl.Mode == "ssh", "sftp needs mode ssh")
		root := filepath.Clean(sl.RemoteRoot)
		v.Check("executor.slurm.remote_root", strings.HasPrefix(sl.RemoteRoot, "/") && root != "/" && !strings.ContainsAny(root, "\n\x00"),
			"required for workspace sftp: an absolute directory on the cluster other than /")
		v.AtLeast("executor.slurm.collect_max_files", sl.CollectMaxFiles, 1)
		v.Check("executor.slurm.collect_max_bytes", sl.CollectMaxBytes > 0, "must be positive")
	}
	_, _, err := sl.ParseLogins()
	if err != nil {
		v.Append(err)
	}
	if len(sl.Logins) > 0 {
		v.Check("executor.slurm.logins", sl.Mode == "ssh", "per-user logins need mode ssh")
	}
}

// ParseLogins returns executor.slurm.logins as subject → login and login_keys as
// login → key file. Each problem is a *FieldError naming the entry.
func (sl SlurmExecutorConfig) ParseLogins() (logins, keys map[string]string, err error) {
	logins, keys = map[string]string{}, map[string]string{}
	for i, e := range sl.Logins {
		path := fmt.Sprintf("executor.slurm.logins[%d]", i)
		j := strings.LastIndexByte(e, '=')
		if j <= 0 || !slurmName.MatchString(e[j+1:]) {
			return nil, nil, &FieldError{Path: path, Msg: `want "subject=login", the login being letters, digits, '.', '_' or '-'`}
		}
		subject := e[:j]
		if _, dup := logins[subject]; dup {
			return nil, nil, &FieldError{Path: path, Msg: "the subject is mapped twice"}
		}
		logins[subject] = e[j+1:]
	}
	for i, e := range sl.LoginKeys {
		path := fmt.Sprintf("executor.slurm.login_keys[%d]", i)
		login, key, ok := strings.Cut(e, "=")
		if !ok || !slurmName.MatchString(login) || key == "" {
			return nil, nil, &FieldError{Path: path, Msg: `want "login=/path/to/private/key"`}
		}
		if _, dup := keys[login]; dup {
			return nil, nil, &FieldError{Path: path, Msg: "the login has two keys"}
		}
		keys[login] = key
	}
	return logins, keys, nil
}
