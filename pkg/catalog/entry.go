package catalog

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/checks"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Limits on resources an entry may ask for; anything larger is a typo.
const (
	maxCPUs      = 1024
	maxMemoryMB  = 16 << 20 // 16 TiB
	maxTimeLimit = 30 * 24 * time.Hour
)

func (l *loader) entry(i int, y entryYAML, root string) *Entry {
	where := label("workflows", i, y.ID)
	ok := l.checkID(where, y.ID, l.seen("workflows"))
	if strings.TrimSpace(y.Name) == "" {
		l.addf("%s.name: required", where)
	}
	if strings.TrimSpace(y.Version) == "" {
		l.addf("%s.version: required", where)
	}
	e := &Entry{
		ID: y.ID, Name: y.Name, Description: y.Description, Version: y.Version,
		WorkflowType: y.WorkflowType, WorkflowTypeVersion: y.WorkflowTypeVersion,
		Engine: y.Engine, EngineVersion: y.EngineVersion,
		AllowedEngineParams: y.AllowedEngineParams, Groups: y.Groups,
		Logs: y.Logs, Egress: y.Egress,
	}
	eng := l.checkEngine(where, e)
	l.checkFiles(where, e, y, root)
	if eng != nil {
		l.checkEngineParams(where, e, eng)
	}
	var problems []string
	e.ParamsSchema, e.doc, e.schema, e.dsParams, problems = compileSchema(e.ID, y.ParamsSchema)
	for _, p := range problems {
		l.addf("%s.params_schema: %s", where, p)
	}
	e.DatasetParams = sortedKeys(e.dsParams)
	e.Outputs = l.checkOutputs(where, y.Outputs)
	if e.Logs == "" {
		e.Logs = wes.LogsAdmin
	} else if !slices.Contains([]string{wes.LogsNone, wes.LogsAdmin, wes.LogsOwner}, e.Logs) {
		l.addf("%s.logs: %q must be none, admin or owner", where, e.Logs)
	}
	if e.Egress == "" {
		e.Egress = wes.EgressAuto
	} else if e.Egress != wes.EgressAuto && e.Egress != wes.EgressReview {
		l.addf("%s.egress: %q must be auto or review", where, e.Egress)
	}
	switch {
	case y.Approvals < 0 || y.Approvals > egress.MaxApprovals:
		l.addf("%s.approvals: %d must be between 1 and %d", where, y.Approvals, egress.MaxApprovals)
	case y.Approvals > 1 && e.Egress != wes.EgressReview:
		l.addf("%s.approvals: %d approvals need egress: review (outputs under egress auto are released without a reviewer)", where, y.Approvals)
	}
	e.Outputs.Approvals = y.Approvals
	e.Resources = l.checkResources(where, y.Resources)
	l.checkNames(where+".groups", y.Groups)
	if !ok {
		return nil
	}
	return e
}

// checkEngine checks the engine, workflow type and type version against the registry.
func (l *loader) checkEngine(where string, e *Entry) wes.Engine {
	if e.WorkflowType == "" {
		l.addf("%s.workflow_type: required", where)
	}
	if e.Engine == "" {
		l.addf("%s.engine: required", where)
		return nil
	}
	eng, ok := l.engines.ByName(e.Engine)
	if !ok {
		var names []string
		for _, x := range l.engines.All() {
			names = append(names, x.Name())
		}
		l.addf("%s.engine: %q is not an engine of this server; known: %s", where, e.Engine, strings.Join(names, ", "))
		return nil
	}
	if e.WorkflowType != "" && eng.WorkflowType() != e.WorkflowType {
		l.addf("%s.workflow_type: %q is not what %s runs (%s)", where, e.WorkflowType, e.Engine, eng.WorkflowType())
	}
	if !slices.Contains(eng.TypeVersions(), e.WorkflowTypeVersion) {
		l.addf("%s.workflow_type_version: %q is not one of %s's: %s", where, e.WorkflowTypeVersion, e.Engine,
			strings.Join(eng.TypeVersions(), ", "))
	}
	if e.EngineVersion != "" && !engines.SafeString.MatchString(e.EngineVersion) {
		l.addf("%s.engine_version: %q is not a version", where, e.EngineVersion)
	}
	return eng
}

