package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"github.com/spe4hd/enclave/pkg/config/confkit"
)

// FieldError is one problem with one configuration key (confkit.FieldError).
type FieldError = confkit.FieldError

// Load returns Default() overridden by the YAML file at path (none when path is "") and
// then by the ENCLAVE_* variables in env (as os.Environ gives them). With a file,
// auth.mode defaults to oidc and zone.mode to sealed: only the embedded default without any file runs with
// authentication off unless told so explicitly. It does not validate:
// the caller applies its flags and then calls Validate. Unknown keys in the file are
// errors, so a typo never silently falls back to a default. The error joins every
// problem found; each is a *FieldError naming its key.
func Load(path string, env []string) (Config, error) {
	c := Default()
	var errs []error
	if path != "" {
		k := koanf.New(".")
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
		c.Auth.Mode = "oidc"
		c.Zone.Mode = "sealed"
		errs = append(errs, c.applyFile(k, path)...)
		c.authModeGiven = k.Exists("auth.mode")
		if abs, err := filepath.Abs(path); err == nil {
			c.file = abs
		}
	}
	errs = append(errs, c.applyEnv(env)...)
	for _, kv := range env {
		if strings.HasPrefix(kv, EnvName("auth.mode")+"=") {
			c.authModeGiven = true
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// applyFile sets every key present in k and reports unknown keys and wrong types.
func (c *Config) applyFile(k *koanf.Koanf, source string) []error {
	byPath := map[string]field{}
	for _, f := range c.fields() {
		byPath[f.path] = f
	}
	var errs []error
	seen := map[string]bool{} // leaves already reported, so a bad mapping is reported once
	for _, key := range k.Keys() {
		if f, ok := byPath[key]; ok {
			if f.section() {
				if v := k.Get(key); v != nil {
					if _, isMap := v.(map[string]any); !isMap {
						errs = append(errs, &FieldError{Path: key, Source: source, Msg: "want a mapping of keys, got " + describe(v)})
					}
				}
				continue
			}
			if err := setValue(f.ptr, k.Get(key), false); err != nil {
				errs = append(errs, &FieldError{Path: key, Source: source, Msg: err.Error()})
			}
			continue
		}
		if leaf := leafPrefix(byPath, key); leaf != "" {
			if !seen[leaf] {
				seen[leaf] = true
				errs = append(errs, &FieldError{Path: leaf, Source: source, Msg: "want " + kindName(byPath[leaf].ptr) + ", got a mapping"})
			}
			continue
		}
		errs = append(errs, &FieldError{Path: key, Source: source, Msg: unknownKeyMsg(key)})
	}
	return errs
}

// leafPrefix returns the value key that key lies under, e.g. "server.addr" for
// "server.addr.host", or "".
func leafPrefix(byPath map[string]field, key string) string {
	for i := strings.LastIndex(key, "."); i > 0; i = strings.LastIndex(key[:i], ".") {
		if f, ok := byPath[key[:i]]; ok && !f.section() {
			return key[:i]
		}
	}
	return ""
}

// unknownKeyMsg explains an unknown key and suggests the nearest known one.
func unknownKeyMsg(key string) string {
	best, bestDist := "", 3 // suggest only keys within two edits
	for _, k := range Keys() {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key; did you mean %s?", best)
	}
	return "unknown key; `enclave config print-default` lists every key"
}

// applyEnv sets the keys named by ENCLAVE_* variables in env. Variables that name no key
// are ignored: other parts of the binary (ENCLAVE_URL, ENCLAVE_TOKEN) use the prefix too.
func (c *Config) applyEnv(env []string) []error {
	byEnv := map[string]field{}
	for _, f := range c.fields() {
		if !f.section() {
			byEnv[EnvName(f.path)] = f
		}
	}
	var errs []error
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		f, known := byEnv[name]
		if !ok || !known {
			continue
		}
		if err := setValue(f.ptr, val, true); err != nil {
			errs = append(errs, &FieldError{Path: f.path, Source: name, Msg: err.Error()})
		}
	}
	return errs
}

// Set sets one key from its string form, as a command-line flag or the environment gives
// it: durations like "10s", sizes like "100MiB", lists comma-separated. It returns a
// *FieldError for an unknown key or a bad value.
func (c *Config) Set(path, value string) error {
	for _, f := range c.fields() {
		if f.path != path || f.section() {
			continue
		}
		if err := setValue(f.ptr, value, true); err != nil {
			return &FieldError{Path: path, Msg: err.Error()}
		}
		return nil
	}
	return &FieldError{Path: path, Msg: unknownKeyMsg(path)}
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
