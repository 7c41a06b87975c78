package nextflow

import (
	"context"
	"path"
	"regexp"
	"strings"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

var (
	declRE    = regexp.MustCompile(`^\s*(?:process|workflow)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{`)
	includeRE = regexp.MustCompile(`^\s*include\s*\{([^}]*)\}\s*from\s*(?:'([^']+)'|"([^"]+)")`)
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// "PROC", "WF:SUB:PROC", either with " (tag)".
	traceNameRE = regexp.MustCompile(`^([^ ()]+)(?: \((.*)\))?$`)
)

// SafeTasks implements engines.SafeTasker: the tasks Tasks reads, each task_id shown only
// when it is a number and each name only when every part of its qualified process name
// ("WF:SUB:PROC") is declared by the pipeline (ProcessNames). A tag is kept only when it
// is Nextflow's own task index, "(3)": a `tag` directive usually carries a sample's name.
func (e *Engine) SafeTasks(ctx context.Context, wf engines.Workflow) ([]wes.Task, error) {
	tasks, err := e.Tasks(ctx, wf.WorkDir)
	if err != nil {
		return nil, err
	}
	names := ProcessNames(wf)
	return engines.ScreenTasks(tasks, engines.NumericID, func(n string) (string, bool) {
		m := traceNameRE.FindStringSubmatch(n)
		if m == nil {
			return "", false
		}
		for _, part := range strings.Split(m[1], ":") {
			if !names[part] {
				return "", false
			}
		}
		if m[2] != "" && engines.NumericID(m[2]) {
			return m[1] + " (" + m[2] + ")", true
		}
		return m[1], true
	}), nil
}

// ProcessNames returns the names of the processes and workflows the pipeline wf.Main
// declares, with those of the local modules it includes ("./path", relative to the
// including file; ".nf" added, or "/main.nf" for a directory) and the aliases it includes
// them under. See enginekit.WorkflowFiles for which files are read.
func ProcessNames(wf engines.Workflow) map[string]bool {
	files := enginekit.OpenWorkflowFiles(wf)
	defer files.Close()
	names := map[string]bool{}
	if wf.Main != "" {
		readPipeline(files, wf.Main, names)
	}
	return names
}

func readPipeline(files *enginekit.WorkflowFiles, rel string, names map[string]bool) {
	lines, ok := files.Lines(rel)
	if !ok {
		return
	}
	for _, line := range lines {
		if m := declRE.FindStringSubmatch(line); m != nil {
			names[m[1]] = true
			continue
		}
		m := includeRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, member := range strings.Split(m[1], ";") {
			for _, n := range strings.Fields(member) { // "A" or "A as B"
				if n != "as" && identRE.MatchString(n) {
					names[n] = true
				}
			}
		}
		src := m[2] + m[3]
		if !strings.HasPrefix(src, "./") && !strings.HasPrefix(src, "../") {
			continue // a plugin or a remote module
		}
		ref, ok := enginekit.Ref(rel, src)
		if !ok {
			continue
		}
		if path.Ext(ref) == ".nf" {
			readPipeline(files, ref, names)
			continue
		}
		readPipeline(files, ref+".nf", names)
		readPipeline(files, ref+"/main.nf", names)
	}
}
