package portal

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/runs"
)

// A run form is generated from the workflow's params_schema: one field per property, its
// control chosen by type, its constraints as HTML attributes (the browser's hints; the
// run service is what checks), dataset parameters as a choice among the datasets the
// user may use. Posted values go back to the service as JSON of the schema's types.

// Field kinds.
const (
	kindText     = "text"
	kindInteger  = "integer"
	kindNumber   = "number"
	kindCheckbox = "checkbox"
	kindSelect   = "select"
	kindDatasets = "datasets" // an array of dataset ids: a multiple select
	kindJSON     = "json"     // anything else, typed as JSON in a textarea
)

// formField is one parameter's control.
type formField struct {
	Name     string // the parameter
	ID       string // the control's id; its error is ID-error, its help ID-help
	Label    string
	Help     string
	Kind     string
	Required bool
	Min, Max string
	Step     string
	Pattern  string
	Options  []option
	Value    string // as entered or defaulted
	Checked  bool
	Error    string

	enum []any // the schema's enum values, by option index
}

type option struct {
	Value, Label string
	Selected     bool
}

// InputName is the form field that carries the parameter.
func (f *formField) InputName() string { return "param." + f.Name }

// DescribedBy is the control's aria-describedby: its help and its error.
func (f *formField) DescribedBy() string {
	var ids []string
	if f.Help != "" {
		ids = append(ids, f.ID+"-help")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

var plainID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// buildForm makes the fields of w's schema, in the schema's required-first, then
// alphabetical order, with their defaults.
func buildForm(w runs.CatalogWorkflow, datasets []runs.CatalogDataset) []*formField {
	props, _ := w.ParamsSchema["properties"].(map[string]any)
	var required []string
	if rs, ok := w.ParamsSchema["required"].([]any); ok {
		for _, r := range rs {
			if s, ok := r.(string); ok {
				required = append(required, s)
			}
		}
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.SliceStable(names, func(i, j int) bool {
		ri, rj := slices.Contains(required, names[i]), slices.Contains(required, names[j])
		if ri != rj {
			return ri
		}
		return names[i] < names[j]
	})
	var out []*formField
	for i, n := range names {
		s, _ := props[n].(map[string]any)
		f := &formField{Name: n, ID: n, Label: n, Required: slices.Contains(required, n)}
		if !plainID.MatchString(n) || n == "csrf" || n == "main" {
			f.ID = "param-" + strconv.Itoa(i)
		}
		if t, ok := s["title"].(string); ok && t != "" {
			f.Label = t
		}
		f.Help, _ = s["description"].(string)
		fillControl(f, s, slices.Contains(w.DatasetParams, n), datasets)
		out = append(out, f)
	}
	return out
}

// fillControl picks f's control from its schema s and sets its default.
func fillControl(f *formField, s map[string]any, dataset bool, datasets []runs.CatalogDataset) {
	def, hasDef := s["default"]
	typ, _ := s["type"].(string)
	switch {
	case dataset && typ == "array":
		f.Kind = kindDatasets
		for _, d := range datasets {
			f.Options = append(f.Options, option{Value: d.ID, Label: datasetLabel(d)})
		}
		return
	case dataset:
		f.Kind = kindSelect
		if !f.Required || len(datasets) != 1 {
			f.Options = append(f.Options, option{Value: "", Label: "Choose a dataset"})
		}
		for _, d := range datasets {
			f.Options = append(f.Options, option{Value: d.ID, Label: datasetLabel(d), Selected: hasDef && def == d.ID})
		}
		return
	case s["enum"] != nil:
		f.Kind = kindSelect
		f.enum, _ = s["enum"].([]any)
		if !f.Required && !hasDef {
			f.Options = append(f.Options, option{Value: "", Label: "(none)"})
		}
		for _, v := range f.enum {
			txt := enumText(v)
			f.Options = append(f.Options, option{Value: txt, Label: txt, Selected: hasDef && enumText(def) == txt})
		}
		return
	}
	switch typ {
	case "string":
		f.Kind = kindText
		f.Pattern, _ = s["pattern"].(string)
	case "integer":
		f.Kind, f.Step = kindInteger, "1"
	case "number":
		f.Kind, f.Step = kindNumber, "any"
	case "boolean":
		f.Kind = kindCheckbox
		f.Checked = def == true
		return
	default:
		f.Kind = kindJSON
		if hasDef {
			b, _ := json.Marshal(def)
			f.Value = string(b)
		}
		return
	}
	if typ == "integer" || typ == "number" {
		f.Min, f.Max = numText(s["minimum"]), numText(s["maximum"])
	}
	if hasDef {
		f.Value = enumText(def)
	}
}

func datasetLabel(d runs.CatalogDataset) string {
	if d.Name == "" || d.Name == d.ID {
		return d.ID
	}
	return d.Name + " (" + d.ID + ")"
}

func enumText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func numText(v any) string {
	if v == nil {
		return ""
	}
	return enumText(v)
}

// readForm fills fields with the posted values and returns the params to submit; a
// value that cannot be read as its type goes to the service as the text it is, so the
// service's message about it appears at the field.
func readForm(fields []*formField, form url.Values) (map[string]any, []string) {
	params := map[string]any{}
	var problems []string
	for _, f := range fields {
		vals := form[f.InputName()]
		v := strings.TrimSpace(form.Get(f.InputName()))
		f.Value = v
		switch f.Kind {
		case kindCheckbox:
			f.Checked = v != ""
			params[f.Name] = f.Checked
		case kindDatasets:
			var ids []any
			for i := range f.Options {
				f.Options[i].Selected = slices.Contains(vals, f.Options[i].Value)
			}
			for _, id := range vals {
				ids = append(ids, id)
			}
			if len(ids) > 0 {
				params[f.Name] = ids
			}
		case kindSelect:
			for i := range f.Options {
				f.Options[i].Selected = f.Options[i].Value == v
			}
			if v == "" {
				continue
			}
			params[f.Name] = v
			for _, e := range f.enum {
				if enumText(e) == v {
					params[f.Name] = e
				}
			}
		case kindInteger, kindNumber:
			if v == "" {
				continue
			}
			params[f.Name] = v
			if n, ok := jsonNumber(v); ok {
				params[f.Name] = n
			}
		case kindJSON:
			if v == "" {
				continue
			}
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				f.Error = "must be JSON, for example [1, 2] or {\"key\": \"value\"}"
				problems = append(problems, f.Label+": "+f.Error)
				continue
			}
			params[f.Name] = x
		default:
			if v != "" {
				params[f.Name] = v
			}
		}
	}
	return params, problems
}

// placeErrors puts each problem of the service's EINVALID message at its field. The
// catalogue names a parameter's problems "workflow_params.<name>: ..." (also
// "workflow_params.<name>[0]: ..." inside it) and joins them with "; "; a problem that
// names no field of the form is returned for the form's summary.
func placeErrors(fields []*formField, msg string) []string {
	var rest []string
	for _, part := range strings.Split(msg, "; ") {
		if f := fieldOf(fields, part); f != nil {
			_, why, _ := strings.Cut(part, ": ")
			if f.Error != "" {
				f.Error += "; "
			}
			f.Error += why
			continue
		}
		rest = append(rest, part)
	}
	return rest
}

func fieldOf(fields []*formField, problem string) *formField {
	for _, f := range fields {
		loc := engines.FieldPath([]string{f.Name})
		if rest, ok := strings.CutPrefix(problem, loc); ok && (strings.HasPrefix(rest, ": ") || strings.HasPrefix(rest, "[")) {
			return f
		}
	}
	return nil
}

// paramsJSON encodes the params for the run request (numbers as typed).
func paramsJSON(params map[string]any) (json.RawMessage, error) {
	b, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	return b, nil
}

// jsonNumber reads v as a JSON number, exactly as typed (no rounding through float64).
func jsonNumber(v string) (json.Number, bool) {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil || dec.More() {
		return "", false
	}
	n, ok := x.(json.Number)
	return n, ok
}