// checkFiles resolves the entry's dir, checks each file's path and sha256 pin, and sets
// Files, Main and the dir.
func (l *loader) checkFiles(where string, e *Entry, y entryYAML, root string) {
	dir := root
	switch {
	case y.Dir == "":
	case filepath.IsAbs(y.Dir):
		dir = filepath.Clean(y.Dir)
	case filepath.IsLocal(y.Dir):
		dir = filepath.Join(root, y.Dir)
	default:
		l.addf("%s.dir: a relative dir must stay inside root (no ..)", where)
		return
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		l.addf("%s.dir: is not a directory", where)
		return
	}
	e.dir = dir
	if len(y.Files) == 0 {
		l.addf("%s.files: at least one file (the workflow) is required", where)
		return
	}
	seen := map[string]bool{}
	for j, f := range y.Files {
		fw := fmt.Sprintf("%s.files[%d]", where, j)
		p := f.Path
		switch {
		case p == "":
			l.addf("%s.path: required", fw)
			continue
		case strings.Contains(p, `\`) || !filepath.IsLocal(p) || path.Clean(p) != p:
			l.addf("%s.path: %q must be a clean relative path inside dir (slash-separated, no ..)", fw, p)
			continue
		case strings.HasPrefix(p, "."):
			// .enclave/ is Enclave's and .snakemake/, .nextflow/ the engines' own.
			l.addf("%s.path: %q must not start with a hidden name (Enclave and the engines keep those)", fw, p)
			continue
		case seen[p]:
			l.addf("%s.path: %q is listed twice", fw, p)
			continue
		}
		seen[p] = true
		e.Files = append(e.Files, File{Path: p, SHA256: f.SHA256})
		if !sha256Hex.MatchString(f.SHA256) {
			l.addf("%s.sha256: must be 64 lower-case hex digits", fw)
			continue
		}
		got, err := hashFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			l.addf("%s.path: %v", fw, err)
		} else if got != f.SHA256 {
			l.addf("%s.sha256: mismatch: %s has sha256 %s", fw, p, got)
		}
	}
	e.Main = y.Main
	if e.Main == "" && len(e.Files) > 0 {
		e.Main = e.Files[0].Path
	} else if e.Main != "" && !seen[e.Main] {
		l.addf("%s.main: %q is not one of the files", where, e.Main)
	}
}

// checkEngineParams checks allowed_engine_params against the engine's allow-list for the
// pinned engine version (a parameter only some versions have needs engine_version set).
func (l *loader) checkEngineParams(where string, e *Entry, eng wes.Engine) {
	known := engines.ParamsFor(eng, e.EngineVersion)
	seen := map[string]bool{}
	for j, a := range e.AllowedEngineParams {
		aw := fmt.Sprintf("%s.allowed_engine_params[%d]", where, j)
		if !slices.ContainsFunc(known, func(p wes.EngineParam) bool { return p.Name == a.Name }) {
			var names []string
			for _, p := range known {
				names = append(names, p.Name)
			}
			l.addf("%s.name: %q is not a parameter of %s; known: %s", aw, a.Name, e.Engine, strings.Join(names, ", "))
			continue
		}
		if seen[a.Name] {
			l.addf("%s.name: %q is listed twice", aw, a.Name)
		}
		seen[a.Name] = true
		if a.Value != "" {
			if err := engines.ValidateParams(eng, e.EngineVersion, map[string]string{a.Name: a.Value}); err != nil {
				l.addf("%s.value: %s", aw, strings.TrimPrefix(wes.ErrorMessage(err), "workflow_engine_parameters: "))
			}
		}
	}
}

func (l *loader) checkOutputs(where string, y outputsYAML) wes.OutputPolicy {
	if len(y.Globs) == 0 {
		l.addf("%s.outputs.globs: at least one glob is required (nothing else can leave the zone)", where)
	}
	for j, g := range y.Globs {
		if msg := globProblem(g); msg != "" {
			l.addf("%s.outputs.globs[%d]: %q %s", where, j, g, msg)
		}
	}
	if y.MaxFileBytes < 0 || y.MaxTotalBytes < 0 || y.MaxFiles < 0 {
		l.addf("%s.outputs: max_file_bytes, max_total_bytes and max_files must not be negative", where)
	}
	pol := wes.OutputPolicy{Globs: y.Globs, MaxFileBytes: y.MaxFileBytes, MaxTotalBytes: y.MaxTotalBytes, MaxFiles: y.MaxFiles}
	if c := y.Checks; c != nil {
		pol.Checks = &wes.DisclosureChecks{Files: c.Files, MinCellCount: c.MinCellCount, CountColumns: c.CountColumns,
			MaxRows: c.MaxRows, ForbiddenColumns: c.ForbiddenColumns, DenyPatterns: c.DenyPatterns, DatasetOverlap: c.DatasetOverlap}
		if err := checks.Validate(*pol.Checks); err != nil {
			l.addf("%s.outputs.%v", where, err)
		}
	}
	return pol
}

// globProblem says what is wrong with an output glob, or "".
func globProblem(g string) string {
	switch {
	case g == "":
		return "is empty"
	case !doublestar.ValidatePattern(g):
		return "is not a valid glob"
	case strings.HasPrefix(g, "/"):
		return "must be relative to the work dir (no leading /)"
	case slices.Contains(strings.Split(g, "/"), ".."):
		return "must not contain .."
	case slices.Contains(strings.Split(g, "/"), "."), strings.Contains(g, "//"):
		return "must be a clean path (no . or empty segments)"
	}
	first := strings.SplitN(g, "/", 2)[0]
	switch {
	case strings.ContainsAny(first, `*?[{\`):
		// A wildcard there could match the hidden files every run has (the params file
		// naming dataset paths, the engines' logs), whatever the rest of the glob says.
		return "must start with a plain directory or file name, such as results/"
	case strings.HasPrefix(first, "."):
		return "must not start with a hidden name: those are Enclave's and the engines' own files"
	}
	return ""
}

func (l *loader) checkResources(where string, y resourcesYAML) wes.Resources {
	r := wes.Resources{CPUs: y.CPUs, MemoryMB: y.MemoryMB}
	if y.CPUs < 0 || y.CPUs > maxCPUs {
		l.addf("%s.resources.cpus: must be from 0 to %d", where, maxCPUs)
	}
	if y.MemoryMB < 0 || y.MemoryMB > maxMemoryMB {
		l.addf("%s.resources.memory_mb: must be from 0 to %d", where, maxMemoryMB)
	}
	if y.TimeLimit != "" {
		d, err := time.ParseDuration(y.TimeLimit)
		if err != nil || d <= 0 || d > maxTimeLimit {
			l.addf("%s.resources.time_limit: %q must be a positive duration of at most 720h, such as 90m", where, y.TimeLimit)
		}
		r.TimeLimit = d
	}
	return r
}
