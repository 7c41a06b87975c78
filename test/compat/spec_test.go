package compat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// apiBase is where Enclave serves the WES API. The official document's paths carry no
// prefix; its servers entry holds it, and officialBasePath checks the two agree.
const apiBase = "/ga4gh/wes/v1"

// spec is the official document, ready to validate the exchanges with one server.
type spec struct {
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options
}

// loadSpec loads and validates the official document and points its servers entry at
// the server at addr (http, the official base path), leaving paths and schemas as they
// are.
func loadSpec(t testing.TB, path, addr string) *spec {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("load the official document %s: %v", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the official document does not validate with kin-openapi: %v", err)
	}
	base, err := officialBasePath(doc)
	if err != nil {
		t.Fatal(err)
	}
	if base != apiBase {
		t.Fatalf("the official servers entry puts the API under %q; Enclave serves it under %q", base, apiBase)
	}
	s := &spec{doc: doc, opts: &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// kin-openapi accepts any string for format uri unless told how to check it.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("uri", openapi3.NewCallbackValidator(checkURI)),
		},
	}}
	if addr != "" {
		doc.Servers = openapi3.Servers{{URL: "http://" + addr + base}}
		if s.router, err = gorillamux.NewRouter(doc); err != nil {
			t.Fatalf("router for the official document: %v", err)
		}
	}
	return s
}

// officialBasePath is the path of the document's first servers entry, its variables
// set to their defaults (https://{defaultHost}/{basePath}/{apiVersion} → /ga4gh/wes/v1).
func officialBasePath(doc *openapi3.T) (string, error) {
	if len(doc.Servers) == 0 {
		return "", errors.New("the official document has no servers entry")
	}
	srv := doc.Servers[0]
	raw := srv.URL
	for name, v := range srv.Variables {
		raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("the official servers entry %q: %w", srv.URL, err)
	}
	return strings.TrimRight(u.Path, "/"), nil
}

// checkURI accepts an absolute URI (RFC 3986: a scheme, then the rest), as format uri
// asks; "https://..." and "mailto:..." pass, a bare path or host does not.
func checkURI(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme == "" {
		return fmt.Errorf("%q is not an absolute URI (no scheme)", s)
	}
	return nil
}

// schema returns the official component schema name.
func (s *spec) schema(t testing.TB, name string) *openapi3.Schema {
	t.Helper()
	ref := s.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		t.Fatalf("the official document has no schema %s", name)
	}
	return ref.Value
}

// visit validates a decoded JSON value against the official component schema name.
func (s *spec) visit(t testing.TB, name string, v any) error {
	t.Helper()
	opts := append([]openapi3.SchemaValidationOption{openapi3.MultiErrors(), openapi3.VisitAsResponse()},
		s.opts.SchemaValidationOptions...)
	return s.schema(t, name).VisitJSON(v, opts...)
}

// stateEnum is the official State enum, in its order.
func (s *spec) stateEnum(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, v := range s.schema(t, "State").Enum {
		str, ok := v.(string)
		if !ok {
			t.Fatalf("the official State enum holds %v (%T), not a string", v, v)
		}
		out = append(out, str)
	}
	return out
}
