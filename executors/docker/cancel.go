package docker

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Cancel marks the container canceled and stops it: SIGTERM, SIGKILL after Config.Grace.
// Cancelling an ended or vanished job is a no-op.
func (e *Executor) Cancel(ctx context.Context, h wes.Handle) error {
	d, err := decodeHandle(h)
	if err != nil {
		return err
	}
	return e.stop(ctx, d, suffixCanceled)
}

// stop renames a live container with suffix (the durable record of why it ended), then
// stops it. The rename comes first so that a worker dying in between leaves the reason.
func (e *Executor) stop(ctx context.Context, d handleData, suffix string) error {
	in, err := e.cli.ContainerInspect(ctx, d.ContainerID, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return unavailable(err, "inspect the job's container")
	}
	st := in.Container.State
	if st == nil || !(st.Running || st.Paused || st.Restarting || st.Status == container.StateCreated && st.Error == "") {
		return nil
	}
	base := containerName(d.JobID)
	if n := in.Container.Name; n == "/"+base {
		if _, err := e.cli.ContainerRename(ctx, d.ContainerID, client.ContainerRenameOptions{NewName: base + suffix}); err != nil && !cerrdefs.IsNotFound(err) {
			return unavailable(err, "mark the job's container stopped")
		}
	}
	grace := int(e.cfg.Grace.Seconds() + 0.999)
	if _, err := e.cli.ContainerStop(ctx, d.ContainerID, client.ContainerStopOptions{Timeout: &grace}); err != nil && !cerrdefs.IsNotFound(err) {
		return unavailable(err, "stop the job's container")
	}
	e.log.Info("container stopped", "run_id", d.JobID, "reason", suffix[1:])
	return nil
}

// Cleanup removes the container of an ended job. ECONFLICT while it runs.
func (e *Executor) Cleanup(ctx context.Context, h wes.Handle) error {
	d, err := decodeHandle(h)
	if err != nil {
		return err
	}
	js, err := e.status(ctx, d)
	if err != nil {
		return err
	}
	if !js.State.Ended() {
		return wes.Errorf(wes.ECONFLICT, "the job is still %s; cancel it before cleaning up", js.State)
	}
	if _, err := e.cli.ContainerRemove(ctx, d.ContainerID, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return unavailable(err, "remove the job's container")
	}
	return nil
}

// Logs streams the container's stdout or stderr from the engine, as far as it has got.
func (e *Executor) Logs(ctx context.Context, h wes.Handle, stream string) (io.ReadCloser, error) {
	d, err := decodeHandle(h)
	if err != nil {
		return nil, err
	}
	if stream != "stdout" && stream != "stderr" {
		return nil, wes.Errorf(wes.EINVALID, "log stream %q: want stdout or stderr", stream)
	}
	rc, err := e.cli.ContainerLogs(ctx, d.ContainerID, client.ContainerLogsOptions{ShowStdout: stream == "stdout", ShowStderr: stream == "stderr"})
	if cerrdefs.IsNotFound(err) {
		return nil, wes.Errorf(wes.ENOTFOUND, "the job's container no longer exists")
	}
	if err != nil {
		return nil, unavailable(err, "read the job's logs")
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, rc)
		_ = rc.Close()
		_ = pw.CloseWithError(err)
	}()
	return pr, nil
}

// copyLogs writes the ended container's logs into the job's stdout and stderr files,
// unless both are already newer than the container's end.
func (e *Executor) copyLogs(ctx context.Context, d handleData, end time.Time) error {
	if fresh(d.Stdout, end) && fresh(d.Stderr, end) {
		return nil
	}
	rc, err := e.cli.ContainerLogs(ctx, d.ContainerID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return unavailable(err, "read the job's logs")
	}
	defer rc.Close()
	out, err := tempBeside(d.Stdout)
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	errf, err := tempBeside(d.Stderr)
	if err != nil {
		return err
	}
	defer os.Remove(errf.Name())
	defer errf.Close()
	if _, err := stdcopy.StdCopy(out, errf, rc); err != nil {
		return unavailable(err, "read the job's logs")
	}
	for _, f := range []struct {
		tmp  *os.File
		dest string
	}{{out, d.Stdout}, {errf, d.Stderr}} {
		if err := f.tmp.Close(); err != nil {
			return wes.Internal(err, "could not write the job's logs")
		}
		if err := os.Rename(f.tmp.Name(), f.dest); err != nil {
			return wes.Internal(err, "could not write the job's logs")
		}
	}
	return nil
}

func fresh(path string, end time.Time) bool {
	fi, err := os.Stat(path)
	return err == nil && !end.IsZero() && fi.ModTime().After(end)
}

func tempBeside(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, wes.Internal(err, "could not create the job's log directory")
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return nil, wes.Internal(err, "could not write the job's logs")
	}
	return f, nil
}

var (
	_ wes.Executor      = (*Executor)(nil)
	_ wes.StatusBatcher = (*Executor)(nil)
	_ wes.Cleaner       = (*Executor)(nil)
	_ wes.LogReader     = (*Executor)(nil)
)
