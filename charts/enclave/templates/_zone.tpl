{{/*
The sealed zone: the catalogue's mounts, config.zone.catalog, and the refusals that keep a
zone deployable (a catalogue when sealed, a results store the pods can write, S3 keys only
from the Secret).
*/}}

{{/* zone.mode as Enclave will read it: a configuration file makes "" mean sealed. */}}
{{- define "enclave.zoneMode" -}}
{{- default "sealed" (dig "zone" "mode" "" (.Values.config | default dict)) }}
{{- end }}

{{/* Where the catalogue ConfigMap's keys appear inside the pods (inside the config volume). */}}
{{- define "enclave.catalogDir" -}}{{ include "enclave.configDir" . }}/catalog{{- end }}

{{/*
The catalogue file config.zone.catalog names: the ConfigMap's when one is given, else the
file on catalog.volume, else "" (no catalogue; only allowed with zone.mode open).
*/}}
{{- define "enclave.catalogPath" -}}
{{- $c := .Values.catalog | default dict }}
{{- $vol := $c.volume | default dict }}
{{- if $c.existingConfigMap }}
{{- printf "%s/catalog.yaml" (include "enclave.catalogDir" .) }}
{{- else if and $vol.source $vol.catalogFile }}
{{- printf "%s/%s" (trimSuffix "/" $vol.mountPath) $vol.catalogFile }}
{{- end }}
{{- end }}

{{/* enclave.relPath fails unless .value is a relative path that stays below its base. */}}
{{- define "enclave.relPath" -}}
{{- if or (not .value) (hasPrefix "/" .value) (regexMatch "(^|/)\\.\\.(/|$)" .value) }}
{{- fail (printf "%s must be a relative path without \"..\" (got %q)" .name .value) }}
{{- end }}
{{- end }}

