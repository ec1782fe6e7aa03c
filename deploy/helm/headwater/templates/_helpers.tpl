{{/* Names, labels, the image, and the environment every Headwater container shares. */}}

{{- define "headwater.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "headwater.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* "headwater.component" (dict "root" $ "name" "collector") */}}
{{- define "headwater.componentName" -}}
{{- printf "%s-%s" (include "headwater.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "headwater.selectorLabels" -}}
app.kubernetes.io/name: {{ include "headwater.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "headwater.labels" -}}
{{ include "headwater.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "headwater.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* A component's image: its own imageTag (a rolling upgrade holds it back) or the chart's.
(dict "root" $ "tag" .Values.collector.imageTag) */}}
{{- define "headwater.componentImage" -}}
{{- if .tag -}}
{{- printf "%s:%s" .root.Values.image.repository .tag -}}
{{- else -}}
{{- include "headwater.image" .root -}}
{{- end -}}
{{- end -}}

{{/* Prometheus scrape annotations: (dict "root" $ "port" 9102) */}}
{{- define "headwater.scrapeAnnotations" -}}
{{- if .root.Values.metrics.annotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/* The values the chart cannot work without, and the partition cap. */}}
{{- define "headwater.validate" -}}
{{- if not .Values.kafka.bootstrapServers -}}
{{- fail "kafka.bootstrapServers is required (HEADWATER_KAFKA)" -}}
{{- end -}}
{{- if not .Values.search.urls -}}
{{- fail "search.urls is required (HEADWATER_SEARCH)" -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- fail "secrets.existingSecret is required: the name of a Secret holding the keys under secrets.keys" -}}
{{- end -}}
{{- if gt (int .Values.worker.replicas) (int .Values.partitions) -}}
{{- fail (printf "worker.replicas (%d) is more than partitions (%d): a worker beyond the partition count of hw.intake gets no partition and sits idle" (int .Values.worker.replicas) (int .Values.partitions)) -}}
{{- end -}}
{{- if not (has .Values.migrate.action (list "plan" "apply" "status")) -}}
{{- fail (printf "migrate.action must be plan, apply or status, not %q" .Values.migrate.action) -}}
{{- end -}}
{{- if and .Values.bridges.mqtt.enabled (gt (int .Values.bridges.mqtt.replicas) 1) -}}
{{- fail "bridges.mqtt.replicas must be 1: a second MQTT bridge process connects with the same client ids and the broker drops the other" -}}
{{- end -}}
{{- end -}}

{{/* One secret as an environment variable; missing keys are allowed unless required. */}}
{{- define "headwater.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.secrets.existingSecret }}
      key: {{ .key }}
      optional: {{ not .required }}
{{- end -}}

{{/*
The environment of every Headwater container: (dict "root" $ "search" true "extra" .Values.x.env).
Rendered into each pod (no ConfigMap), so the pre-install hook Jobs have it too.
*/}}
{{- define "headwater.env" -}}
{{- $v := .root.Values -}}
- name: HEADWATER_KAFKA
  value: {{ $v.kafka.bootstrapServers | quote }}
- name: HEADWATER_KAFKA_SECURITY_PROTOCOL
  value: {{ $v.kafka.securityProtocol | quote }}
- name: HEADWATER_KAFKA_SASL_MECHANISM
  value: {{ $v.kafka.saslMechanism | quote }}
{{- with $v.kafka.username }}
- name: HEADWATER_KAFKA_USERNAME
  value: {{ . | quote }}
{{- end }}
{{ include "headwater.secretEnv" (dict "root" .root "env" "HEADWATER_KAFKA_PASSWORD" "key" $v.secrets.keys.kafkaPassword "required" false) }}
{{- if .search }}
- name: HEADWATER_SEARCH
  value: {{ $v.search.urls | quote }}
{{- with $v.search.username }}
- name: HEADWATER_SEARCH_USERNAME
  value: {{ . | quote }}
{{- end }}
{{ include "headwater.secretEnv" (dict "root" .root "env" "HEADWATER_SEARCH_PASSWORD" "key" $v.secrets.keys.searchPassword "required" false) }}
{{ include "headwater.secretEnv" (dict "root" .root "env" "HEADWATER_SEARCH_API_KEY" "key" $v.secrets.keys.searchApiKey "required" false) }}
{{- end }}
{{ include "headwater.secretEnv" (dict "root" .root "env" "HEADWATER_SECRETS_KEY" "key" $v.secrets.keys.secretsKey "required" false) }}
- name: HEADWATER_PARTITIONS
  value: {{ $v.partitions | quote }}
- name: HEADWATER_REPLICATION_FACTOR
  value: {{ $v.replicationFactor | quote }}
- name: HEADWATER_ENV
  value: {{ $v.environment | quote }}
- name: HEADWATER_WORKER_ID
  value: {{ $v.workerId | quote }}
- name: HEADWATER_METRICS_HOST
  value: "0.0.0.0"
- name: HEADWATER_COLLECTOR_METRICS_PORT
  value: {{ $v.metrics.collectorPort | quote }}
- name: HEADWATER_WORKER_METRICS_PORT
  value: {{ $v.metrics.workerPort | quote }}
{{- range $name, $value := $v.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- range $name, $value := .extra }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* What every pod spec shares: (dict "root" $) */}}
{{- define "headwater.podCommon" -}}
automountServiceAccountToken: false
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* /tmp is the one writable place on a read-only root filesystem. */}}
{{- define "headwater.tmpVolume" -}}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "headwater.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}
