{{/*
The kubernetes executor (config.executor.kubernetes.enabled): the workers create a
batch/v1 Job per run in the jobs namespace. Only the worker pods get an API token, bound to
a Role with exactly the verbs executors/kubernetes uses; the job pods run as a ServiceAccount
of their own with no token and no RBAC, behind a default-deny NetworkPolicy.
*/}}

{{/* "true" when config.executor.kubernetes.enabled is true, else "". */}}
{{- define "enclave.kubernetes.enabled" -}}
{{- if eq (toString (dig "executor" "kubernetes" "enabled" false (.Values.config | default dict))) "true" }}true{{ end }}
{{- end }}

{{/* The namespace of the Jobs: config.executor.kubernetes.namespace, else the release's. */}}
{{- define "enclave.kubernetes.namespace" -}}
{{- default .Release.Namespace (dig "executor" "kubernetes" "namespace" "" (.Values.config | default dict)) }}
{{- end }}

{{/* The worker's own ServiceAccount, the one identity that may call the API server. */}}
{{- define "enclave.kubernetes.workerServiceAccountName" -}}
{{- printf "%s-worker" (include "enclave.fullname" .) }}
{{- end }}

{{/* The job pods' ServiceAccount: config.executor.kubernetes.service_account, else the chart's. */}}
{{- define "enclave.kubernetes.jobsServiceAccountName" -}}
{{- default (printf "%s-jobs" (include "enclave.fullname" .)) (dig "executor" "kubernetes" "service_account" "" (.Values.config | default dict)) }}
{{- end }}

{{/* "true" when the chart creates the job pods' ServiceAccount (none was named). */}}
{{- define "enclave.kubernetes.createJobsServiceAccount" -}}
{{- if not (dig "executor" "kubernetes" "service_account" "" (.Values.config | default dict)) }}true{{ end }}
{{- end }}

{{/*
enclave.kubernetes.configure fills, in the config copy .cfg, the executor.kubernetes keys
that follow from the chart: the namespace, the jobs' ServiceAccount, the data volume (the
chart's claim, which holds data_dir at its root), the uid and gid of the chart's pods (so a
job can write the work directory the worker created) and, when the catalogue volume is a
claim in the jobs' namespace, the datasets on it. Keys the user set are kept.
*/}}
{{- define "enclave.kubernetes.configure" -}}
{{- $root := .root }}
{{- $cfg := .cfg }}
{{- $executor := index $cfg "executor" | default dict }}
{{- $k := index $executor "kubernetes" | default dict }}
{{- $ns := include "enclave.kubernetes.namespace" $root }}
{{- $_ := set $k "namespace" $ns }}
{{- $_ = set $k "service_account" (include "enclave.kubernetes.jobsServiceAccountName" $root) }}
{{- if and (not $k.data_claim) (not $k.data_host_path) (eq $ns $root.Release.Namespace) }}
{{- $_ = set $k "data_claim" (include "enclave.claimName" $root) }}
{{- end }}
{{- $psc := $root.Values.podSecurityContext | default dict }}
{{- if and (not (hasKey $k "run_as_user")) $psc.runAsUser }}
{{- $_ = set $k "run_as_user" $psc.runAsUser }}
{{- end }}
{{- if and (not (hasKey $k "run_as_group")) $psc.runAsGroup }}
{{- $_ = set $k "run_as_group" $psc.runAsGroup }}
{{- end }}
{{- $claim := dig "source" "persistentVolumeClaim" "claimName" "" ($root.Values.catalog.volume | default dict) }}
{{- if and (not $k.datasets) $claim (eq $ns $root.Release.Namespace) }}
{{- $_ = set $k "datasets" (list (printf "%s=pvc:%s" (trimSuffix "/" $root.Values.catalog.volume.mountPath) $claim)) }}
{{- end }}
{{- $_ = set $executor "kubernetes" $k }}
{{- $_ = set $cfg "executor" $executor }}
{{- end }}

{{/* enclave.validateKubernetes is the kubernetes executor's part of enclave.validate. */}}
{{- define "enclave.validateKubernetes" -}}
{{- $cfg := .Values.config | default dict }}
{{- $k := dig "executor" "kubernetes" dict $cfg }}
{{- $on := include "enclave.kubernetes.enabled" . }}
{{- if and (eq (include "enclave.executor" .) "kubernetes") (not $on) }}
{{- fail "config.executor.default is kubernetes but config.executor.kubernetes.enabled is not true: enable the executor (and set config.executor.kubernetes.image), or choose another default" }}
{{- end }}
{{- if $on }}
{{- if not .Values.workers.enabled }}
{{- fail "config.executor.kubernetes.enabled needs workers.enabled=true: the worker pods hold the Kubernetes API token the executor uses, and the server pods never get one" }}
{{- end }}
{{- if $k.kubeconfig }}
{{- fail "config.executor.kubernetes.kubeconfig must be empty with this chart: the workers use their in-cluster ServiceAccount, which the chart creates and binds to a Role in the jobs' namespace" }}
{{- end }}
{{- $_ := required "config.executor.kubernetes.image is required with config.executor.kubernetes.enabled: the image the job pods run, holding the workflow engines (e.g. the chart's image, registry/enclave:tag); it must already be on the nodes or pullable" $k.image }}
{{- $pull := $k.image_pull_policy | default "IfNotPresent" }}
{{- if not (has $pull (list "IfNotPresent" "Never")) }}
{{- fail (printf "config.executor.kubernetes.image_pull_policy must be IfNotPresent or Never, not %q: the executor never pulls job images on purpose" $pull) }}
{{- end }}
{{- if and $k.data_claim $k.data_host_path }}
{{- fail "config.executor.kubernetes.data_claim and data_host_path are both set: set at most one (neither uses the chart's data volume)" }}
{{- end }}
{{- $ns := include "enclave.kubernetes.namespace" . }}
{{- if and (ne $ns .Release.Namespace) (not $k.data_claim) (not $k.data_host_path) }}
{{- fail (printf "config.executor.kubernetes.data_claim is required when the jobs run in namespace %s, not the release's (%s): a claim is namespaced, so name a PersistentVolumeClaim in %s bound to the same storage as the data volume (or set data_host_path)" $ns .Release.Namespace $ns) }}
{{- end }}
{{- if and .Values.persistence.enabled (not .Values.persistence.existingClaim) (has "ReadWriteOncePod" (.Values.persistence.accessModes | default list)) }}
{{- fail "persistence.accessModes has ReadWriteOncePod, but with config.executor.kubernetes.enabled every job pod mounts the data volume too: use ReadWriteMany" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The worker pod's ServiceAccount and token: its own, with a token, with the executor on. */}}
{{- define "enclave.workerIdentity" -}}
{{- if include "enclave.kubernetes.enabled" . }}
serviceAccountName: {{ include "enclave.kubernetes.workerServiceAccountName" . }}
# The kubernetes executor calls the API server with this pod's token (see the Role).
automountServiceAccountToken: true
{{- else }}
serviceAccountName: {{ include "enclave.serviceAccountName" . }}
automountServiceAccountToken: false
{{- end }}
{{- end }}
