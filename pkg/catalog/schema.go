package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/spe4hd/enclave/pkg/engines"
)

// DatasetKeyword marks a params_schema property as a dataset reference.
const DatasetKeyword = "x-enclave-dataset"

const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// defaultSchema is the params_schema of an entry that takes no parameters.
var defaultSchema = map[string]any{"type": "object", "additionalProperties": false}

// noLoader refuses every external $ref: a schema must not make the server read files or
// fetch URLs. The draft meta-schemas are built into the library and need no loader.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref to %q: a params_schema may only refer to itself", url)
}

// compileSchema turns an entry's params_schema (as decoded from YAML) into JSON, checks
// Enclave's rules for it and compiles it. It returns the problems found, each prefixed
// with where in the schema it is when that helps.
func compileSchema(id string, m map[string]any) (json.RawMessage, any, *jsonschema.Schema, map[string]bool, []string) {
	if m == nil {
		m = defaultSchema
	}
	raw, err := marshalJSON(m)
	if err != nil {
		return nil, nil, nil, nil, []string{"cannot be written as JSON (keys must be strings): " + err.Error()}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, nil, nil, []string{"not valid JSON: " + err.Error()}
	}
	root := doc.(map[string]any) // raw came from a map
	var problems []string
	if s, ok := root["$schema"]; ok && s != draft2020 {
		problems = append(problems, fmt.Sprintf("$schema must be %s (or absent)", draft2020))
	}
	if root["type"] != "object" {
		problems = append(problems, `type: must be "object" (workflow_params is a JSON object)`)
	}
	if root["additionalProperties"] != false && root["unevaluatedProperties"] != false {
		problems = append(problems, "additionalProperties: must be false, so that no parameter reaches the workflow unchecked")
	}
	ds := map[string]bool{}
	walkKeyword(doc, nil, func(ptr []string, node map[string]any) {
		if msg := datasetMark(root, ptr, node, ds); msg != "" {
			problems = append(problems, fmt.Sprintf("%s at /%s: %s", DatasetKeyword, strings.Join(ptr, "/"), msg))
		}
	})

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // "format": "date" means a date, not a hint
	c.UseLoader(noLoader{})
	url := "urn:enclave:catalog:" + id
	if err := c.AddResource(url, doc); err != nil {
		return nil, nil, nil, nil, append(problems, err.Error())
	}
	sch, err := c.Compile(url)
	if err != nil {
		problems = append(problems, "does not compile: "+strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if len(problems) > 0 {
		return nil, nil, nil, nil, problems
	}
	return raw, doc, sch, ds, nil
}

// walkKeyword calls f for every object in v that has DatasetKeyword, with its JSON pointer.
func walkKeyword(v any, ptr []string, f func([]string, map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x[DatasetKeyword]; ok {
			f(ptr, x)
		}
		for _, k := range sortedKeys(x) {
			walkKeyword(x[k], append(ptr[:len(ptr):len(ptr)], k), f)
		}
	case []any:
		for i, e := range x {
			walkKeyword(e, append(ptr[:len(ptr):len(ptr)], strconv.Itoa(i)), f)
		}
	}
}

// datasetMark checks one use of DatasetKeyword and records the property it marks in ds.
// It returns a problem, or "".
func datasetMark(root map[string]any, ptr []string, node map[string]any, ds map[string]bool) string {
	if node[DatasetKeyword] != true {
		return "must be true"
	}
	switch {
	case len(ptr) == 2 && ptr[0] == "properties":
		if node["type"] != "string" {
			return `a dataset parameter must have "type": "string" (a dataset id)`
		}
		ds[ptr[1]] = false
	case len(ptr) == 3 && ptr[0] == "properties" && ptr[2] == "items":
		props, _ := root["properties"].(map[string]any)
		parent, _ := props[ptr[1]].(map[string]any)
		if parent["type"] != "array" || node["type"] != "string" {
			return `a dataset list must have "type": "array" and items of "type": "string"`
		}
		ds[ptr[1]] = true
	default:
		return "allowed only on a top-level property (properties/NAME) or its items (properties/NAME/items)"
	}
	return ""
}

// subschema returns the plain schema object at an instance location, following only
// "properties" and "items"; nil when it cannot tell.
func subschema(doc any, loc []string) map[string]any {
	node, _ := doc.(map[string]any)
	for _, tok := range loc {
		if node == nil {
			return nil
		}
		if isIndex(tok) {
			if items, ok := node["items"].(map[string]any); ok {
				node = items
				continue
			}
		}
		props, _ := node["properties"].(map[string]any)
		node, _ = props[tok].(map[string]any)
	}
	return node
}

var printer = message.NewPrinter(language.English)

// maxSchemaProblems bounds the messages one invalid request gets back.
const maxSchemaProblems = 10

// validationProblems turns a validation error into client-safe messages that name the
// field, e.g. `workflow_params.sample: must match the pattern "^S[0-9]+$"`. They never
// echo the client's value, which may be long or sensitive.
func validationProblems(err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []string{"workflow_params: does not match the workflow's parameter schema"}
	}
	var out []string
	var walk func(v *jsonschema.ValidationError)
	walk = func(v *jsonschema.ValidationError) {
		if len(v.Causes) > 0 {
			for _, c := range v.Causes {
				walk(c)
			}
			return
		}
		out = append(out, describe(v.InstanceLocation, v.ErrorKind)...)
	}
	walk(ve)
	if len(out) > maxSchemaProblems {
		out = append(out[:maxSchemaProblems], fmt.Sprintf("and %d more", len(out)-maxSchemaProblems))
	}
	return out
}

func isIndex(tok string) bool {
	_, err := strconv.Atoi(tok)
	return err == nil && !strings.HasPrefix(tok, "-") && !strings.HasPrefix(tok, "+")
}

func describe(loc []string, k jsonschema.ErrorKind) []string {
	field := engines.FieldPath(loc)
	switch k := k.(type) {
	case *kind.Required:
		var out []string
		for _, m := range k.Missing {
			out = append(out, engines.FieldPath(append(loc[:len(loc):len(loc)], m))+": is required")
		}
		return out
	case *kind.AdditionalProperties:
		var out []string
		for _, p := range k.Properties {
			out = append(out, engines.FieldPath(append(loc[:len(loc):len(loc)], p))+": is not a parameter of this workflow")
		}
		return out
	case *kind.Type:
		return []string{fmt.Sprintf("%s: must be %s, not %s", field, strings.Join(k.Want, " or "), k.Got)}
	case *kind.Pattern:
		return []string{fmt.Sprintf("%s: must be a string matching %s", field, clip(k.Want))}
	case *kind.Enum:
		return []string{fmt.Sprintf("%s: must be one of %s", field, clip(jsonList(k.Want)))}
	case *kind.Const:
		return []string{fmt.Sprintf("%s: must be %s", field, clip(jsonList([]any{k.Want})))}
	case *kind.Format:
		return []string{fmt.Sprintf("%s: must be a valid %s", field, k.Want)}
	case *kind.MinLength:
		return []string{fmt.Sprintf("%s: must be at least %d characters long", field, k.Want)}
	case *kind.MaxLength:
		return []string{fmt.Sprintf("%s: must be at most %d characters long", field, k.Want)}
	case *kind.Minimum:
		return []string{fmt.Sprintf("%s: must be at least %s", field, ratString(k.Want))}
	case *kind.Maximum:
		return []string{fmt.Sprintf("%s: must be at most %s", field, ratString(k.Want))}
	case *kind.ExclusiveMinimum:
		return []string{fmt.Sprintf("%s: must be more than %s", field, ratString(k.Want))}
	case *kind.ExclusiveMaximum:
		return []string{fmt.Sprintf("%s: must be less than %s", field, ratString(k.Want))}
	case *kind.MinItems:
		return []string{fmt.Sprintf("%s: must have at least %d items", field, k.Want)}
	case *kind.MaxItems:
		return []string{fmt.Sprintf("%s: must have at most %d items", field, k.Want)}
	case *kind.FalseSchema:
		return []string{field + ": is not allowed"}
	}
	return []string{field + ": " + clip(k.LocalizedString(printer))}
}

func jsonList(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		b, _ := json.Marshal(v)
		parts[i] = string(b)
	}
	return strings.Join(parts, ", ")
}

func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(6)
}

// clip cuts a text for an error message, so a huge value cannot bloat the response.
func clip(s string) string {
	const max = 120
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// marshalJSON is json.Marshal without HTML escaping, so a schema's "<" stays readable.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
