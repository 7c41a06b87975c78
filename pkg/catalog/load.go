package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/builtin"
)

// IDPattern is what workflow and dataset ids look like. Dataset references in
// workflow_params must match it too, so no path or URL can pass for one.
var IDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// maxCatalogBytes bounds the catalogue file; a real one is a few kilobytes.
const maxCatalogBytes = 8 << 20

// Options tune Load.
type Options struct {
	// Engines checks each entry's engine, workflow type and version and its allowed
	// engine parameters. Default: the built-in snakemake, cwltool and nextflow engines
	// with default settings (their parameter lists do not depend on the machine).
	Engines *engines.Registry
}

// LoadError lists every problem of a catalogue file, each naming the entry and field,
// e.g. "workflows[hello-smk].files[0].sha256: mismatch ...".
type LoadError struct {
	Problems []string
	// SHA256 is the hex sha256 of the file that was refused, "" when it could not be
	// read; for the audit trail of a refused reload.
	SHA256 string
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("catalogue has %d problem(s):\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Load reads, checks and compiles the catalogue at path with default Options. It returns a
// *LoadError listing every problem, including any workflow file whose sha256 differs from
// its pin.
func Load(path string) (*Catalog, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with options.
func LoadWith(path string, opts Options) (*Catalog, error) {
	if opts.Engines == nil {
		opts.Engines = BuiltinEngines()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &LoadError{Problems: []string{"cannot resolve the catalogue path: " + err.Error()}}
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, &LoadError{Problems: []string{"cannot read the catalogue: " + err.Error()}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCatalogBytes+1))
	if err != nil {
		return nil, &LoadError{Problems: []string{"cannot read the catalogue: " + err.Error()}}
	}
	if len(data) > maxCatalogBytes {
		return nil, &LoadError{Problems: []string{fmt.Sprintf("the catalogue is larger than %d MiB", maxCatalogBytes>>20)}}
	}
	sum := sha256.Sum256(data)
	l := &loader{base: filepath.Dir(abs), engines: opts.Engines, sum: hex.EncodeToString(sum[:])}
	c, err := l.load(data)
	var le *LoadError
	if errors.As(err, &le) {
		le.SHA256 = l.sum
	}
	return c, err
}

// BuiltinEngines returns the engines Enclave ships, with default settings.
func BuiltinEngines() *engines.Registry { return builtin.Engines(builtin.Config{}, nil) }

// The YAML form of a catalogue.
type fileYAML struct {
	Root      string        `yaml:"root"`
	DataRoot  string        `yaml:"data_root"`
	Workflows []entryYAML   `yaml:"workflows"`
	Datasets  []datasetYAML `yaml:"datasets"`
	Policy    []ruleYAML    `yaml:"policy"`
}

type entryYAML struct {
	ID                  string         `yaml:"id"`
	Name                string         `yaml:"name"`
	Description         string         `yaml:"description"`
	Version             string         `yaml:"version"`
	WorkflowType        string         `yaml:"workflow_type"`
	WorkflowTypeVersion string         `yaml:"workflow_type_version"`
	Engine              string         `yaml:"engine"`
	EngineVersion       string         `yaml:"engine_version"`
	Dir                 string         `yaml:"dir"`
	Main                string         `yaml:"main"`
	Files               []fileRefYAML  `yaml:"files"`
	ParamsSchema        map[string]any `yaml:"params_schema"`
	AllowedEngineParams []AllowedParam `yaml:"allowed_engine_params"`
	Outputs             outputsYAML    `yaml:"outputs"`
	Logs                string         `yaml:"logs"`
	Egress              string         `yaml:"egress"`
	Approvals           int            `yaml:"approvals"`
	Resources           resourcesYAML  `yaml:"resources"`
	Groups              []string       `yaml:"groups"`
}

type fileRefYAML struct {
	Path   string `yaml:"path"`
	SHA256 string `yaml:"sha256"`
}

// outputsYAML mirrors wes.OutputPolicy, so that strict decoding names our fields.
type outputsYAML struct {
	Globs         []string    `yaml:"globs"`
	MaxFileBytes  int64       `yaml:"max_file_bytes"`
	MaxTotalBytes int64       `yaml:"max_total_bytes"`
	MaxFiles      int         `yaml:"max_files"`
	Checks        *checksYAML `yaml:"checks"`
}

// checksYAML mirrors wes.DisclosureChecks (pkg/egress/checks).
type checksYAML struct {
	Files            []string `yaml:"files"`
	MinCellCount     int      `yaml:"min_cell_count"`
	CountColumns     []string `yaml:"count_columns"`
	MaxRows          int      `yaml:"max_rows"`
	ForbiddenColumns []string `yaml:"forbidden_columns"`
	DenyPatterns     []string `yaml:"deny_patterns"`
	DatasetOverlap   bool     `yaml:"dataset_overlap"`
}

type resourcesYAML struct {
	CPUs      int    `yaml:"cpus"`
	MemoryMB  int    `yaml:"memory_mb"`
	TimeLimit string `yaml:"time_limit"`
}

type datasetYAML struct {
	ID          string   `yaml:"id"`
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Path        string   `yaml:"path"`
	Groups      []string `yaml:"groups"`
	Stewards    []string `yaml:"stewards"`
	Version     string   `yaml:"version"`
	Checksum    string   `yaml:"checksum"`
}

type ruleYAML struct {
	Groups    []string `yaml:"groups"`
	Roles     []string `yaml:"roles"`
	Workflows []string `yaml:"workflows"`
	Datasets  []string `yaml:"datasets"`
}

// yamlFieldErr rewrites yaml.v3's "field x not found in type catalog.entryYAML".
var yamlFieldErr = regexp.MustCompile(`field (\S+) not found in type \S+`)

// loader collects the problems of one catalogue.
type loader struct {
	base     string
	engines  *engines.Registry
	problems []string
	ids      map[string]map[string]bool // per list, the ids already seen
	sum      string                     // hex sha256 of the file
}

func (l *loader) addf(format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

func (l *loader) load(data []byte) (*Catalog, error) {
	var raw fileYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &LoadError{Problems: []string{"not valid YAML: " + err.Error()}}
		}
		// A type error leaves the rest decoded: report it and check the rest too.
		for _, msg := range te.Errors {
			l.addf("%s", yamlFieldErr.ReplaceAllString(msg, "unknown field $1"))
		}
	}
	root := l.dirOf("root", raw.Root)
	dataRoot := l.dirOf("data_root", raw.DataRoot)

	c := &Catalog{workflows: map[string]*Entry{}, datasets: map[string]*Dataset{}}
	for i, d := range raw.Datasets {
		if ds := l.dataset(i, d, dataRoot); ds != nil {
			c.datasets[ds.ID] = ds
		}
	}
	for i, e := range raw.Workflows {
		if ent := l.entry(i, e, root); ent != nil {
			c.workflows[ent.ID] = ent
		}
	}
	for i, r := range raw.Policy {
		c.rules = append(c.rules, l.rule(i, r, raw))
	}
	if len(l.problems) > 0 {
		return nil, &LoadError{Problems: l.problems}
	}
	c.fp = fingerprintOf(l.sum, raw)
	return c, nil
}

// dirOf resolves a root directory of the catalogue: "" is the catalogue's directory, a
// relative path is relative to it.
func (l *loader) dirOf(field, p string) string {
	if p == "" {
		return l.base
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.base, p)
	}
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		l.addf("%s: %q is not a directory", field, p)
	}
	return filepath.Clean(p)
}

