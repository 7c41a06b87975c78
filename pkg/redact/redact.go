// Package redact rewrites paths inside the sealed zone (the data directory, a run's work
// directory, dataset paths) to stable placeholders such as <workdir> or <dataset:cohort-a>
// in text that leaves the zone: engine logs, command lines, system messages.
package redact

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
)

// Rule rewrites one absolute path to a placeholder.
type Rule struct {
	Path        string
	Placeholder string
}

// Rewriter rewrites zone paths in text. Where paths overlap the longest wins, so a run's
// work directory becomes <workdir> rather than <data>/runs/…/work. Every occurrence is
// rewritten, even inside a longer name (/zone/data2 becomes <data>2): showing less is
// the safe side. A Rewriter is immutable and safe for concurrent use.
type Rewriter struct {
	rules []Rule // longest path first
	max   int    // length of the longest path
}

// New returns a Rewriter for rules. Rules whose path is not absolute, is the root, or
// holds a line break are dropped (log reads cut at line breaks, see Section), as are
// duplicates of a path already listed (the first rule for a path wins).
func New(rules ...Rule) *Rewriter {
	w := &Rewriter{}
	seen := map[string]bool{}
	for _, r := range rules {
		if !filepath.IsAbs(r.Path) || strings.ContainsAny(r.Path, "\r\n") {
			continue
		}
		p := filepath.Clean(r.Path)
		if p == string(filepath.Separator) || seen[p] {
			continue
		}
		seen[p] = true
		w.rules = append(w.rules, Rule{Path: p, Placeholder: r.Placeholder})
		w.max = max(w.max, len(p))
	}
	// Longest first; equal lengths in a fixed order so the result never depends on the
	// order callers listed their rules in.
	slices.SortStableFunc(w.rules, func(a, b Rule) int {
		if len(a.Path) != len(b.Path) {
			return len(b.Path) - len(a.Path)
		}
		return strings.Compare(a.Path, b.Path)
	})
	return w
}

// WithResolved returns rules plus, for each path that reaches the same place through
// symlinks under another name, a rule for that name too: tools print resolved paths
// (cwltool resolves its inputs), so both spellings must be rewritten.
func WithResolved(rules []Rule) []Rule {
	out := slices.Clone(rules)
	for _, r := range rules {
		if real, err := filepath.EvalSymlinks(r.Path); err == nil && real != filepath.Clean(r.Path) {
			out = append(out, Rule{Path: real, Placeholder: r.Placeholder})
		}
	}
	return out
}

// Rules returns the rules in use, longest path first.
func (w *Rewriter) Rules() []Rule { return slices.Clone(w.rules) }

// String rewrites every zone path in s.
func (w *Rewriter) String(s string) string {
	if w == nil || len(w.rules) == 0 || !strings.Contains(s, "/") {
		return s
	}
	out, _, _ := w.scan(nil, []byte(s), 0, len(s), 0)
	return string(out)
}

// Strings rewrites each of ss into a new slice (nil stays nil).
func (w *Rewriter) Strings(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = w.String(s)
	}
	return out
}

// match returns the rule whose path starts b, or nil.
func (w *Rewriter) match(b []byte) *Rule {
	for i := range w.rules {
		if bytes.HasPrefix(b, []byte(w.rules[i].Path)) {
			return &w.rules[i]
		}
	}
	return nil
}

// scan rewrites buf[start:stop] from left to right, taking at each position the longest
// path that starts there (its bytes may run on past stop, up to len(buf)), and appends the
// result to dst. Bytes before keep (an index into buf) are scanned but not appended,
// except a placeholder whose path reaches past keep. It returns dst, where the scan
// ended (stop, or past it when a path that starts before stop ends after it) and where
// the last path it rewrote started (-1 for none).
func (w *Rewriter) scan(dst, buf []byte, start, stop, keep int) ([]byte, int, int) {
	i, last := start, -1
	for i < stop {
		j := bytes.IndexByte(buf[i:stop], '/')
		if j < 0 {
			j = stop - i
		}
		if j > 0 {
			if lo := max(i, keep); lo < i+j {
				dst = append(dst, buf[lo:i+j]...)
			}
			i += j
			continue
		}
		if r := w.match(buf[i:]); r != nil {
			if i+len(r.Path) > keep {
				dst = append(dst, r.Placeholder...)
			}
			last = i
			i += len(r.Path)
			continue
		}
		if i >= keep {
			dst = append(dst, '/')
		}
		i++
	}
	return dst, i, last
}
