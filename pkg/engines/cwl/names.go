package cwl

import (
	"context"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// SafeTasks implements engines.SafeTasker: the tasks Tasks reads, each id and name shown
// only when it is a name the CWL document declares (StepNames), or such a name with the
// "_2", "_3"… cwltool gives the further jobs of a scattered or repeated step.
func (e *Engine) SafeTasks(ctx context.Context, wf engines.Workflow) ([]wes.Task, error) {
	tasks, err := e.Tasks(ctx, wf.WorkDir)
	if err != nil {
		return nil, err
	}
	names := StepNames(wf)
	declared := func(n string) bool {
		if names[n] {
			return true
		}
		m := suffixRE.FindStringSubmatch(n)
		return m != nil && names[m[1]]
	}
	return engines.ScreenTasks(tasks, declared, func(n string) (string, bool) { return n, declared(n) }), nil
}

var suffixRE = regexp.MustCompile(`^(.+)_[0-9]{1,9}$`)

// StepNames returns the names cwltool may give the jobs of the CWL document wf.Main: the
// ids of its steps (and of the steps of workflows it runs, inline or from files inside the
// work dir; see enginekit.WorkflowFiles for which files are read), the ids of its
// processes (a packed $graph), and for a document run as a single tool, its file name
// with and without the extension. Ids are shortened as cwltool does ("#main/step" is
// "step").
func StepNames(wf engines.Workflow) map[string]bool {
	names := map[string]bool{}
	if wf.Main == "" {
		return names
	}
	base := path.Base(wf.Main)
	names[base] = true
	names[strings.TrimSuffix(base, path.Ext(base))] = true
	files := enginekit.OpenWorkflowFiles(wf)
	defer files.Close()
	c := &stepCollector{files: files, names: names}
	c.file(wf.Main)
	return names
}

type stepCollector struct {
	files *enginekit.WorkflowFiles
	names map[string]bool
}

func (c *stepCollector) file(rel string) {
	data, ok := c.files.Read(rel)
	if !ok {
		return
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return
	}
	m, _ := doc.(map[string]any)
	if graph, ok := m["$graph"].([]any); ok {
		for _, p := range graph {
			c.process(rel, p)
		}
		return
	}
	c.process(rel, m)
}

// process adds a process's id and its steps' ids, and follows what each step runs.
func (c *stepCollector) process(rel string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	c.add(m["id"])
	switch steps := m["steps"].(type) {
	case []any:
		for _, s := range steps {
			if sm, ok := s.(map[string]any); ok {
				c.add(sm["id"])
				c.run(rel, sm["run"])
			}
		}
	case map[string]any:
		ids := make([]string, 0, len(steps))
		for id := range steps {
			ids = append(ids, id)
		}
		sort.Strings(ids) // read the files steps run in a fixed order
		for _, id := range ids {
			c.add(id)
			if sm, ok := steps[id].(map[string]any); ok {
				c.run(rel, sm["run"])
			}
		}
	}
}

// run follows a step's run: an inline process, or a file (a "#fragment" of the same
// packed document is already read with its $graph).
func (c *stepCollector) run(rel string, v any) {
	switch r := v.(type) {
	case map[string]any:
		if imp, ok := r["$import"].(string); ok {
			c.run(rel, imp)
			return
		}
		c.process(rel, r)
	case string:
		ref, _, _ := strings.Cut(r, "#")
		if p, ok := enginekit.Ref(rel, ref); ok {
			c.file(p)
		}
	}
}

// add adds an id, shortened as cwltool's shortname does: the last part of its fragment,
// or of its path.
func (c *stepCollector) add(v any) {
	id, ok := v.(string)
	if !ok || id == "" {
		return
	}
	if _, frag, ok := strings.Cut(id, "#"); ok {
		id = frag
	}
	if i := strings.LastIndex(id, "/"); i >= 0 {
		id = id[i+1:]
	}
	if id != "" {
		c.names[id] = true
	}
}
