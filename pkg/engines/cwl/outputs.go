package cwl

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Outputs returns the CWL outputs object cwltool printed on its standard output (read
// from the run's stdout log, see enginekit.LogPath), with every File and Directory
// location rewritten to a path relative to the work dir, e.g. "outputs/greeting.txt", so
// no absolute path inside the zone ever reaches a client. A location that cannot be tied
// to a file of the work dir is dropped (the entry keeps its basename, size and checksum).
// A run that printed nothing (it failed before cwltool wrote outputs) has no outputs.
func (e *Engine) Outputs(_ context.Context, workDir string) (map[string]any, error) {
	data, err := enginekit.ReadCapped(enginekit.LogPath(workDir, "stdout"))
	if err != nil {
		return nil, wes.Internal(err, "cannot read cwltool's outputs")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]any{}, nil
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, wes.Internal(err, "cwltool's standard output is not an outputs object")
	}
	if out == nil {
		out = map[string]any{}
	}
	r := relocator{workDir: filepath.Clean(workDir)}
	for k, v := range out {
		out[k] = r.rewrite(v)
	}
	return out, nil
}

type relocator struct{ workDir string }

// rewrite walks a CWL value and makes every path in it relative to the work dir.
func (r relocator) rewrite(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if class, _ := v["class"].(string); class == "File" || class == "Directory" {
			r.relocate(v)
		}
		for k, x := range v {
			v[k] = r.rewrite(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = r.rewrite(x)
		}
		return v
	case string:
		// A string output may name a path too; cut the work dir out of it.
		return strings.ReplaceAll(v, r.workDir+string(filepath.Separator), "")
	}
	return v
}

// relocate sets "location" and "path" of a File or Directory object to its relative path,
// or removes them when it has none. "dirname" is dropped: it is always absolute.
func (r relocator) relocate(obj map[string]any) {
	delete(obj, "dirname")
	loc, _ := obj["location"].(string)
	if loc == "" {
		loc, _ = obj["path"].(string)
	}
	rel, ok := r.relative(loc)
	if !ok {
		delete(obj, "location")
		delete(obj, "path")
		return
	}
	obj["location"] = rel
	obj["path"] = rel
}

// relative maps a cwltool location ("file:///…" URL, absolute or relative path) to a
// slash-separated path relative to the work dir.
func (r relocator) relative(loc string) (string, bool) {
	p := loc
	if strings.HasPrefix(loc, "file:") {
		u, err := url.Parse(loc)
		if err != nil {
			return "", false
		}
		p = u.Path
	} else if strings.Contains(loc, "://") || strings.HasPrefix(loc, "_:") {
		return "", false
	}
	if !filepath.IsAbs(p) {
		if filepath.IsLocal(p) {
			return filepath.ToSlash(filepath.Clean(p)), true
		}
		return "", false
	}
	if rel, err := filepath.Rel(r.workDir, p); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel), true
	}
	// cwltool ran where the work dir has another path (a container or another host
	// mounting it elsewhere): find the outputs directory in the path and check that the
	// same file exists under our work dir.
	parts := strings.Split(filepath.ToSlash(p), "/")
	for i, part := range parts {
		if part != OutputDir {
			continue
		}
		rel := strings.Join(parts[i:], "/")
		if _, err := os.Lstat(filepath.Join(r.workDir, filepath.FromSlash(rel))); err == nil {
			return rel, true
		}
	}
	return "", false
}