// checkID checks an id field and reports whether it is usable as a key.
func (l *loader) checkID(where, id string, seen map[string]bool) bool {
	switch {
	case id == "":
		l.addf("%s.id: required", where)
		return false
	case !IDPattern.MatchString(id):
		l.addf("%s.id: %q must match %s", where, id, IDPattern)
		return false
	case seen[id]:
		l.addf("%s.id: %q is used twice", where, id)
		return false
	}
	seen[id] = true
	return true
}

// label names a list element in problems: its id when it has a usable one, else its index.
func label(list string, i int, id string) string {
	if IDPattern.MatchString(id) {
		return fmt.Sprintf("%s[%s]", list, id)
	}
	return fmt.Sprintf("%s[%d]", list, i)
}

func (l *loader) dataset(i int, d datasetYAML, dataRoot string) *Dataset {
	where := label("datasets", i, d.ID)
	ok := l.checkID(where, d.ID, l.seen("datasets"))
	if d.Name == "" {
		l.addf("%s.name: required", where)
	}
	ds := &Dataset{ID: d.ID, Name: d.Name, Description: d.Description, Groups: d.Groups, Stewards: d.Stewards,
		Version: d.Version, Checksum: d.Checksum}
	l.checkDatasetChecksum(where, d.Checksum)
	switch {
	case d.Path == "":
		l.addf("%s.path: required", where)
		ok = false
	case !filepath.IsAbs(d.Path) && !filepath.IsLocal(d.Path):
		l.addf("%s.path: a relative path must stay inside data_root (no ..)", where)
		ok = false
	default:
		p := d.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dataRoot, p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			l.addf("%s.path: cannot be read: %v", where, pathless(err))
			ok = false
		} else {
			ds.path, ds.dir = filepath.Clean(p), fi.IsDir()
		}
	}
	l.checkNames(where+".groups", d.Groups)
	if !ok {
		return nil
	}
	return ds
}

func (l *loader) rule(i int, r ruleYAML, raw fileYAML) rule {
	where := fmt.Sprintf("policy[%d]", i)
	if len(r.Groups) == 0 && len(r.Roles) == 0 {
		l.addf("%s: names no groups and no roles, so it matches nobody", where)
	}
	if len(r.Workflows) == 0 && len(r.Datasets) == 0 {
		l.addf("%s: allows no workflows and no datasets", where)
	}
	l.checkNames(where+".groups", r.Groups)
	l.checkNames(where+".roles", r.Roles)
	for j, id := range r.Workflows {
		if !hasID(len(raw.Workflows), func(k int) string { return raw.Workflows[k].ID }, id) {
			l.addf("%s.workflows[%d]: no workflow has id %q", where, j, id)
		}
	}
	for j, id := range r.Datasets {
		if !hasID(len(raw.Datasets), func(k int) string { return raw.Datasets[k].ID }, id) {
			l.addf("%s.datasets[%d]: no dataset has id %q", where, j, id)
		}
	}
	return rule{groups: r.Groups, roles: r.Roles, workflows: r.Workflows, datasets: r.Datasets}
}

func hasID(n int, id func(int) string, want string) bool {
	for k := range n {
		if id(k) == want {
			return true
		}
	}
	return false
}

// checkNames refuses empty group or role names, which would never match and are typos.
func (l *loader) checkNames(where string, names []string) {
	for j, n := range names {
		if strings.TrimSpace(n) == "" {
			l.addf("%s[%d]: empty", where, j)
		}
	}
}

// seen returns the per-list set of ids already used.
func (l *loader) seen(list string) map[string]bool {
	if l.ids == nil {
		l.ids = map[string]map[string]bool{}
	}
	if l.ids[list] == nil {
		l.ids[list] = map[string]bool{}
	}
	return l.ids[list]
}

// pathless returns err without the file path an *os.PathError carries, so messages that
// may reach a client never name a place inside the zone.
func pathless(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
