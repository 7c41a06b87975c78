package slurm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/spe4hd/enclave/executors/internal/keylock"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Executor submits jobs to SLURM. It holds no job state: everything lives in the
// handles and in SLURM, so any instance can poll or cancel any handle.
type Executor struct {
	cfg Config
	run runner // SSH.User's, or the local one
	log *slog.Logger

	mu     sync.Mutex
	locks  keylock.Set           // per job id: serialises Submits of one id
	logins map[string]*sshRunner // per-user accounts (logins.go), by login
}

var (
	_ wes.Executor      = (*Executor)(nil)
	_ wes.StatusBatcher = (*Executor)(nil)
	_ wes.Collector     = (*Executor)(nil)
	_ wes.Cleaner       = (*Executor)(nil)
	_ wes.SubmitChecker = (*Executor)(nil)
)

// New validates cfg and returns an Executor. In ssh mode it reads the key and the
// known_hosts file now, and connects on first use.
func New(cfg Config) (*Executor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Executor{cfg: cfg, log: cfg.Logger, logins: map[string]*sshRunner{}}
	if cfg.Mode == ModeSSH {
		r, err := newSSHRunner(cfg.SSH, cfg.Logger)
		if err != nil {
			return nil, err
		}
		e.run = r
	} else {
		e.run = newLocalRunner(cfg.LocalPath)
	}
	// Every configured login's key is read now, so that a bad one stops the start.
	for _, login := range cfg.loginUsers() {
		if _, err := e.runnerFor(login); err != nil {
			_ = e.Close()
			return nil, fmt.Errorf("slurm executor: login %s: %w", login, errors.Unwrap(err))
		}
	}
	return e, nil
}

// Name returns the registry name, "slurm".
func (e *Executor) Name() string { return Name }

// Close closes the SSH connections, if any.
func (e *Executor) Close() error {
	e.mu.Lock()
	logins := e.logins
	e.logins = map[string]*sshRunner{}
	e.mu.Unlock()
	for _, r := range logins {
		_ = r.close()
	}
	return e.run.close()
}

// CheckSubmit is Checker.CheckSubmit with this executor's configuration.
func (e *Executor) CheckSubmit(owner string, params map[string]string) error {
	return e.cfg.checkSubmit(owner, params)
}

// Submit submits job as a batch job, or returns the handle of the job already submitted
// under job.ID. With the sftp workspace it first copies the work directory to the
// cluster (workspace.go); with Logins it submits as the owner's login (logins.go).
func (e *Executor) Submit(ctx context.Context, job *wes.Job) (wes.Handle, error) {
	if job == nil {
		return wes.Handle{}, wes.Errorf(wes.EINVALID, "no job given")
	}
	login, err := e.ownerLogin(job)
	if err != nil {
		return wes.Handle{}, err
	}
	cj, ws, err := e.mapJob(job, login)
	if err != nil {
		return wes.Handle{}, err
	}
	if err := e.validate(cj); err != nil {
		return wes.Handle{}, err
	}
	r, err := e.runnerFor(login)
	if err != nil {
		return wes.Handle{}, err
	}
	unlock := e.locks.Lock(job.ID)
	defer unlock()
	if id, ok, err := e.lookup(ctx, r, job.ID); err != nil {
		return wes.Handle{}, err
	} else if ok {
		e.log.Debug("slurm executor: job already submitted", "run_id", job.ID, "slurm_job", id)
		return encodeHandle(handleData{JobID: id, Name: job.ID, Login: login, Workspace: ws})
	}
	if ws != nil {
		if err := e.upload(ctx, r, ws); err != nil {
			return wes.Handle{}, err
		}
	} else if _, err := r.run(ctx, nil, "test", "-d", cj.WorkDir); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return wes.Handle{}, wes.Errorf(wes.EINVALID, "job.work_dir does not exist on the cluster (or is not a directory)")
		}
		return wes.Handle{}, e.unavailable(err)
	}
	out, err := r.run(ctx, batchScript(cj), e.sbatchArgs(cj)...)
	if err != nil {
		return wes.Handle{}, e.sbatchError(err)
	}
	// --parsable prints "jobid" or "jobid;cluster".
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if !jobIDPattern.MatchString(id) {
		return wes.Handle{}, wes.Internal(errors.New("sbatch printed "+firstLine(string(out))), "sbatch did not print a job id")
	}
	e.log.Info("slurm executor: job submitted", "run_id", job.ID, "slurm_job", id, "login", login)
	return encodeHandle(handleData{JobID: id, Name: job.ID, Login: login, Workspace: ws})
}

