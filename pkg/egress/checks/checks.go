// Package checks runs the automatic disclosure checks of a workflow's tabular outputs
// (wes.DisclosureChecks) before they leave the zone: small counts, too many rows,
// forbidden columns, identifier patterns, and whole rows copied from the run's input
// datasets. Every check reads the file once, as a stream, within fixed limits, and a file
// that cannot be read as the table its name declares fails. Results never quote a value:
// they say which check failed and where (row, column).
package checks

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Check names, as results report them.
const (
	ForbiddenColumns = "forbidden_columns"
	MaxRows          = "max_rows"
	MinCellCount     = "min_cell_count"
	DenyPatterns     = "deny_patterns"
	DatasetOverlap   = "dataset_overlap"
	Parse            = "parse"
)

// DefaultFiles are the outputs checked when a workflow names none.
var DefaultFiles = []string{"**/*.csv", "**/*.tsv"}

// MaxFields bounds the fields of one row, so a hostile file cannot make a row unbounded.
const MaxFields = 10_000

// Checker runs one workflow's checks. It is safe for concurrent use.
type Checker struct {
	spec    wes.DisclosureChecks
	files   []string
	deny    []*regexp.Regexp
	forbid  map[string]bool
	counts  map[string]bool
	overlap *RowIndex // nil unless DatasetOverlap
}

// Compile checks spec and returns its Checker. index holds the rows of the run's input
// datasets for the overlap check (nil: none read; then the overlap check fails, since it
// cannot be done).
func Compile(spec wes.DisclosureChecks, index *RowIndex) (*Checker, error) {
	c := &Checker{spec: spec, files: spec.Files, forbid: map[string]bool{}, counts: map[string]bool{}, overlap: index}
	if len(c.files) == 0 {
		c.files = DefaultFiles
	}
	for _, g := range c.files {
		if !doublestar.ValidatePattern(g) {
			return nil, fmt.Errorf("checks.files: %q is not a valid glob", g)
		}
	}
	for i, p := range spec.DenyPatterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("checks.deny_patterns[%d]: %v", i, err)
		}
		c.deny = append(c.deny, re)
	}
	for _, n := range spec.ForbiddenColumns {
		c.forbid[strings.ToLower(strings.TrimSpace(n))] = true
	}
	for _, n := range spec.CountColumns {
		c.counts[strings.ToLower(strings.TrimSpace(n))] = true
	}
	switch {
	case spec.MinCellCount < 0 || spec.MaxRows < 0:
		return nil, errors.New("checks: min_cell_count and max_rows must not be negative")
	case spec.MinCellCount > 0 && len(spec.CountColumns) == 0:
		return nil, errors.New("checks.min_cell_count needs count_columns: the columns that hold counts")
	}
	return c, nil
}

// Validate reports whether spec compiles (for the catalogue's own checks).
func Validate(spec wes.DisclosureChecks) error {
	_, err := Compile(spec, nil)
	return err
}

// Applies reports whether the output at rel (slash-separated, relative to the work dir)
// is checked.
func (c *Checker) Applies(rel string) bool {
	for _, g := range c.files {
		if ok, _ := doublestar.Match(g, rel); ok {
			return true
		}
	}
	return false
}

// Passed reports whether every result passed.
func Passed(results []wes.CheckResult) bool {
	for _, r := range results {
		if !r.Passed {
			return false
		}
	}
	return true
}

// Failed names the checks that failed, for a reason the owner reads.
func Failed(results []wes.CheckResult) string {
	var names []string
	for _, r := range results {
		if !r.Passed {
			s := r.Check
			if r.Detail != "" {
				s += " (" + r.Detail + ")"
			}
			names = append(names, s)
		}
	}
	return strings.Join(names, "; ")
}

// Check reads the table in r (named rel, which decides CSV or TSV) once and returns the
// result of every declared check, in a fixed order. A table that cannot be read fails a
// "parse" check and every declared check with it.
func (c *Checker) Check(rel string, r io.Reader) []wes.CheckResult {
	t := &tally{c: c, firstFail: map[string]string{}}
	if err := t.read(rel, r); err != nil {
		return c.unreadable(err)
	}
	return t.results()
}

// unreadable fails every declared check of a file that is not the table it says it is.
func (c *Checker) unreadable(err error) []wes.CheckResult {
	out := []wes.CheckResult{{Check: Parse, Passed: false, Detail: err.Error()}}
	for _, name := range c.declared() {
		out = append(out, wes.CheckResult{Check: name, Passed: false, Detail: "not checked: the file is not a readable table"})
	}
	return out
}

