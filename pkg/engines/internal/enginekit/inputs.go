package enginekit

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// InputsFunc checks the input paths in workflow_params (obj: its top-level values) against
// the run's work dir and returns obj as the engine must read it (an engine may rewrite
// relative paths so that they resolve against the work dir).
type InputsFunc func(workDir string, obj map[string]json.RawMessage) (map[string]json.RawMessage, error)

// HasDotDot reports whether s has a ".." segment (segments separated by / or \): such a
// relative path can leave the work dir, and through a link even "a/../b" can.
func HasDotDot(s string) bool {
	for _, seg := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return true
		}
	}
	return false
}

// absURL is an absolute URL: a scheme followed by "//" (file:///…, https://…).
var absURL = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// IsAbsolute reports whether s is an absolute path or an absolute URL: what it names is
// not relative to the attachments, and only the executor's confinement decides whether
// the job may read it.
func IsAbsolute(s string) bool { return strings.HasPrefix(s, "/") || absURL.MatchString(s) }

// DecodeValue decodes one workflow_params value with numbers kept as json.Number, so
// that writing it back changes no number.
func DecodeValue(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, wes.Errorf(wes.EINVALID, "workflow_params must be a JSON object")
	}
	return v, nil
}

// CheckPlainInputs is the input check of engines that hand workflow_params to the
// workflow as they are (Snakemake's config, Nextflow's params) and run in the work dir,
// where a relative path already resolves. Any string may be a path there, so every
// string is checked: none may have a ".." segment, and none that names something in the
// work dir may pass through a link. Absolute paths and URLs are left to the executor's
// confinement.
func CheckPlainInputs(workDir string, obj map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	tree := NewTree(workDir)
	for _, k := range sortedKeys(obj) {
		v, err := DecodeValue(obj[k])
		if err != nil {
			return nil, err
		}
		if err := checkStrings(tree, v, []string{k}); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

func checkStrings(tree *Tree, v any, loc []string) error {
	switch x := v.(type) {
	case string:
		if x == "" || IsAbsolute(x) {
			return nil
		}
		if HasDotDot(x) {
			return wes.Errorf(wes.EINVALID, "%s: %s has a .. segment; a relative path names a file of the run (an attachment, or one the workflow writes) and may not leave the run's directory", engines.FieldPath(loc), engines.QuoteValue(x))
		}
		if _, _, err := tree.Lookup(x); errors.Is(err, ErrLink) {
			return wes.Errorf(wes.EINVALID, "%s: %s passes through a link; inputs must be attached regular files", engines.FieldPath(loc), engines.QuoteValue(x))
		} else if err != nil {
			return err
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if err := checkStrings(tree, x[k], append(loc[:len(loc):len(loc)], k)); err != nil {
				return err
			}
		}
	case []any:
		for i, el := range x {
			if err := checkStrings(tree, el, append(loc[:len(loc):len(loc)], strconv.Itoa(i))); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortedKeys makes the first error reported the same every time.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CheckInputs is the submission-time form of Prepare's checks of workflow_params: the
// params must be an object, each key must pass checkKey and the input paths must pass
// inputs (either may be nil). It writes nothing.
func CheckInputs(workDir string, params json.RawMessage, checkKey func(string) error, inputs InputsFunc) error {
	obj, err := ParamsObject(params)
	if err != nil {
		return err
	}
	if checkKey != nil {
		for _, k := range sortedKeys(obj) {
			if err := checkKey(k); err != nil {
				return err
			}
		}
	}
	if inputs != nil {
		_, err = inputs(workDir, obj)
	}
	return err
}
