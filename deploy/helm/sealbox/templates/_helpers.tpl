{{- define "sealbox.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "sealbox.labels" -}}
app.kubernetes.io/name: sealbox
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- define "sealbox.selector" -}}
app.kubernetes.io/name: sealbox
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
