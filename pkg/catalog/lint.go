package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Warnings lists what `enclave catalog check` points out without refusing the catalogue:
// for now, parameters that let free text reach a workflow. A string parameter with
// neither an enum, a const, a pattern nor a format passes any text to the engine; a
// workflow that puts it into a shell command (a bug validated workflows will have) runs
// whatever that text says, inside the zone. Confinement limits what such a command can
// reach, but the entry is where the hole is, so the data controller is told.
func (c *Catalog) Warnings() []string {
	var out []string
	for _, id := range sortedKeys(c.workflows) {
		e := c.workflows[id]
		var doc any
		if json.Unmarshal(e.ParamsSchema, &doc) != nil {
			continue // a loaded entry's schema is valid JSON; nothing to say otherwise
		}
		for _, ptr := range freeTextParams(doc, nil) {
			out = append(out, fmt.Sprintf("workflow %s: params_schema at /%s accepts free text (a string with no enum, const, pattern or format): "+
				"give it a pattern (e.g. \"^[A-Za-z0-9_-]{1,64}$\"), an enum or a format, unless the workflow never lets it reach a command line",
				id, strings.Join(ptr, "/")))
		}
	}
	return out
}

// constrained are the keywords that keep a string from being arbitrary text.
var constrained = []string{"enum", "const", "pattern", "format", DatasetKeyword}

// freeTextParams returns the JSON pointers of the schemas in doc that accept an
// unconstrained string. It follows the places a parameter's value can be described:
// properties, items, additional properties, definitions and the combinators.
func freeTextParams(doc any, ptr []string) [][]string {
	node, ok := doc.(map[string]any)
	if !ok {
		return nil // true/false schemas: "false" accepts nothing, "true" is reported by its parent
	}
	var out [][]string
	sub := func(v any, more ...string) {
		out = append(out, freeTextParams(v, append(ptr[:len(ptr):len(ptr)], more...))...)
	}
	for _, kw := range []string{"properties", "patternProperties", "$defs", "definitions"} {
		if m, ok := node[kw].(map[string]any); ok {
			for _, k := range sortedKeys(m) {
				if m[k] == true && kw != "$defs" && kw != "definitions" {
					out = append(out, append(ptr[:len(ptr):len(ptr)], kw, k)) // accepts anything
					continue
				}
				sub(m[k], kw, k)
			}
		}
	}
	for _, kw := range []string{"items", "additionalProperties"} {
		if v, ok := node[kw]; ok {
			if v == true && kw == "items" {
				out = append(out, append(ptr[:len(ptr):len(ptr)], kw))
				continue
			}
			sub(v, kw)
		}
	}
	for _, kw := range []string{"prefixItems", "anyOf", "oneOf", "allOf"} {
		if l, ok := node[kw].([]any); ok {
			for i, v := range l {
				sub(v, kw, fmt.Sprint(i))
			}
		}
	}
	if len(ptr) > 0 && acceptsFreeString(node) {
		out = append(out, ptr)
	}
	return out
}

// acceptsFreeString reports whether a schema that describes a value directly (not
// through a reference or combinator) lets any string through.
func acceptsFreeString(node map[string]any) bool {
	for _, kw := range []string{"$ref", "anyOf", "oneOf", "allOf", "properties", "items", "prefixItems"} {
		if _, ok := node[kw]; ok {
			return false // described elsewhere, and checked there
		}
	}
	for _, kw := range constrained {
		if _, ok := node[kw]; ok {
			return false
		}
	}
	switch t := node["type"].(type) {
	case nil:
		return true // any JSON value, strings included
	case string:
		return t == "string"
	case []any:
		return slices.Contains(t, any("string"))
	}
	return false
}
