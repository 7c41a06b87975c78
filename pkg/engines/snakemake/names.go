package snakemake

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

var (
	// "rule name:", "checkpoint name:", "localrule" never appears in a Snakefile.
	declRE = regexp.MustCompile(`^\s*(?:rule|checkpoint)\s+([A-Za-z_][A-Za-z0-9_]*)\s*:`)
	// "rule:" declares a rule Snakemake names by its number.
	anonRE = regexp.MustCompile(`^\s*(?:rule|checkpoint)\s*:`)
	// "use rule a, b from m", "use rule a from m as b with:", "use rule a as b with:".
	useRE = regexp.MustCompile(`^\s*use\s+rule\s+(.+?)(?:\s+from\s+[A-Za-z_][A-Za-z0-9_]*)?(?:\s+as\s+(\S+?))?\s*(?:with\s*:.*)?$`)
	// include: "rules/more.smk" (a plain string; anything computed is not followed).
	includeRE = regexp.MustCompile(`^\s*include\s*:\s*(?:"([^"]+)"|'([^']+)')\s*(?:#.*)?$`)
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// SafeTasks implements engines.SafeTasker: the tasks Tasks reads, with each rule name
// shown only when the workflow declares it (RuleNames) and each jobid only when it is a
// number.
func (e *Engine) SafeTasks(ctx context.Context, wf engines.Workflow) ([]wes.Task, error) {
	tasks, err := e.Tasks(ctx, wf.WorkDir)
	if err != nil {
		return nil, err
	}
	names := RuleNames(wf)
	return engines.ScreenTasks(tasks, engines.NumericID, func(n string) (string, bool) { return n, names[n] }), nil
}

// RuleNames returns the names of the rules and checkpoints the Snakefile wf.Main declares,
// with the files it includes (plain string paths inside the work dir, relative to the
// including file as Snakemake reads them; see enginekit.WorkflowFiles for which files are
// read). Rules from `use rule` take their new name; a rule declared without a name is
// named by its number, as Snakemake does. Modules loaded from elsewhere declare nothing.
func RuleNames(wf engines.Workflow) map[string]bool {
	files := enginekit.OpenWorkflowFiles(wf)
	defer files.Close()
	p := &ruleParser{files: files, names: map[string]bool{}}
	if wf.Main != "" {
		p.file(wf.Main)
	}
	return p.names
}

type ruleParser struct {
	files *enginekit.WorkflowFiles
	names map[string]bool
	count int // rules declared so far, for the number of an unnamed one
}

func (p *ruleParser) file(rel string) {
	lines, ok := p.files.Lines(rel)
	if !ok {
		return
	}
	for _, line := range lines {
		switch {
		case declRE.MatchString(line):
			p.count++
			p.names[declRE.FindStringSubmatch(line)[1]] = true
		case anonRE.MatchString(line):
			p.count++
			p.names[strconv.Itoa(p.count)] = true
		case useRE.MatchString(line):
			p.use(useRE.FindStringSubmatch(line))
		case includeRE.MatchString(line):
			m := includeRE.FindStringSubmatch(line)
			if ref, ok := enginekit.Ref(rel, m[1]+m[2]); ok {
				p.file(ref)
			}
		}
	}
}

// use adds the rules a `use rule` statement makes: the new name, or with no "as" the
// names it lists. A pattern ("*", "prefix_*") is not a name and adds nothing.
func (p *ruleParser) use(m []string) {
	if m[2] != "" {
		if identRE.MatchString(m[2]) {
			p.count++
			p.names[m[2]] = true
		}
		return
	}
	for _, n := range strings.Split(m[1], ",") {
		if n = strings.TrimSpace(n); identRE.MatchString(n) {
			p.count++
			p.names[n] = true
		}
	}
}
