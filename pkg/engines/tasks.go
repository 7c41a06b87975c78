package engines

import (
	"context"
	"fmt"
	"regexp"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Task ids and names are parsed from what the engine wrote while the job ran, and the job
// can write anything there: a tool that prints a data row where the engine prints a job's
// name, or a workflow that raises an error holding data, would otherwise have the data
// shown as a task name, whatever the workflow's log visibility. So what clients see of a
// task's id and name must come from the workflow Enclave validated: the names it declares
// (rules, steps, processes), and ids of a shape that carries nothing (numbers). Anything
// else is replaced by an opaque "task-N".

// Workflow locates a run's workflow among the files of its work directory, for reading the
// names it declares.
type Workflow struct {
	// WorkDir is the run's work directory (absolute).
	WorkDir string
	// Main is the workflow's entry point, relative to WorkDir, slash-separated; "" when
	// the run has no workflow Enclave can vouch for (its catalogue entry is gone).
	Main string
	// Pins are the lower-case hex sha256 of the workflow's files, by slash-separated path
	// relative to WorkDir. When not nil, only files whose content matches their pin are
	// read: the job may write its work dir, and a staged file it changed declares nothing.
	// Nil for runs outside the catalogue, whose workflow files are their owner's own.
	Pins map[string]string
}

// SafeTasker is an optional Engine capability: the run's tasks with every id and name
// either declared by the workflow wf or replaced (see ScreenTasks). Engines that are not
// SafeTaskers have all their task names replaced and only numeric ids kept.
type SafeTasker interface {
	SafeTasks(ctx context.Context, wf Workflow) ([]wes.Task, error)
}

// Tasks returns the tasks of a run with ids and names fit to show: from e's SafeTasks
// when it has one, else e.Tasks screened with no declared names.
func Tasks(ctx context.Context, e wes.Engine, wf Workflow) ([]wes.Task, error) {
	if st, ok := e.(SafeTasker); ok {
		return st.SafeTasks(ctx, wf)
	}
	tasks, err := e.Tasks(ctx, wf.WorkDir)
	if err != nil {
		return nil, err
	}
	return ScreenTasks(tasks, NumericID, nil), nil
}

var numericRE = regexp.MustCompile(`^[0-9]{1,18}$`)

// NumericID reports whether id is a number (Snakemake's jobids, Nextflow's task ids).
func NumericID(id string) bool { return numericRE.MatchString(id) }

// ScreenTasks keeps each task's ID when validID accepts it and its Name as name returns it
// when name accepts it (name may shorten it, e.g. drop a tag). A refused ID becomes
// "task-N", N the task's position counting from 1 (stable while the engine's log grows,
// since tasks are listed in the order they started); a refused Name becomes "", which
// clients see as the id. A nil name refuses every name. IDs stay unique.
func ScreenTasks(tasks []wes.Task, validID func(string) bool, name func(string) (string, bool)) []wes.Task {
	out := make([]wes.Task, len(tasks))
	seen := make(map[string]bool, len(tasks))
	for i, t := range tasks {
		if !validID(t.ID) || seen[t.ID] {
			t.ID = fmt.Sprintf("task-%d", i+1)
			for k := 2; seen[t.ID]; k++ {
				t.ID = fmt.Sprintf("task-%d-%d", i+1, k)
			}
		}
		seen[t.ID] = true
		n, ok := "", false
		if name != nil && t.Name != "" {
			n, ok = name(t.Name)
		}
		if !ok {
			n = ""
		}
		t.Name = n
		out[i] = t
	}
	return out
}
