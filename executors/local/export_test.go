package local

import "testing"

// SimulateMachine makes the executors created during the test see a machine with the
// given Landlock ABI (0: none) whose worker is root with working namespaces, or not: a
// test hook on the capability probe, so that tests can play a machine that cannot
// confine, or a worker that is not root, without faking the kernel.
func SimulateMachine(t testing.TB, landlockABI int, rootWithNamespaces bool) {
	probeHook = func(a *abilities) {
		a.Landlock = min(a.Landlock, landlockABI)
		if !rootWithNamespaces {
			a.Root, a.Namespaces, a.NSProblem = false, false, ""
		}
	}
	t.Cleanup(func() { probeHook = nil })
}
