package runs

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Tasks returns the tasks of run id as p may see them: names always (from the pinned
// workflow files, see engines.Tasks), command lines, system logs and TES URIs only where
// the log policy lets p read the engine's output, with zone paths rewritten.
func (s *Service) Tasks(ctx context.Context, p *wes.Principal, id string) (*wes.Run, []wes.Task, error) {
	r, err := s.Visible(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	tasks, err := s.runTasks(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	cmds, _ := s.engineOutputAccess(p, r)
	zr := s.zoneRewriter(r)
	for i := range tasks {
		t := &tasks[i]
		if cmds {
			t.Cmd, t.SystemLogs = zr.Strings(t.Cmd), zr.Strings(t.SystemLogs)
		} else {
			t.Cmd, t.SystemLogs, t.TESURI = nil, nil, ""
		}
	}
	return r, tasks, nil
}

// runTasks asks the run's engine for its tasks. A run that has no work directory yet, or
// whose engine is no longer configured, has none to show.
func (s *Service) runTasks(ctx context.Context, r *wes.Run) ([]wes.Task, error) {
	e, ok := s.deps.Engines.ByName(r.Engine)
	if !ok {
		s.log.Warn("run's engine is not configured; listing no tasks", "run_id", r.ID, "engine", r.Engine)
		return nil, nil
	}
	if r.WorkDir == "" {
		return nil, nil
	}
	if _, err := os.Stat(r.WorkDir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	tasks, err := engines.Tasks(ctx, e, s.runWorkflow(r))
	if err != nil {
		if wes.ErrorCode(err) == wes.EINTERNAL {
			return nil, wes.Internal(err, "the tasks of run %s could not be read", r.ID)
		}
		return nil, err
	}
	// The engine's tasks ran inside the run's one backend job: with a TES executor, they
	// all point at its task.
	if s.deps.TaskURI != nil && r.Handle != nil {
		if uri := s.deps.TaskURI(*r.Handle); uri != "" {
			for i := range tasks {
				if tasks[i].TESURI == "" {
					tasks[i].TESURI = uri
				}
			}
		}
	}
	return tasks, nil
}

// runWorkflow locates r's workflow in its work dir for the names it declares: a
// catalogue run's entry point and files as the catalogue pins them (none when its entry
// has left the catalogue), another run's workflow_url, unpinned (its files are its
// owner's own).
func (s *Service) runWorkflow(r *wes.Run) engines.Workflow {
	wf := engines.Workflow{WorkDir: r.WorkDir}
	if r.Workflow == "" {
		wf.Main = r.Request.WorkflowURL
		return wf
	}
	wf.Pins = map[string]string{}
	cat := s.currentCatalog()
	if cat == nil {
		return wf
	}
	e, ok := cat.Entry(r.Workflow)
	if !ok {
		return wf
	}
	wf.Main = e.Main
	for _, f := range e.Files {
		wf.Pins[f.Path] = f.SHA256
	}
	return wf
}
