{{/*
Names, labels and the shared pieces of the server and worker pods.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "enclave.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name for objects: fullnameOverride, else release-chart (once). */}}
{{- define "enclave.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "enclave.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "enclave.labels" -}}
helm.sh/chart: {{ include "enclave.chart" . }}
{{ include "enclave.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the release's pods; add app.kubernetes.io/component per Deployment. */}}
{{- define "enclave.selectorLabels" -}}
app.kubernetes.io/name: {{ include "enclave.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "enclave.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "enclave.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "enclave.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Mount points inside the pods. */}}
{{- define "enclave.configDir" -}}/etc/enclave{{- end }}
{{- define "enclave.dataDir" -}}/var/lib/enclave{{- end }}

{{/* The PVC holding data_dir. */}}
{{- define "enclave.claimName" -}}
{{- default (printf "%s-data" (include "enclave.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* The executor runs use, as config.executor.default says (Enclave's default: local). */}}
{{- define "enclave.executor" -}}
{{- dig "executor" "default" "local" (.Values.config | default dict) }}
{{- end }}

{{/*
enclave.config renders config.yaml: the user's config map plus the five keys the chart owns
(they follow from the chart's topology, so they are not the user's to set), and, with the
kubernetes executor, the defaults of its keys that follow from the chart (see
enclave.kubernetes.configure).
*/}}
{{- define "enclave.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $server := index $cfg "server" | default dict }}
{{- $_ := set $server "addr" (printf ":%d" (int .Values.server.containerPort)) }}
{{- $_ = set $cfg "server" $server }}
{{- $redis := index $cfg "redis" | default dict }}
{{- with .Values.redis.addr }}
{{- $_ = set $redis "addr" . }}
{{- end }}
{{- with .Values.redis.sentinel.masterName }}
{{- $_ = set $redis "sentinel" (dict "master_name" . "addrs" $.Values.redis.sentinel.addrs) }}
{{- end }}
{{- $_ = set $cfg "redis" $redis }}
{{- $worker := index $cfg "worker" | default dict }}
{{- $_ = set $worker "in_process" (not .Values.workers.enabled) }}
{{- $_ = set $cfg "worker" $worker }}
{{- $_ = set $cfg "data_dir" (include "enclave.dataDir" .) }}
{{- /* zone.mode written out, so an empty value cannot reach Enclave, which refuses it. */}}
{{- $zone := index $cfg "zone" | default dict }}
{{- $_ = set $zone "mode" (include "enclave.zoneMode" .) }}
{{- with include "enclave.catalogPath" . }}
{{- $_ = set $zone "catalog" . }}
{{- end }}
{{- $_ = set $cfg "zone" $zone }}
{{- if include "enclave.kubernetes.enabled" . }}
{{- include "enclave.kubernetes.configure" (dict "root" . "cfg" $cfg) }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
enclave.validate fails rendering, with a message naming the value to change, on every
deployment that could not work or would leak a secret. Called by every template that is always
rendered, so `helm template` and `helm install` both stop before anything is applied.
*/}}
{{- define "enclave.validate" -}}
{{- $_ := "" }}
{{- if .Values.redis.sentinel.masterName }}
{{- if not .Values.redis.sentinel.addrs }}
{{- fail "redis.sentinel.addrs is required with redis.sentinel.masterName: the host:port of each sentinel" }}
{{- end }}
{{- else }}
{{- $_ = required "redis.addr is required: the workers and the server share runs and the queue through an external Redis (host:port, or redis.sentinel); the embedded in-process store cannot be shared between pods" .Values.redis.addr }}
{{- end }}
{{- if and .Values.workers.enabled .Values.workers.autoscaling.enabled (eq (include "enclave.executor" .) "local") }}
{{- fail "workers.autoscaling needs an executor whose jobs live outside the worker pods (config.executor.default kubernetes, slurm, tes or docker): with local, every worker watches every job, so a second pod would find the first one's jobs lost" }}
{{- end }}
{{- $cfg := .Values.config | default dict }}
{{- if ne (dig "auth" "mode" "oidc" $cfg) "none" }}
{{- $_ = required "config.auth.oidc.issuer is required with config.auth.mode oidc: the OpenID Provider's issuer URL, e.g. https://login.aai.lifescience-ri.eu/oidc/ (or set config.auth.mode: none explicitly)" (dig "auth" "oidc" "issuer" "" $cfg) }}
{{- end }}
{{- range $owned := list "server.addr" "redis.addr" "redis.sentinel" "worker.in_process" "data_dir" "zone.catalog" }}
{{- $parts := splitList "." $owned }}
{{- $section := $cfg }}
{{- if gt (len $parts) 1 }}
{{- $section = index $cfg (first $parts) | default dict }}
{{- end }}
{{- if hasKey $section (last $parts) }}
{{- fail (printf "config.%s is set by the chart; remove it (server.addr follows server.containerPort, redis.addr and redis.sentinel follow redis.addr and redis.sentinel, worker.in_process follows workers.enabled, data_dir is the data volume, zone.catalog follows catalog.existingConfigMap or catalog.volume.catalogFile)" $owned) }}
{{- end }}
{{- end }}
{{- include "enclave.validateZone" . }}
{{- include "enclave.validateKubernetes" . }}
{{- include "enclave.noSecrets" (dict "path" "" "value" $cfg) }}
{{- if eq (include "enclave.executor" .) "local" }}
{{- if and .Values.workers.enabled (gt (int .Values.workers.replicas) 1) }}
{{- fail "workers.replicas must be 1 with the local executor: its jobs run inside the worker pod and every worker watches every job, so other pods would find them lost" }}
{{- end }}
{{- if and (not .Values.workers.enabled) (gt (int .Values.server.replicas) 1) }}
{{- fail "server.replicas must be 1 when workers.enabled is false and the executor is local: each server pod then runs a worker, and the others would find its jobs lost" }}
{{- end }}
{{- end }}
{{- if and .Values.workers.enabled (not .Values.persistence.enabled) }}
{{- fail "persistence.enabled=false needs workers.enabled=false: the server and the workers must share data_dir through one volume" }}
{{- end }}
{{- range $env, $key := .Values.secrets.env }}
{{- if not (regexMatch "^ENCLAVE_[A-Z0-9_]+$" $env) }}
{{- fail (printf "secrets.env: %q is not an Enclave variable (ENCLAVE_ and the key path in upper case, e.g. ENCLAVE_REDIS_PASSWORD)" $env) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
enclave.noSecrets walks the config map and fails on any non-empty value whose key names a
secret: the ConfigMap is readable by anyone who can read the namespace's configuration.
*/}}
{{- define "enclave.noSecrets" -}}
{{- $path := .path }}
{{- range $k, $v := .value }}
{{- $p := ternary $k (printf "%s.%s" $path $k) (eq $path "") }}
{{- if kindIs "map" $v }}
{{- include "enclave.noSecrets" (dict "path" $p "value" $v) }}
{{- else if and $v (regexMatch "(^|_)(password|secret|secret_key|access_key|client_secret|token)$" $k) }}
{{- fail (printf "config.%s is a secret and must not be in the ConfigMap: put it in the Secret named by secrets.existingSecret and map %s to its key in secrets.env" $p (printf "ENCLAVE_%s" ($p | replace "." "_" | upper))) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Environment of both containers: the config file, a writable HOME, and the secrets. */}}
{{- define "enclave.env" -}}
- name: ENCLAVE_CONFIG
  value: {{ include "enclave.configDir" . }}/config.yaml
- name: HOME
  value: /tmp
- name: TMPDIR
  value: /tmp
{{- if .Values.secrets.existingSecret }}
{{- $vars := deepCopy (.Values.secrets.env | default dict) }}
{{- if and .Values.redis.sentinel.masterName .Values.redis.sentinel.passwordKey (not (hasKey $vars "ENCLAVE_REDIS_SENTINEL_PASSWORD")) }}
{{- $_ := set $vars "ENCLAVE_REDIS_SENTINEL_PASSWORD" .Values.redis.sentinel.passwordKey }}
{{- end }}
{{- range $env, $key := $vars }}
{{- if $key }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secrets.existingSecret }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Volume mounts of both containers. */}}
{{- define "enclave.volumeMounts" -}}
- name: config
  mountPath: {{ include "enclave.configDir" . }}
  readOnly: true
- name: data
  mountPath: {{ include "enclave.dataDir" . }}
- name: tmp
  mountPath: /tmp
{{- include "enclave.zoneVolumeMount" . }}
{{- end }}

{{/* Volumes of both pods. */}}
{{- define "enclave.volumes" -}}
{{ include "enclave.configVolume" . }}
- name: data
{{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "enclave.claimName" . }}
{{- else }}
  emptyDir: {}
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- include "enclave.zoneVolume" . }}
{{- end }}

{{/* Pod-spec fields both Deployments share (each sets its ServiceAccount and token). */}}
{{- define "enclave.podCommon" -}}
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ if kindIs "map" . }}{{ .name }}{{ else }}{{ . }}{{ end }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
volumes:
  {{- include "enclave.volumes" . | nindent 2 }}
{{- end }}

{{/*
Egress rules of the server and the workers: DNS, Redis, the S3 store, the OIDC issuer (each
to its cidrs and selectors, or anywhere on its ports), then the user's extra rules.
*/}}
{{- define "enclave.egressRules" -}}
{{- $np := .Values.networkPolicy -}}
- ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
  {{- with $np.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- range $name := list "redis" "s3" "oidc" }}
{{- $d := index $np $name }}
{{- if $d.ports }}
# {{ $name }}
- ports:
    {{- range $d.ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
  {{- if or $d.cidrs $d.to }}
  to:
    {{- range $d.cidrs }}
    - ipBlock: {cidr: {{ . | quote }}}
    {{- end }}
    {{- with $d.to }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}
{{- with $np.egress }}
{{ toYaml . }}
{{- end }}
{{- end }}
