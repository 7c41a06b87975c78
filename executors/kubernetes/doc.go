// Package kubernetes is the executor that runs a job's argv as a batch/v1 Job on a
// Kubernetes cluster, through client-go (typed objects, never YAML templates).
//
// The Job. One Job per run in Config.Namespace, named "enclave-<run key>": the run id
// when it is a DNS label (UUIDs are), else a sanitized prefix and a hash of the id
// (runKey); it is deterministic, so a repeated Submit, in any worker, meets the same
// name, gets AlreadyExists and returns the existing Job's handle, and the job runs once.
// The Job and its pod carry app.kubernetes.io/managed-by=enclave and enclave/run-id=<run
// key> labels and the exact id in the enclave/run-id annotation (checked on adoption).
// backoffLimit 0 and restartPolicy Never: a failed job is not retried behind the
// runner's back. activeDeadlineSeconds is job.Resources.TimeLimit; CPU and memory are
// both requests and limits. The handle holds namespace, name and UID: a later Job of
// the same name is not mistaken for the run's.
//
// Security. The pod runs as Config.RunAsUser/RunAsGroup (non-root required; runAsNonRoot
// set, so the kubelet also refuses an image user 0), with the RuntimeDefault seccomp
// profile; its container has a read-only root file system, no privilege escalation,
// all capabilities dropped and an emptyDir on /tmp (size-limited). No service account
// token is mounted and no service environment variables are injected (enableServiceLinks
// false), so the job learns nothing of the cluster and cannot call the API server with
// an identity. Images are never pulled from a registry on purpose: ImagePullPolicy is
// IfNotPresent or Never (Always is refused); with Never, a missing image fails the run
// at once with a message. Of the zone's data the pod sees only its own work directory,
// read-write (a subPath of the data volume, mounted at job.WorkDir so the paths in argv
// and params stay valid), and the run's datasets (job.Datasets), each read-only at its
// path from the configured dataset volume that holds it; a dataset outside every
// configured volume is EINVALID, never a wider mount. Network isolation is not in the
// pod spec: Kubernetes has no per-pod "no network". Operators apply a default-deny
// NetworkPolicy to the namespace, for example
//
//	apiVersion: networking.k8s.io/v1
//	kind: NetworkPolicy
//	metadata: {name: enclave-jobs-deny-all, namespace: enclave-jobs}
//	spec:
//	  podSelector: {matchLabels: {app.kubernetes.io/managed-by: enclave}}
//	  policyTypes: [Ingress, Egress]
//
// and enforce the "restricted" Pod Security Standard on it (the pods comply, except for
// hostPath volumes, which PVCs avoid). The executor's own RBAC needs, in its namespace
// only: jobs (create, get, list, patch, delete), pods (list) and pods/log (get).
//
// States. Ends come from the Job's conditions, which the job controller sets once the
// pod has terminated: Complete → succeeded (exit 0), Failed → failed with the pod's exit
// code (DeadlineExceeded: "exceeded its time limit"; OOMKilled and start errors have
// their own messages). Before that: no pod or a pending pod → queued, a started
// container → running. A Job that is gone, or whose UID differs, → lost ("the Kubernetes
// Job of this run no longer exists"). An unreachable API server is EUNAVAILABLE.
//
// Cancel. Cancel patches the Job once: annotation enclave/stopped=canceled (with the time
// in enclave/stopped-at) and spec.suspend=true. The job controller then deletes the pod
// gracefully (SIGTERM, SIGKILL after Config.Grace, the pod's
// terminationGracePeriodSeconds) and creates no other. The Job stays until Cleanup, so
// any instance, from the handle alone, reads the mark; Status says "stopping" (running,
// or queued if the container never started) until the job controller has seen the
// suspension (condition Suspended) and no pod is left running, then canceled. Cancel of an ended, stopped or vanished
// job is a no-op. Status stops a job the same way when its container can never start
// (ErrImageNeverPull, InvalidImageName, CreateContainer(Config)Error) and reports it
// failed with a message instead of queued forever. Cleanup deletes the Job of an ended
// run (propagation Background: the garbage collector deletes the pod); ECONFLICT while
// it runs. Config.TTLSecondsAfterFinished lets Kubernetes delete ended Jobs instead; it
// must exceed the time the worker needs to see the end, or the run becomes lost.
//
// Logs. The job's stdout and stderr are not files the job writes: with argv and no
// shell nothing in the container could redirect them, and the kubelet keeps the
// container's log. When Status first sees the job ended it copies the pod's log, read
// through the API server's pods/log (the kubelet's /containerLogs), into job.Stdout
// (atomically, parent directories created); the copy is redone only while the file is
// older than the job's end. Container logs are one stream: by default stdout and stderr
// arrive interleaved in job.Stdout and job.Stderr is created empty. With
// Config.SplitLogStreams (the PodLogsQuerySplitStreams feature gate, alpha in 1.37, on
// the API server and the kubelets) they are copied apart. The logs of a canceled job
// whose pod is already gone are lost with the pod. Logs (wes.LogReader) streams the
// log from the cluster while the job runs. The worker must see the data volume at
// Data.MountPath (it writes the log files and checks the work directory there).
//
// Tests. The tests run against a real control plane (scripts/k8s.sh: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kwok for node heartbeats).
// No kubelet or container runtime can run in the test sandbox, so internal/testsupport/k8sagent
// plays the kubelet for one node: it runs each pod's command as a host process, reports
// pod status through pods/status and serves /containerLogs over TLS, so the executor's
// log copy goes through the real API server proxy. It applies none of the pod's
// confinement: the tests check the Job's security settings on the objects, not their
// enforcement.
package kubernetes
