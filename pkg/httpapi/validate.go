package httpapi

import (
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
type validator struct {
	routes map[string]*routers.Route // "GET /ga4gh/wes/v1/runs/:run_id" → route
	opts   openapi3filter.Options
}

func newValidator() (*validator, error) {
	doc, err := api.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("httpapi: load embedded OpenAPI document: %w", err)
	}
	v := &validator{
		routes: map[string]*routers.Route{},
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
			key := method + " " + BasePath + ginPattern(path)
			v.routes[key] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	return v, nil
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
		route, ok := v.routes[c.Request.Method+" "+c.FullPath()]
		if !ok {
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
			Route:      route,
			Options:    &v.opts,
		}
		if err := openapi3filter.ValidateRequest(c.Request.Context(), in); err != nil {
			s.abortWithError(c, wes.Errorf(wes.EINVALID, "%s", describeRequestError(err)))
			return
		}
		c.Next()
	}
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
