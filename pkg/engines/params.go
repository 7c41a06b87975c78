package engines

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// SafeString is the pattern every "string" engine parameter must match: letters, digits
// and a few punctuation marks, at most 128 characters, never starting with "-" (so a value
// can never be read as an option) and never containing a path separator, space or shell
// metacharacter.
var SafeString = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:@+=,-]{0,127}$`)

// maxDuration bounds "duration" parameters; nothing an engine runs should wait longer.
const maxDuration = 30 * 24 * time.Hour

// ParamsFor returns the parameters of e that apply to engine version (those whose
// Versions list is empty or contains version), followed by the executor parameters
// (ExecutorParams) that every engine accepts.
func ParamsFor(e wes.Engine, version string) []wes.EngineParam {
	var out []wes.EngineParam
	own := e.Parameters()
	for _, p := range own {
		if len(p.Versions) == 0 || slices.Contains(p.Versions, version) {
			out = append(out, p)
		}
	}
	return append(out, executorParamsFor(own)...)
}

// ValidateParams checks workflow_engine_parameters against e's typed allow-list for engine
// version, as WESkit does: every name must be a parameter of that version (ParamsFor: the
// engine's own and the executor parameters), and every value must fit its type (int
// within Min..Max when Max > 0; bool "true"/"false"; string matching SafeString; enum one
// of Allowed; duration a positive Go duration such as "90s", at most 30 days). The error is EINVALID and names the parameter and what is allowed.
func ValidateParams(e wes.Engine, version string, params map[string]string) error {
	allowed := ParamsFor(e, version)
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names) // report the same first error every time
	for _, name := range names {
		i := slices.IndexFunc(allowed, func(p wes.EngineParam) bool { return p.Name == name })
		if i < 0 {
			return wes.Errorf(wes.EINVALID, "workflow_engine_parameters: %s is not a parameter of %s; allowed: %s",
				quoteInput(name), strings.TrimSpace(e.Name()+" "+version), paramNames(allowed))
		}
		if err := checkValue(allowed[i], params[name]); err != nil {
			return wes.Errorf(wes.EINVALID, "workflow_engine_parameters: %s %s", name, err.Error())
		}
	}
	return nil
}

// Effective returns e's defaults for version overlaid with params; call it only after
// ValidateParams accepted params. Parameters without a default and not set are absent.
func Effective(e wes.Engine, version string, params map[string]string) map[string]string {
	out := map[string]string{}
	for _, p := range ParamsFor(e, version) {
		if v, ok := params[p.Name]; ok {
			out[p.Name] = v
		} else if p.Default != "" {
			out[p.Name] = p.Default
		}
	}
	return out
}

type valueError string

func (v valueError) Error() string { return string(v) }

// checkValue returns a client-safe description of why v does not fit p.
func checkValue(p wes.EngineParam, v string) error {
	switch p.Type {
	case "int":
		n, err := strconv.ParseInt(v, 10, 64)
		if p.Max > 0 && (err != nil || n < p.Min || n > p.Max) {
			return valueError("must be an integer from " + strconv.FormatInt(p.Min, 10) + " to " + strconv.FormatInt(p.Max, 10))
		}
		if err != nil {
			return valueError("must be an integer")
		}
	case "bool":
		if v != "true" && v != "false" {
			return valueError(`must be "true" or "false"`)
		}
	case "string":
		if !SafeString.MatchString(v) {
			return valueError("must be 1 to 128 letters, digits or _.:@+=,- and must not start with -")
		}
	case "enum":
		if !slices.Contains(p.Allowed, v) {
			return valueError("must be one of: " + strings.Join(p.Allowed, ", "))
		}
	case "duration":
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxDuration {
			return valueError(`must be a positive duration of at most 720h, such as "90s" or "2h"`)
		}
	default:
		// A parameter table with an unknown type is a bug in the engine, not the request.
		return valueError("cannot be set: the engine declares it with an unknown type")
	}
	return nil
}

func paramNames(ps []wes.EngineParam) string {
	if len(ps) == 0 {
		return "none"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}
