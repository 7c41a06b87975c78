package slurm

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// loginPattern is what a cluster login may look like (POSIX user names, no leading '-').
var loginPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)

// loginToken is replaced by the job's login in Config.RemoteRoot.
const loginToken = "{login}"

func (c *Config) checkAllowLists() []error {
	var errs []error
	for _, l := range []struct {
		name string
		vs   []string
	}{{"AllowedPartitions", c.AllowedPartitions}, {"AllowedAccounts", c.AllowedAccounts}, {"AllowedQOS", c.AllowedQOS}} {
		for i, v := range l.vs {
			if !namePattern.MatchString(v) {
				errs = append(errs, fmt.Errorf("slurm executor: %s[%d] %q: want letters, digits, '.', '_' or '-'", l.name, i, v))
			}
		}
	}
	return errs
}

func (c *Config) checkWorkspace() []error {
	var errs []error
	switch c.Workspace {
	case "", WorkspaceShared:
		c.Workspace = WorkspaceShared
		return nil
	case WorkspaceSFTP:
	default:
		return []error{fmt.Errorf("slurm executor: Workspace %q: want %q or %q", c.Workspace, WorkspaceShared, WorkspaceSFTP)}
	}
	if c.Mode != ModeSSH {
		errs = append(errs, errors.New("slurm executor: Workspace sftp needs Mode ssh"))
	}
	if !filepath.IsAbs(c.LocalRoot) {
		errs = append(errs, errors.New("slurm executor: LocalRoot must be an absolute path with Workspace sftp"))
	}
	c.LocalRoot = filepath.Clean(c.LocalRoot)
	if !strings.HasPrefix(c.RemoteRoot, "/") || strings.ContainsAny(c.RemoteRoot, "\x00\n") {
		errs = append(errs, errors.New("slurm executor: RemoteRoot must be an absolute path with Workspace sftp"))
	}
	c.RemoteRoot = filepath.Clean(c.RemoteRoot)
	if c.RemoteRoot == "/" {
		errs = append(errs, errors.New("slurm executor: RemoteRoot must not be /"))
	}
	if c.CollectMaxFiles < 0 || c.CollectMaxBytes < 0 {
		errs = append(errs, errors.New("slurm executor: CollectMaxFiles and CollectMaxBytes must not be negative"))
	}
	if c.CollectMaxFiles == 0 {
		c.CollectMaxFiles = DefaultCollectMaxFiles
	}
	if c.CollectMaxBytes == 0 {
		c.CollectMaxBytes = DefaultCollectMaxBytes
	}
	return errs
}

func (c *Config) checkLogins() []error {
	if len(c.Logins) == 0 {
		return nil
	}
	var errs []error
	if c.Mode != ModeSSH {
		errs = append(errs, errors.New("slurm executor: Logins (per-user cluster accounts) need Mode ssh"))
	}
	for _, subject := range slices.Sorted(maps.Keys(c.Logins)) {
		l := c.Logins[subject]
		if subject == "" {
			errs = append(errs, errors.New("slurm executor: Logins has an empty subject"))
		}
		if !loginPattern.MatchString(l.User) {
			errs = append(errs, fmt.Errorf("slurm executor: Logins[%q]: login %q must be letters, digits, '.', '_' or '-'", subject, l.User))
		}
	}
	return errs
}

// loginFor returns the login owner's jobs run as: "" (SSH.User) without Logins.
func (c *Config) loginFor(owner string) (string, bool) {
	if len(c.Logins) == 0 {
		return "", true
	}
	l, ok := c.Logins[owner]
	return l.User, ok
}

// checkParams checks the executor parameters among params against the allow-lists.
// field names where they came from in messages ("job.params", "workflow_engine_parameters").
func (c *Config) checkParams(field string, params map[string]string) error {
	for _, p := range []struct {
		name, def string
		allowed   []string
	}{
		{ParamPartition, c.Partition, c.AllowedPartitions},
		{ParamAccount, c.Account, c.AllowedAccounts},
		{ParamQOS, c.QOS, c.AllowedQOS},
	} {
		v, ok := params[p.name]
		if !ok {
			continue
		}
		if !namePattern.MatchString(v) {
			return wes.Errorf(wes.EINVALID, "%s.%s must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", field, p.name)
		}
		if v == p.def || slices.Contains(p.allowed, v) {
			continue
		}
		allowed := slices.Clone(p.allowed)
		if p.def != "" && !slices.Contains(allowed, p.def) {
			allowed = append([]string{p.def}, allowed...)
		}
		list := "none: leave it out to use the cluster's default"
		if len(allowed) > 0 {
			list = strings.Join(allowed, ", ")
		}
		return wes.Errorf(wes.EINVALID, "%s.%s %q is not allowed on this SLURM cluster; allowed: %s", field, p.name, v, list)
	}
	return nil
}

// Checker makes Submit's checks of a run's owner and executor parameters without
// contacting the cluster or reading any key (wes.SubmitChecker), for API servers.
type Checker struct{ cfg Config }

var _ wes.SubmitChecker = (*Checker)(nil)

// NewChecker validates cfg as New does and returns its Checker.
func NewChecker(cfg Config) (*Checker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Checker{cfg: cfg}, nil
}

// CheckSubmit refuses an owner without a cluster login (EFORBIDDEN, when Logins is
// configured) and a partition, account or QOS that is not allowed (EINVALID).
func (c *Checker) CheckSubmit(owner string, params map[string]string) error {
	return c.cfg.checkSubmit(owner, params)
}

func (c *Config) checkSubmit(owner string, params map[string]string) error {
	if _, ok := c.loginFor(owner); !ok {
		return wes.Errorf(wes.EFORBIDDEN, "your account has no login on the SLURM cluster this service runs workflows on; ask the operators to map it")
	}
	return c.checkParams("workflow_engine_parameters", params)
}
