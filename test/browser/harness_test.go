package browser

import "testing"

// TestHarness proves the suite's machinery before any portal page is judged: Chromium
// starts from node, a page of a real `enclave server` loads in it, and every page check
// (landmarks, axe-core, CSP refusals) fails on a page with the problem it is there to catch.
func TestHarness(t *testing.T) {
	tl := needTools(t)
	t.Parallel()
	s := embeddedServer(t)
	runSpec(t, tl, "harness", s.URL())
}