// declared lists the checks the spec asks for, in result order.
func (c *Checker) declared() []string {
	var out []string
	if len(c.forbid) > 0 {
		out = append(out, ForbiddenColumns)
	}
	if c.spec.MaxRows > 0 {
		out = append(out, MaxRows)
	}
	if c.spec.MinCellCount > 0 {
		out = append(out, MinCellCount)
	}
	if len(c.deny) > 0 {
		out = append(out, DenyPatterns)
	}
	if c.spec.DatasetOverlap {
		out = append(out, DatasetOverlap)
	}
	return out
}

// tally is one pass over a table.
type tally struct {
	c         *Checker
	rows      int               // data rows
	firstFail map[string]string // check → where it first failed
	countCols []int
	header    []string
}

func (t *tally) fail(check, where string) {
	if _, ok := t.firstFail[check]; !ok {
		t.firstFail[check] = where
	}
}

func (t *tally) read(rel string, r io.Reader) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	if strings.EqualFold(path.Ext(rel), ".tsv") {
		cr.Comma = '\t'
		cr.LazyQuotes = true // TSV has no quoting; a stray quote is data
	}
	for line := 0; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			if line == 0 {
				return errors.New("the file is empty: no header row")
			}
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return fmt.Errorf("row %d is not valid %s", pe.Line, tableKind(rel))
			}
			return errors.New("the file could not be read")
		}
		if len(rec) > MaxFields {
			return fmt.Errorf("row %d has more than %d fields", line+1, MaxFields)
		}
		if line == 0 {
			t.onHeader(rec)
			continue
		}
		t.rows++
		t.onRow(t.rows, rec)
	}
}

func tableKind(rel string) string {
	if strings.EqualFold(path.Ext(rel), ".tsv") {
		return "TSV"
	}
	return "CSV"
}

func (t *tally) onHeader(rec []string) {
	t.header = make([]string, len(rec))
	for i, h := range rec {
		name := strings.ToLower(strings.TrimSpace(h))
		t.header[i] = name
		if t.c.forbid[name] {
			t.fail(ForbiddenColumns, "column "+safeName(h))
		}
		if t.c.counts[name] {
			t.countCols = append(t.countCols, i)
		}
	}
	if t.c.spec.MinCellCount > 0 && len(t.countCols) < len(t.c.counts) {
		t.fail(MinCellCount, "a count column named by the workflow is missing")
	}
}

func (t *tally) onRow(n int, rec []string) {
	c := t.c
	if c.spec.MaxRows > 0 && n == c.spec.MaxRows+1 {
		t.fail(MaxRows, fmt.Sprintf("more than %d rows", c.spec.MaxRows))
	}
	if c.spec.MinCellCount > 0 {
		for _, i := range t.countCols {
			if i < len(rec) && !countOK(rec[i], c.spec.MinCellCount) {
				t.fail(MinCellCount, fmt.Sprintf("row %d, column %s", n, safeName(t.header[i])))
			}
		}
	}
	if len(c.deny) > 0 {
		for i, v := range rec {
			for k, re := range c.deny {
				if re.MatchString(v) {
					t.fail(DenyPatterns, fmt.Sprintf("row %d, column %s matches pattern %d", n, safeName(t.column(i)), k+1))
				}
			}
		}
	}
	if c.spec.DatasetOverlap && c.overlap != nil && c.overlap.Contains(rec) {
		t.fail(DatasetOverlap, fmt.Sprintf("row %d is a row of an input dataset", n))
	}
}

func (t *tally) column(i int) string {
	if i < len(t.header) {
		return t.header[i]
	}
	return strconv.Itoa(i + 1)
}

func (t *tally) results() []wes.CheckResult {
	var out []wes.CheckResult
	for _, name := range t.c.declared() {
		r := wes.CheckResult{Check: name, Passed: true}
		if where, failed := t.firstFail[name]; failed {
			r.Passed, r.Detail = false, where
		}
		if name == DatasetOverlap && t.c.overlap == nil {
			r.Passed, r.Detail = false, "not checked: the input datasets could not be read"
		} else if name == DatasetOverlap && t.c.overlap.Incomplete() {
			r.Passed, r.Detail = false, "not checked completely: the input datasets are larger than the check's limit"
		}
		out = append(out, r)
	}
	return out
}

// countOK reports whether v is a count of at least min, or suppressed: empty, "*", "NA"
// or "<n" with n at most min.
func countOK(v string, min int) bool {
	v = strings.TrimSpace(v)
	switch {
	case v == "" || v == "*" || strings.EqualFold(v, "NA"):
		return true
	case strings.HasPrefix(v, "<"):
		n, err := strconv.Atoi(strings.TrimSpace(v[1:]))
		return err == nil && n <= min
	}
	n, err := strconv.ParseFloat(v, 64)
	return err == nil && n >= float64(min) && n == float64(int64(n))
}

// safeName is a header name fit for a result: short, printable.
func safeName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
