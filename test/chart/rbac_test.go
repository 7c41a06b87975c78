package chart

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// executorDir is the kubernetes executor's source, whose API calls the chart's Role grants.
const executorDir = "../../executors/kubernetes"

// wantRules is the Role the workers need: exactly the calls executors/kubernetes makes
// (TestExecutorRBACFromCode derives the same from its source), keyed "group/resource".
var wantRules = map[string][]string{
	"batch/jobs": {"create", "delete", "get", "list", "patch"},
	"/pods":      {"list"},
	"/pods/log":  {"get"},
}

// rulesOf turns a Role's rules into wantRules' shape, sorted verbs, failing on a wildcard.
func rulesOf(t *testing.T, rules []policyRule) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("rule %+v has resourceNames or nonResourceURLs", r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				key := g + "/" + res
				for _, v := range r.Verbs {
					if v == "*" || g == "*" || res == "*" {
						t.Errorf("rule %+v uses a wildcard", r)
					}
					if !slices.Contains(out[key], v) {
						out[key] = append(out[key], v)
					}
				}
			}
		}
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

// clientVerbs maps the methods of client-go's typed Job and Pod clients to the
// subresource (appended to the resource) and RBAC verb they need.
var clientVerbs = map[string][2]string{
	"Create": {"", "create"}, "Get": {"", "get"}, "List": {"", "list"}, "Watch": {"", "watch"},
	"Patch": {"", "patch"}, "Apply": {"", "patch"}, "Update": {"", "update"},
	"Delete": {"", "delete"}, "DeleteCollection": {"", "deletecollection"},
	"UpdateStatus": {"/status", "update"}, "ApplyStatus": {"/status", "patch"},
	"GetLogs": {"/log", "get"}, "ProxyGet": {"/proxy", "get"}, "Bind": {"/binding", "create"},
	"Evict": {"/eviction", "create"}, "EvictV1": {"/eviction", "create"}, "EvictV1beta1": {"/eviction", "create"},
	"UpdateEphemeralContainers": {"/ephemeralcontainers", "update"}, "UpdateResize": {"/resize", "update"},
}

// groupVersion matches client-go's group accessors (BatchV1(), CoreV1(), AppsV1beta2()).
var groupVersion = regexp.MustCompile(`^[A-Z][A-Za-z]*V\d+((alpha|beta)\d+)?$`)

// TestExecutorRBACFromCode reads executors/kubernetes (not its tests) and collects every
// call on a Jobs or Pods client, so a new call there fails here until the chart's Role
// grants it; any other resource, or a raw REST or discovery client, fails too.
func TestExecutorRBACFromCode(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(executorDir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", executorDir, err)
	}
	resources := map[string]string{"Jobs": "batch/jobs", "Pods": "/pods"}
	// resourceOf is the resource of a client expression like e.cs.BatchV1().Jobs(ns).
	resourceOf := func(x ast.Expr) string {
		call, ok := x.(*ast.CallExpr)
		if !ok {
			return ""
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
			return resources[sel.Sel.Name]
		}
		return ""
	}
	got := map[string][]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		bound := map[string]string{} // variables holding a client: jobs := ....Jobs(ns)
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for i, rhs := range n.Rhs {
					if id, ok := n.Lhs[min(i, len(n.Lhs)-1)].(*ast.Ident); ok && resourceOf(rhs) != "" {
						bound[id.Name] = resourceOf(rhs)
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch name := sel.Sel.Name; {
				case name == "RESTClient" || name == "Discovery" || name == "DynamicClient":
					t.Errorf("%s: %s() reaches the API outside the typed Jobs and Pods clients; grant it in the chart's Role and here", fset.Position(n.Pos()), name)
				case isGroupCall(sel.X) && resources[name] == "":
					t.Errorf("%s: executors/kubernetes uses %s, which the chart's Role does not grant", fset.Position(n.Pos()), name)
				}
				res := resourceOf(sel.X)
				if id, ok := sel.X.(*ast.Ident); ok && res == "" {
					res = bound[id.Name]
				}
				if res == "" {
					return true
				}
				v, ok := clientVerbs[sel.Sel.Name]
				if !ok {
					t.Errorf("%s: unknown client method %s: map it to an RBAC verb in clientVerbs", fset.Position(n.Pos()), sel.Sel.Name)
					return true
				}
				if key := res + v[0]; !slices.Contains(got[key], v[1]) {
					got[key] = append(got[key], v[1])
				}
			}
			return true
		})
	}
	for k := range got {
		slices.Sort(got[k])
	}
	if !maps.EqualFunc(got, wantRules, slices.Equal) {
		t.Errorf("executors/kubernetes calls %v; the chart grants %v: update templates/kubernetes-rbac.yaml and wantRules", got, wantRules)
	}
}

// isGroupCall reports whether x is a call of a group accessor such as cs.BatchV1().
func isGroupCall(x ast.Expr) bool {
	call, ok := x.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && groupVersion.MatchString(sel.Sel.Name)
}