// lookup finds this user's job named name: in the queue (which also lists recently ended
// jobs), else in the job completion log. The lowest id wins: the first submission.
func (e *Executor) lookup(ctx context.Context, r runner, name string) (string, bool, error) {
	out, err := r.run(ctx, nil, e.cfg.SqueuePath, "-h", "--me", "-t", "all", "-n", name, "-o", "%i")
	if err != nil {
		return "", false, e.unavailable(err)
	}
	if id, ok := lowestID(strings.Fields(string(out))); ok {
		return id, true, nil
	}
	rows, err := e.sacct(ctx, r, "--name", name)
	if err != nil {
		return "", false, err
	}
	var ids []string
	for _, r := range rows {
		if r.name == name {
			ids = append(ids, r.id)
		}
	}
	id, ok := lowestID(ids)
	return id, ok, nil
}

func lowestID(ids []string) (string, bool) {
	best := ""
	for _, id := range ids {
		if !jobIDPattern.MatchString(id) {
			continue // array or het job steps ("12_3", "12+0") are not ours
		}
		if best == "" || len(id) < len(best) || (len(id) == len(best) && id < best) {
			best = id
		}
	}
	return best, best != ""
}

// Cancel cancels the job with scancel; an ended job is left as it is.
func (e *Executor) Cancel(ctx context.Context, h wes.Handle) error {
	d, r, err := e.handle(h)
	if err != nil {
		return err
	}
	st, err := e.status(ctx, r, d)
	if err != nil {
		return err
	}
	if st.State.Ended() {
		return nil
	}
	// -n: only if the id still names this job, never another one that reuses the id.
	if _, err := r.run(ctx, nil, e.cfg.ScancelPath, "-n", d.Name, d.JobID); err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			return e.unavailable(err)
		}
		// It may have ended meanwhile ("already completing or completed").
		if st, err2 := e.status(ctx, r, d); err2 == nil && st.State.Ended() {
			return nil
		}
		return e.commandError(err, "scancel")
	}
	e.log.Info("slurm executor: job cancelled", "run_id", d.Name, "slurm_job", d.JobID)
	return nil
}

// handle decodes h and returns the runner of its login.
func (e *Executor) handle(h wes.Handle) (handleData, runner, error) {
	d, err := decodeHandle(h)
	if err != nil {
		return handleData{}, nil, err
	}
	r, err := e.runnerFor(d.Login)
	if err != nil {
		return handleData{}, nil, err
	}
	return d, r, nil
}

// unavailable maps a failure to reach the cluster to EUNAVAILABLE; a command that ran
// and failed goes through commandError.
func (e *Executor) unavailable(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return e.commandError(err, "a SLURM command")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the SLURM cluster did not answer in time", Err: err}
	}
	return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the SLURM cluster cannot be reached", Err: err}
}

// controllerDown are the messages of SLURM commands that could not reach slurmctld.
var controllerDown = []string{"Unable to contact slurm controller", "Socket timed out", "Connection refused", "Zero Bytes were transmitted"}

func (e *Executor) commandError(err error, what string) error {
	var ee *exitError
	if errors.As(err, &ee) {
		for _, m := range controllerDown {
			if strings.Contains(ee.stderr, m) {
				return &wes.Error{Code: wes.EUNAVAILABLE, Message: "the SLURM controller cannot be reached", Err: err}
			}
		}
	}
	return wes.Internal(err, "%s failed", what)
}

// sbatchError maps an sbatch failure: SLURM's own reason for refusing a job (a bad
// partition, account, QOS or limit) is the client's to fix, and carries no paths.
func (e *Executor) sbatchError(err error) error {
	var ee *exitError
	if !errors.As(err, &ee) {
		return e.unavailable(err)
	}
	const refused = "Batch job submission failed: "
	if i := strings.Index(ee.stderr, refused); i >= 0 {
		reason := firstLine(ee.stderr[i+len(refused):])
		if werr := e.commandError(err, "sbatch"); wes.IsCode(werr, wes.EUNAVAILABLE) {
			return werr
		}
		return &wes.Error{Code: wes.EINVALID, Message: "the SLURM cluster refused the job: " + reason, Err: err}
	}
	return e.commandError(err, "sbatch")
}
