package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Limits on tags.
const (
	maxTags        = 50
	maxTagKeyBytes = 128
	maxTagValBytes = 1024
)

// buildRunRequest checks a parsed form and turns it into the stored run request. Engine
// resolution and engine parameter checks are left to the caller. In the sealed zone
// (sealed true) workflow_url names a catalogue workflow, which also says the workflow
// type, so only workflow_url is required and it is not resolved against attachments
// (there are none); tags are checked more strictly.
func buildRunRequest(f *runForm, sealed bool) (*wes.RunRequest, error) {
	required := []string{"workflow_type", "workflow_type_version", "workflow_url"}
	if sealed {
		required = []string{"workflow_url"}
	}
	var missing []string
	for _, name := range required {
		if strings.TrimSpace(f.fields[name]) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, wes.Errorf(wes.EINVALID, "missing required form field(s): %s", strings.Join(missing, ", "))
	}
	rr := &wes.RunRequest{
		WorkflowType:          f.fields["workflow_type"],
		WorkflowTypeVersion:   f.fields["workflow_type_version"],
		WorkflowEngine:        f.fields["workflow_engine"],
		WorkflowEngineVersion: f.fields["workflow_engine_version"],
		Attachments:           f.attachments,
	}
	if rr.WorkflowEngineVersion != "" && rr.WorkflowEngine == "" {
		return nil, wes.Errorf(wes.EINVALID, "workflow_engine_version needs workflow_engine: name the engine the version belongs to")
	}

	params, err := jsonObjectField(f.fields, "workflow_params")
	if err != nil {
		return nil, err
	}
	if params == nil {
		params = json.RawMessage("{}")
	}
	rr.WorkflowParams = params

	if rr.Tags, err = stringMapField(f.fields, "tags"); err != nil {
		return nil, err
	}
	if err := checkTags(rr.Tags); err != nil {
		return nil, err
	}
	if rr.WorkflowEngineParameters, err = stringMapField(f.fields, "workflow_engine_parameters"); err != nil {
		return nil, err
	}
	if sealed {
		rr.WorkflowURL = strings.TrimSpace(f.fields["workflow_url"])
		return rr, nil
	}
	if rr.WorkflowURL, err = resolveWorkflowURL(f.fields["workflow_url"], f.attachments); err != nil {
		return nil, err
	}
	return rr, nil
}

// jsonObjectField returns the field as compact JSON, checking that it is one JSON
// object; nil when the field is absent or blank.
func jsonObjectField(fields map[string]string, name string) (json.RawMessage, error) {
	raw := strings.TrimSpace(fields[name])
	if raw == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, wes.Errorf(wes.EINVALID, "%s must be a JSON object; got a JSON %s", name, te.Value)
		}
		return nil, wes.Errorf(wes.EINVALID, "%s is not valid JSON: %v", name, err)
	}
	if obj == nil {
		return nil, wes.Errorf(wes.EINVALID, "%s must be a JSON object; got null", name)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, wes.Errorf(wes.EINVALID, "%s has more text after its JSON object", name)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return nil, wes.Errorf(wes.EINVALID, "%s is not valid JSON: %v", name, err)
	}
	return buf.Bytes(), nil
}

// stringMapField parses a field holding a JSON object whose values are all strings.
func stringMapField(fields map[string]string, name string) (map[string]string, error) {
	raw, err := jsonObjectField(fields, name)
	if err != nil || raw == nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, wes.Errorf(wes.EINVALID, `%s must be a JSON object whose values are all strings, e.g. {"key": "value"}`, name)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return wes.Errorf(wes.EINVALID, "tags has %d entries; at most %d are allowed", len(tags), maxTags)
	}
	for k, v := range tags {
		switch {
		case k == "" || len(k) > maxTagKeyBytes:
			return wes.Errorf(wes.EINVALID, "tag key %q must be 1 to %d bytes long", truncate(k, 64), maxTagKeyBytes)
		case len(v) > maxTagValBytes:
			return wes.Errorf(wes.EINVALID, "the value of tag %q is longer than %d bytes", truncate(k, 64), maxTagValBytes)
		case hasControl(k) || hasControl(v):
			return wes.Errorf(wes.EINVALID, "tag %q contains control characters", truncate(k, 64))
		}
	}
	return nil
}

func hasControl(s string) bool {
	return !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0
}

// urlScheme matches the scheme of an absolute URL (RFC 3986 section 3.1).
var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// resolveWorkflowURL returns the attachment workflow_url names. It may be written as the
// attachment's name, with a leading "./", or percent-encoded as a relative URL. Remote
// and absolute URLs are refused: this release runs attached workflows only.
func resolveWorkflowURL(raw string, attachments []string) (string, error) {
	candidates := []string{raw, strings.TrimPrefix(raw, "./")}
	if dec, err := url.PathUnescape(raw); err == nil {
		candidates = append(candidates, dec, strings.TrimPrefix(dec, "./"))
	}
	for _, c := range candidates {
		if slices.Contains(attachments, c) {
			return c, nil
		}
	}
	q := truncate(raw, 100)
	if urlScheme.MatchString(raw) || strings.HasPrefix(raw, "//") {
		return "", wes.Errorf(wes.EINVALID,
			"workflow_url %q: remote workflow URLs are not supported in this release; attach the workflow files as workflow_attachment parts and set workflow_url to the main file's relative path", q)
	}
	if strings.HasPrefix(raw, "/") {
		return "", wes.Errorf(wes.EINVALID,
			"workflow_url %q is an absolute path; attach the workflow files as workflow_attachment parts and set workflow_url to the main file's relative path", q)
	}
	if len(attachments) == 0 {
		return "", wes.Errorf(wes.EINVALID,
			"workflow_url %q does not name an attached file: no files were attached; send the workflow files as workflow_attachment parts", q)
	}
	return "", wes.Errorf(wes.EINVALID, "workflow_url %q does not name an attached file; attached: %s", q, describeList(attachments))
}
