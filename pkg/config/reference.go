package config

import (
	"bytes"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// referenceHeader starts Reference.
const referenceHeader = `# Enclave configuration (enclave server|worker --config FILE, or $ENCLAVE_CONFIG).
# Every key is optional; this file shows each one with its default. Unknown keys are errors.
# Each key can also be set by the environment variable at the end of its line: ENCLAVE_ and
# the key path in upper case with "." as "_". Lists are comma-separated there. The
# environment overrides the file, and command-line flags override both.
# Durations take a unit (20ms, 10s, 2m, 1h); sizes are bytes or take a unit (KiB, MiB, GiB,
# or KB, MB, GB for powers of 1000).
`

// Reference renders the default configuration as commented YAML: every key with its
// default, what it does and its environment variable. It is what
// `enclave config print-default` prints and what the README shows.
func Reference() string {
	return referenceHeader + "\n" + Default().YAML()
}

// YAML renders c as commented YAML that Load reads back to c. Secrets are printed as
// they are: render c.Redacted() to show a configuration to a person.
func (c Config) YAML() string {
	root := &yaml.Node{Kind: yaml.MappingNode}
	sections := map[string]*yaml.Node{"": root}
	for _, f := range c.fields() {
		parentPath, name := "", f.path
		if i := strings.LastIndex(f.path, "."); i >= 0 {
			parentPath, name = f.path[:i], f.path[i+1:]
		}
		parent := sections[parentPath] // sections come before their keys in the table
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: name, HeadComment: f.help}
		var val *yaml.Node
		if f.section() {
			val = &yaml.Node{Kind: yaml.MappingNode}
			sections[f.path] = val
		} else {
			val = valueNode(f.ptr)
			val.LineComment = EnvName(f.path)
		}
		if parentPath == "" && len(parent.Content) > 0 {
			key.HeadComment = "\n" + key.HeadComment // a blank line between top-level keys
		}
		parent.Content = append(parent.Content, key, val)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		// Only scalars and string lists are encoded; failing here is a bug in this file.
		panic("config: rendering YAML: " + err.Error())
	}
	_ = enc.Close()
	return buf.String()
}

// valueNode encodes the field ptr points at as a YAML value in the form Load reads.
func valueNode(ptr any) *yaml.Node {
	var v any
	switch p := ptr.(type) {
	case *Webhooks:
		return p.node()
	case *time.Duration:
		v = formatDuration(*p)
	case *ByteSize:
		v = p.String()
	case *[]string:
		v = *p
		if *p == nil {
			v = []string{}
		}
	case *string:
		v = *p
	case *int:
		v = *p
	case *bool:
		v = *p
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		panic("config: encoding a value: " + err.Error())
	}
	if n.Kind == yaml.SequenceNode {
		n.Style = yaml.FlowStyle
		for _, item := range n.Content {
			item.Style = yaml.DoubleQuotedStyle // "8.0", never the number 8
		}
	}
	return n
}
