{{/* Name prefix of every object: the release name. */}}
{{- define "crowsnest.fullname" -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "crowsnest.labels" -}}
app.kubernetes.io/name: crowsnest
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "crowsnest.selector" -}}
app.kubernetes.io/name: crowsnest
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Whether the store is PostgreSQL (in the chart or external). */}}
{{- define "crowsnest.postgres" -}}
{{- if or .Values.postgresql.enabled .Values.postgresql.externalUrlSecret -}}true{{- end -}}
{{- end -}}

{{/* The container security context every Crowsnest container runs with: it needs no
     privilege at all (it only reads the API and registries and writes its volume). */}}
{{- define "crowsnest.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* CROWSNEST_DATABASE_URL for every process when the store is PostgreSQL. */}}
{{- define "crowsnest.databaseEnv" -}}
{{- if .Values.postgresql.externalUrlSecret }}
- name: CROWSNEST_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgresql.externalUrlSecret }}
      key: url
{{- else if .Values.postgresql.enabled }}
- name: CROWSNEST_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "postgresql.passwordSecret is required when postgresql.enabled" .Values.postgresql.passwordSecret }}
      key: password
- name: CROWSNEST_DATABASE_URL
  value: {{ printf "postgres://crowsnest:$(CROWSNEST_POSTGRES_PASSWORD)@%s-postgresql:5432/crowsnest" (include "crowsnest.fullname" .) | quote }}
{{- end }}
{{- end -}}

{{/* Volumes with the config file and, when given, the registry credentials. */}}
{{- define "crowsnest.configVolumes" -}}
- name: config
  configMap:
    name: {{ include "crowsnest.fullname" . }}-config
{{- if .Values.credentialsSecret }}
- name: credentials
  secret:
    secretName: {{ .Values.credentialsSecret }}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "crowsnest.configMounts" -}}
- name: config
  mountPath: /etc/crowsnest
  readOnly: true
{{- if .Values.credentialsSecret }}
- name: credentials
  mountPath: /etc/crowsnest/credentials
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}
