package docker

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"github.com/spe4hd/enclave/pkg/wes"
)

// resolveRoots makes each dataset root absolute with its symlinks resolved, so that a
// dataset's resolved path can be compared with them.
func resolveRoots(roots []string) ([]string, error) {
	out := make([]string, 0, len(roots))
	for i, r := range roots {
		if !filepath.IsAbs(r) {
			return nil, fmt.Errorf("docker executor: DatasetRoots[%d] %q must be an absolute path", i, r)
		}
		real, err := filepath.EvalSymlinks(r)
		if err != nil {
			return nil, fmt.Errorf("docker executor: DatasetRoots[%d]: %w", i, err)
		}
		out = append(out, filepath.Clean(real))
	}
	return out, nil
}

// within reports whether path is root or lies below it (both clean and absolute).
func within(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+string(filepath.Separator)) || root == string(filepath.Separator)
}

// datasetMounts turns the job's datasets into read-only bind mounts: each one's path,
// with its symlinks resolved, must lie inside a dataset root, and it is mounted at the
// path the job names (the engine's params refer to it by that path). A dataset path that
// is, or passes through, a symlink leading out of the roots is refused: the check is
// made on the resolved path, which is also what gets mounted, so a link swapped later
// changes nothing already mounted. Links inside a dataset need no check: in the
// container they resolve against the container's own file system, where nothing of the
// zone but the job's datasets and work dir exists.
//
// The messages name datasets by id only: they reach the run's owner, and paths inside
// the zone are never shown.
func (e *Executor) datasetMounts(job *wes.Job, workTarget string) ([]mount.Mount, error) {
	if len(job.Datasets) == 0 {
		return nil, nil
	}
	if len(e.roots) == 0 {
		return nil, wes.Errorf(wes.EINVALID, "the run reads datasets but the docker executor allows none (executor.docker.dataset_roots is empty)")
	}
	var ms []mount.Mount
	targets := map[string]bool{}
	for i, d := range job.Datasets {
		name := d.ID
		if name == "" {
			name = fmt.Sprintf("datasets[%d]", i)
		}
		if !filepath.IsAbs(d.Path) || filepath.Clean(d.Path) != d.Path {
			return nil, wes.Errorf(wes.EINVALID, "dataset %q: its path must be absolute and clean", name)
		}
		real, err := filepath.EvalSymlinks(d.Path)
		if err != nil {
			return nil, wes.Errorf(wes.EINVALID, "dataset %q does not exist on the container engine's host", name)
		}
		if !slices.ContainsFunc(e.roots, func(r string) bool { return within(real, r) }) {
			return nil, wes.Errorf(wes.EINVALID, "dataset %q lies outside the docker executor's dataset roots (executor.docker.dataset_roots)", name)
		}
		if _, err := os.Stat(real); err != nil {
			return nil, wes.Errorf(wes.EINVALID, "dataset %q cannot be read on the container engine's host", name)
		}
		if within(workTarget, d.Path) || within(d.Path, workTarget) {
			return nil, wes.Errorf(wes.EINVALID, "dataset %q overlaps the run's work directory", name)
		}
		if targets[d.Path] {
			continue // the same dataset named twice
		}
		targets[d.Path] = true
		ms = append(ms, mount.Mount{Type: mount.TypeBind, Source: real, Target: d.Path, ReadOnly: true})
	}
	// A dataset nested in another is mounted after it, on top.
	slices.SortFunc(ms, func(a, b mount.Mount) int { return strings.Compare(a.Target, b.Target) })
	return ms, nil
}
