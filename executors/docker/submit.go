package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"regexp"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/spe4hd/enclave/pkg/wes"
)

// LabelRunID carries the job id on every container the executor creates.
const LabelRunID = "enclave.run-id"

// Suffixes of the container name that record why it was stopped (labels cannot change).
const (
	suffixCanceled = ".canceled"
	suffixTimeout  = ".timeout"
)

var plainName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$`)

// containerName is the container's name for a job id; ids that are not valid names are hashed.
func containerName(id string) string {
	if plainName.MatchString(id) {
		return "enclave-" + id
	}
	sum := sha256.Sum256([]byte(id))
	return "enclave-" + hex.EncodeToString(sum[:16])
}

// Submit creates and starts the job's container, or returns the existing one's handle.
func (e *Executor) Submit(ctx context.Context, job *wes.Job) (wes.Handle, error) {
	if err := e.validate(job); err != nil {
		return wes.Handle{}, err
	}
	defer e.submits.Lock(job.ID)()
	d := handleData{JobID: job.ID, Stdout: job.Stdout, Stderr: job.Stderr, TimeLimitNS: int64(job.Resources.TimeLimit)}
	c, found, err := e.find(ctx, job.ID)
	if err != nil {
		return wes.Handle{}, err
	}
	if !found {
		opts, err := e.createOptions(job)
		if err != nil {
			return wes.Handle{}, err
		}
		if err := e.handOver(job.WorkDir); err != nil {
			return wes.Handle{}, err
		}
		res, err := e.cli.ContainerCreate(ctx, opts)
		switch {
		case cerrdefs.IsConflict(err):
			// Another process created it first: adopt its container.
			if c, found, err = e.find(ctx, job.ID); err != nil {
				return wes.Handle{}, err
			} else if !found {
				return wes.Handle{}, wes.Errorf(wes.ECONFLICT, "a container named for this run exists without its label; remove it")
			}
		case cerrdefs.IsNotFound(err):
			return wes.Handle{}, wes.Errorf(wes.EINVALID, "image %q is not available on the container engine", job.ImageOr(e.cfg.Image))
		case err != nil:
			return wes.Handle{}, unavailable(err, "create the job's container")
		default:
			c = container.Summary{ID: res.ID, State: container.StateCreated}
			e.log.Info("container created", "run_id", job.ID, "container", res.ID[:12])
		}
	}
	d.ContainerID = c.ID
	if c.State == container.StateCreated {
		if err := e.start(ctx, job.ID, c.ID); err != nil {
			return wes.Handle{}, err
		}
	}
	return encodeHandle(d)
}

// start starts a created container that never tried to start and was not canceled. A start the engine refuses
// for the job's own reasons (command not found) is left for Status to report as failed.
func (e *Executor) start(ctx context.Context, jobID, id string) error {
	in, err := e.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return unavailable(err, "inspect the job's container")
	}
	if in.Container.Name != "/"+containerName(jobID) {
		return nil // canceled before it started
	}
	if st := in.Container.State; st == nil || st.Status != container.StateCreated || st.Error != "" || st.StartedAt != "" && !strings.HasPrefix(st.StartedAt, "0001-") {
		return nil
	}
	if _, err := e.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		if client.IsErrConnectionFailed(err) || ctx.Err() != nil {
			return unavailable(err, "start the job's container")
		}
		e.log.Warn("container did not start", "container", id[:12], "err", err)
	}
	return nil
}

// find returns the job's container, found by its label.
func (e *Executor) find(ctx context.Context, id string) (container.Summary, bool, error) {
	res, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", LabelRunID+"="+id)})
	if err != nil {
		return container.Summary{}, false, unavailable(err, "list containers")
	}
	for _, c := range res.Items {
		if c.Labels[LabelRunID] == id {
			return c, true, nil
		}
	}
	return container.Summary{}, false, nil
}

func (e *Executor) validate(job *wes.Job) error {
	if err := job.Validate(); err != nil {
		return err
	}
	if job.ImageOr(e.cfg.Image) == "" {
		return wes.Errorf(wes.EINVALID, "job image is empty and the docker executor has no default image")
	}
	if fi, err := os.Stat(job.WorkDir); err != nil || !fi.IsDir() {
		return wes.Errorf(wes.EINVALID, "the job's work directory does not exist")
	}
	return nil
}

func (e *Executor) createOptions(job *wes.Job) (client.ContainerCreateOptions, error) {
	work := e.cfg.WorkMount
	if work == "" {
		work = job.WorkDir
	}
	datasets, err := e.datasetMounts(job, work)
	if err != nil {
		return client.ContainerCreateOptions{}, err
	}
	env := make([]string, 0, len(job.Env))
	for k, v := range job.Env {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	grace := int(e.cfg.Grace.Seconds() + 0.999)
	mounts := append([]mount.Mount{{Type: mount.TypeBind, Source: job.WorkDir, Target: work}}, datasets...)
	res := container.Resources{PidsLimit: &e.cfg.PidsLimit}
	if job.Resources.CPUs > 0 {
		res.NanoCPUs = int64(job.Resources.CPUs) * 1e9
	}
	if job.Resources.MemoryMB > 0 {
		res.Memory = int64(job.Resources.MemoryMB) << 20
		res.MemorySwap = res.Memory // no swap on top
	}
	return client.ContainerCreateOptions{
		Name: containerName(job.ID),
		Config: &container.Config{
			Image:       job.ImageOr(e.cfg.Image),
			Entrypoint:  []string{},
			Cmd:         slices.Clone(job.Argv),
			Env:         env,
			User:        e.cfg.User,
			WorkingDir:  work,
			Labels:      map[string]string{LabelRunID: job.ID, "enclave.managed-by": "enclave"},
			StopTimeout: &grace,
		},
		HostConfig: &container.HostConfig{
			NetworkMode:    "none",
			ReadonlyRootfs: true,
			CapDrop:        []string{"ALL"},
			SecurityOpt:    []string{"no-new-privileges"},
			Tmpfs:          map[string]string{"/tmp": "rw,nosuid,nodev,mode=1777,size=" + e.cfg.TmpfsSize},
			Mounts:         mounts,
			Resources:      res,
			LogConfig:      container.LogConfig{Type: "json-file"},
		},
	}, nil
}