{{/* enclave.validateZone is the zone's part of enclave.validate. */}}
{{- define "enclave.validateZone" -}}
{{- $cfg := .Values.config | default dict }}
{{- $c := .Values.catalog | default dict }}
{{- $vol := $c.volume | default dict }}
{{- $mode := include "enclave.zoneMode" . }}
{{- if not (has $mode (list "sealed" "open")) }}
{{- fail (printf "config.zone.mode must be sealed or open, not %q" $mode) }}
{{- end }}
{{- if $c.existingConfigMap }}
{{- $_ := required "catalog.key is required: the key of the catalogue in catalog.existingConfigMap, e.g. catalog.yaml" $c.key }}
{{- range $i, $item := $c.items | default list }}
{{- $_ = required (printf "catalog.items[%d].key is required: the ConfigMap key to mount" $i) $item.key }}
{{- include "enclave.relPath" (dict "name" (printf "catalog.items[%d].path" $i) "value" $item.path) }}
{{- if eq (clean $item.path) "catalog.yaml" }}
{{- fail (printf "catalog.items[%d].path is catalog.yaml, where catalog.key is mounted; give the catalogue's key in catalog.key instead" $i) }}
{{- end }}
{{- end }}
{{- else if $c.items }}
{{- fail "catalog.items needs catalog.existingConfigMap: they are keys of that ConfigMap" }}
{{- end }}
{{- if $vol.source }}
{{- if hasKey $vol.source "hostPath" }}
{{- fail "catalog.volume.source.hostPath is refused: a node's file system is no place for a zone's data; use a PersistentVolumeClaim, NFS or CSI volume" }}
{{- end }}
{{- $mp := $vol.mountPath | default "" }}
{{- if not (hasPrefix "/" $mp) }}
{{- fail (printf "catalog.volume.mountPath must be an absolute path, e.g. /zone (got %q)" $mp) }}
{{- end }}
{{- range $taken := list "/" (include "enclave.configDir" .) (include "enclave.dataDir" .) "/tmp" }}
{{- $a := printf "%s/" (trimSuffix "/" $mp) }}
{{- $b := printf "%s/" (trimSuffix "/" $taken) }}
{{- if or (hasPrefix $a $b) (and (ne $taken "/") (hasPrefix $b $a)) }}
{{- fail (printf "catalog.volume.mountPath %s overlaps %s, which the chart mounts; use a directory of its own, e.g. /zone" $mp $taken) }}
{{- end }}
{{- end }}
{{- if and (not $c.existingConfigMap) $vol.catalogFile }}
{{- include "enclave.relPath" (dict "name" "catalog.volume.catalogFile" "value" $vol.catalogFile) }}
{{- end }}
{{- else if $vol.catalogFile }}
{{- fail "catalog.volume.catalogFile needs catalog.volume.source: the volume the catalogue is on" }}
{{- end }}
{{- if eq $mode "sealed" }}
{{- $_ := required "catalog.existingConfigMap is required with config.zone.mode sealed (the default): name the ConfigMap holding the catalogue of validated workflows (kubectl create configmap enclave-catalog --from-file=catalog.yaml; see examples/catalog), or set catalog.volume.source and catalog.volume.catalogFile, or write config.zone.mode: open to run plain WES" (include "enclave.catalogPath" .) }}
{{- end }}
{{- $results := dig "zone" "results" dict $cfg }}
{{- $store := default "local" $results.store }}
{{- if eq $store "local" }}
{{- with $results.local_dir }}
{{- if not (hasPrefix (printf "%s/" (include "enclave.dataDir" $)) (clean .)) }}
{{- fail (printf "config.zone.results.local_dir must be under %s (the data volume), or unset for %s/results: the rest of the pods' file system is read-only or lost with the pod" (include "enclave.dataDir" $) (include "enclave.dataDir" $)) }}
{{- end }}
{{- end }}
{{- else if eq $store "s3" }}
{{- $_ := required "config.zone.results.s3.endpoint is required with config.zone.results.store s3: host:port of the S3 API, e.g. minio.minio.svc:9000" (dig "s3" "endpoint" "" $results) }}
{{- if not .Values.secrets.existingSecret }}
{{- fail "config.zone.results.store s3 needs secrets.existingSecret: the S3 access and secret keys come from that Secret (keys s3-access-key and s3-secret-key by default, see secrets.env)" }}
{{- end }}
{{- range $env := list "ENCLAVE_ZONE_RESULTS_S3_ACCESS_KEY" "ENCLAVE_ZONE_RESULTS_S3_SECRET_KEY" }}
{{- if not (index ($.Values.secrets.env | default dict) $env) }}
{{- fail (printf "secrets.env.%s is required with config.zone.results.store s3: the key in secrets.existingSecret that holds it" $env) }}
{{- end }}
{{- end }}
{{- else }}
{{- fail (printf "config.zone.results.store must be local or s3, not %q" $store) }}
{{- end }}
{{- end }}

{{/*
The config volume: the chart's config.yaml and, under catalog/, the catalogue ConfigMap's
keys. One projected volume, because a volume mounted inside a read-only ConfigMap mount
would need a mount point the runtime cannot create there.
*/}}
{{- define "enclave.configVolume" -}}
- name: config
  projected:
    defaultMode: 0444
    sources:
      - configMap:
          name: {{ include "enclave.fullname" . }}
          items:
            - key: config.yaml
              path: config.yaml
      {{- with .Values.catalog.existingConfigMap }}
      - configMap:
          name: {{ . }}
          items:
            - key: {{ $.Values.catalog.key | quote }}
              path: catalog/catalog.yaml
            {{- range $.Values.catalog.items }}
            - key: {{ .key | quote }}
              path: {{ printf "catalog/%s" (clean .path) | quote }}
            {{- end }}
      {{- end }}
{{- end }}

{{/* The zone volume (workflow files, datasets), when catalog.volume.source is set. */}}
{{- define "enclave.zoneVolume" -}}
{{- with .Values.catalog.volume.source }}
- name: zone
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Its mount: read-only, so no run can change a validated workflow or a dataset. */}}
{{- define "enclave.zoneVolumeMount" -}}
{{- if .Values.catalog.volume.source }}
- name: zone
  mountPath: {{ .Values.catalog.volume.mountPath }}
  readOnly: true
{{- end }}
{{- end }}
