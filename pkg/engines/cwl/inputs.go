package cwl

import (
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// cwltool resolves every "path" and "location" in the input object as a URI reference
// against the file it read the object from, not against --basedir. That file is
// enginekit.ParamsFile, inside Enclave's state directory, so a relative reference is
// rewritten to start with fromParamsDir ("../") and so resolves against the work dir,
// where the attachments are, wherever the work dir is mounted.
var fromParamsDir = strings.Repeat("../", strings.Count(filepath.ToSlash(filepath.Dir(enginekit.ParamsFile)), "/")+1)

// uriScheme is any scheme, "_:" too (cwltool's name for a file literal). cwltool does not
// resolve such a value against the input object's file: one without "//" (file:x) it
// reads from its working directory, the work dir, so it is checked but not rewritten.
var uriScheme = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9+.-]*|_):`)

// CheckInputs implements engines.InputChecker: the input object must be one Prepare
// accepts (see resolveInputs), checked against the attachments already in workDir.
func (e *Engine) CheckInputs(workDir string, params json.RawMessage) error {
	return enginekit.CheckInputs(workDir, params, checkInputKey, resolveInputs)
}

// resolveInputs is the CWL engine's enginekit.InputsFunc. Every relative "path" or
// "location" must stay inside the work dir: no ".." segment, also once its %-escapes are
// decoded (cwltool decodes them); a File or Directory it names must be an attached file
// or directory, reached through no link. Relative references are rewritten to resolve
// against the work dir (fromParamsDir). Keys starting with "$" ($include, $import,
// $mixin) are refused at any depth: cwltool would read the files they name into the
// input object. Absolute paths (the catalogue's dataset paths among them) and absolute
// URLs are left as they are.
func resolveInputs(workDir string, obj map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(obj))
	tree := enginekit.NewTree(workDir)
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v, err := enginekit.DecodeValue(obj[k])
		if err != nil {
			return nil, err
		}
		changed, err := resolveRefs(tree, v, []string{k})
		if err != nil {
			return nil, err
		}
		if !changed {
			out[k] = obj[k]
			continue
		}
		if out[k], err = json.Marshal(v); err != nil {
			return nil, wes.Internal(err, "cannot encode workflow_params")
		}
	}
	return out, nil
}

// resolveRefs checks and rewrites, in place, the references in v (at loc); changed says
// whether any was rewritten.
func resolveRefs(tree *enginekit.Tree, v any, loc []string) (changed bool, err error) {
	at := func(k string) []string { return append(loc[:len(loc):len(loc)], k) }
	switch x := v.(type) {
	case map[string]any:
		if class, _ := x["class"].(string); class == "File" || class == "Directory" {
			// cwltool reads the location, or the path when there is no location.
			field := "location"
			if _, ok := x[field]; !ok {
				field = "path"
			}
			if s, ok := x[field].(string); ok {
				if err := checkStaged(tree, class, s, at(field)); err != nil {
					return false, err
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if strings.HasPrefix(k, "$") {
				return false, wes.Errorf(wes.EINVALID, "%s: CWL directives such as $include and $import are not accepted in workflow_params", engines.FieldPath(at(k)))
			}
			if s, ok := x[k].(string); ok && (k == "path" || k == "location") {
				ref, err := resolveRef(s, at(k))
				if err != nil {
					return false, err
				}
				if ref != s {
					x[k], changed = ref, true
				}
				continue
			}
			c, err := resolveRefs(tree, x[k], at(k))
			if err != nil {
				return false, err
			}
			changed = changed || c
		}
	case []any:
		for i, el := range x {
			c, err := resolveRefs(tree, el, at(strconv.Itoa(i)))
			if err != nil {
				return false, err
			}
			changed = changed || c
		}
	}
	return changed, nil
}

// resolveRef returns the reference cwltool must read for s, a "path" or "location".
func resolveRef(s string, loc []string) (string, error) {
	if enginekit.IsAbsolute(s) {
		return s, nil
	}
	if s == "" {
		return "", wes.Errorf(wes.EINVALID, "%s is empty; name an attached file by its path relative to the attachments, or give an absolute URL", engines.FieldPath(loc))
	}
	dec, err := url.PathUnescape(s)
	if err != nil {
		return "", wes.Errorf(wes.EINVALID, "%s: %s is not a valid URI reference (a %% must start an escape such as %%20)", engines.FieldPath(loc), engines.QuoteValue(s))
	}
	if enginekit.HasDotDot(s) || enginekit.HasDotDot(dec) {
		return "", wes.Errorf(wes.EINVALID, "%s: %s has a .. segment; a relative path names an attached file and may not leave the run's directory", engines.FieldPath(loc), engines.QuoteValue(s))
	}
	if uriScheme.MatchString(s) {
		return s, nil
	}
	return fromParamsDir + s, nil
}

// checkStaged checks that s, the reference of a File or Directory (class), names an
// attached file or directory when it is relative.
func checkStaged(tree *enginekit.Tree, class, s string, loc []string) error {
	if s == "" || enginekit.IsAbsolute(s) || uriScheme.MatchString(s) {
		return nil // resolveRef refuses "", and the rest is not resolved against the work dir
	}
	// The file cwltool opens: the reference without fragment or query, %-decoded.
	p, _, _ := strings.Cut(s, "#")
	p, _, _ = strings.Cut(p, "?")
	p, err := url.PathUnescape(p)
	if err != nil || enginekit.HasDotDot(p) {
		return nil // resolveRef refuses it
	}
	mode, ok, err := tree.Lookup(p)
	switch {
	case errors.Is(err, enginekit.ErrLink):
		return wes.Errorf(wes.EINVALID, "%s: %s passes through a link; inputs must be attached regular files and directories", engines.FieldPath(loc), engines.QuoteValue(s))
	case err != nil:
		return err
	case !ok:
		return wes.Errorf(wes.EINVALID, "%s: %s names no file of the run; attach it as a workflow_attachment with that name (paths are relative to the attachments)", engines.FieldPath(loc), engines.QuoteValue(s))
	case class == "File" && !mode.IsRegular():
		return wes.Errorf(wes.EINVALID, "%s: %s is not a regular file", engines.FieldPath(loc), engines.QuoteValue(s))
	case class == "Directory" && !mode.IsDir():
		return wes.Errorf(wes.EINVALID, "%s: %s is not a directory", engines.FieldPath(loc), engines.QuoteValue(s))
	}
	return nil
}
