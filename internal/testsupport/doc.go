// Package testsupport holds, in its sub-packages, what only tests use: testutil (the real
// Redis and other helpers every package's tests share), apptest (a whole Enclave inside a
// test process) and k8sagent (the node agent that runs pods on the tests' Kubernetes
// control plane, standing in for a kubelet). No production code imports them.
package testsupport
