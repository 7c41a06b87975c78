package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gin-gonic/gin"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// validator checks requests against the embedded OpenAPI document. gin has already
// matched the route, so the operation is looked up by method and gin route pattern
// instead of routing a second time.
//
// Operations with nothing the validator could refuse skip it (see openOperation): their
// only parameters are path parameters whose schema is a plain string, which every
// non-empty path segment is. That is most of the API, GET /runs/{run_id}/status among
// it, and for such a request the validator (a parameter map, an input, the decoding and
// the schema walk) cost ten allocations and a twentieth of its CPU outside system calls,
// for nothing. Whatever else they take is checked where it is used: a run id by the run
// service, the bodies by the body guards and the strict handlers. Operations with query
// parameters or constrained path parameters are validated on every request, and an
// empty path parameter sends any request through the validator, so every refusal stays
// as it was (TestValidatorStillRefuses).
type validator struct {
	routes map[routeKey]*route
	opts   openapi3filter.Options
}

// routeKey is a method and a gin route pattern: a map key that costs no allocation,
// where "GET /ga4gh/wes/v1/runs/:run_id/status" built per request would.
type routeKey struct{ method, path string }

type route struct {
	*routers.Route
	open bool // openOperation: nothing to check while the path parameters are non-empty
}

func newValidator() (*validator, error) {
	doc, err := api.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("httpapi: load embedded OpenAPI document: %w", err)
	}
	v := &validator{
		routes: map[routeKey]*route{},
		opts: openapi3filter.Options{
			// The only body is POST /runs, a streamed multipart form the handler checks
			// field by field; the validator would buffer it whole.
			ExcludeRequestBody: true,
			// Authentication is done before validation, by Deps.Authenticate.
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		},
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			r := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
			v.routes[routeKey{method, BasePath + ginPattern(path)}] = &route{Route: r, open: openOperation(r)}
		}
	}
	return v, nil
}

// openOperation reports whether the validator, as configured (bodies excluded,
// authentication a no-op), has nothing to refuse in a request for op once gin has
// routed it with non-empty path parameters: every parameter is in the path, in the
// simple style, with a schema that says nothing but "type: string". kin-openapi takes
// such a value as it is and checks it against a schema that any string satisfies.
func openOperation(r *routers.Route) bool {
	params := append(openapi3.Parameters{}, r.PathItem.Parameters...)
	params = append(params, r.Operation.Parameters...)
	for _, ref := range params {
		p := ref.Value
		if p == nil || p.In != openapi3.ParameterInPath || p.Content != nil || (p.Style != "" && p.Style != openapi3.SerializationSimple) ||
			p.Schema == nil || !plainString(p.Schema.Value) {
			return false
		}
	}
	return true
}

// plainString reports whether schema constrains a string in no way: its JSON form,
// without the keywords that only describe, is {"type":"string"}. A keyword this does
// not know about (a pattern, a format, an enum, a length, a combinator) keeps the
// parameter validated.
func plainString(schema *openapi3.Schema) bool {
	if schema == nil {
		return false
	}
	b, err := json.Marshal(schema)
	if err != nil {
		return false
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return false
	}
	for k := range m {
		if k == "description" || k == "title" || k == "example" || k == "externalDocs" || strings.HasPrefix(k, "x-") {
			delete(m, k)
		}
	}
	return len(m) == 1 && m["type"] == "string"
}

// ginPattern turns an OpenAPI path template (/runs/{run_id}) into gin's (/runs/:run_id).
func ginPattern(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			parts[i] = ":" + p[1:len(p)-1]
		}
	}
	return strings.Join(parts, "/")
}

func (v *validator) middleware(s *server) gin.HandlerFunc {
	return func(c *gin.Context) {
		r, ok := v.routes[routeKey{c.Request.Method, c.FullPath()}]
		if !ok || (r.open && nonEmpty(c.Params)) {
			c.Next()
			return
		}
		params := make(map[string]string, len(c.Params))
		for _, p := range c.Params {
			params[p.Key] = p.Value
		}
		in := &openapi3filter.RequestValidationInput{
			Request:    c.Request,
			PathParams: params,
			Route:      r.Route,
			Options:    &v.opts,
		}
		if err := openapi3filter.ValidateRequest(c.Request.Context(), in); err != nil {
			s.abortWithError(c, wes.Errorf(wes.EINVALID, "%s", describeRequestError(err)))
			return
		}
		c.Next()
	}
}

// nonEmpty reports whether every path parameter has a value: the validator refuses an
// empty one ("value is required but missing"), which gin routes to a handler.
func nonEmpty(ps gin.Params) bool {
	for _, p := range ps {
		if p.Value == "" {
			return false
		}
	}
	return true
}

// describeRequestError rewrites a kin-openapi validation error into a sentence that
// names the parameter and what is wrong with it.
func describeRequestError(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) || re.Parameter == nil {
		return truncate(firstLine(err.Error()), 300)
	}
	where := fmt.Sprintf("%s parameter %s", re.Parameter.In, re.Parameter.Name)
	var pe *openapi3filter.ParseError
	if errors.As(re.Err, &pe) {
		want := "value"
		if s := re.Parameter.Schema; s != nil && s.Value != nil && s.Value.Type != nil && len(*s.Value.Type) > 0 {
			want = (*s.Value.Type)[0]
			if want == "integer" {
				want = "an integer"
			}
		}
		return fmt.Sprintf("%s must be %s; got %s", where, want, quoteValue(pe.Value))
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return fmt.Sprintf("%s: %s", where, truncate(firstLine(se.Reason), 300))
	}
	reason := re.Reason
	if reason == "" && re.Err != nil {
		reason = re.Err.Error()
	}
	return fmt.Sprintf("%s: %s", where, truncate(firstLine(reason), 300))
}

func quoteValue(v any) string {
	return fmt.Sprintf("%q", truncate(fmt.Sprint(v), 64))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
