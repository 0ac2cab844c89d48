{{/*
ticketeer.name: the chart name, or nameOverride; used in the app.kubernetes.io/name label.
*/}}
{{- define "ticketeer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
ticketeer.fullname: the prefix of every object name, at most 63 characters; the release name alone
when it already contains the chart name.
*/}}
{{- define "ticketeer.fullname" -}}
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

{{/*
ticketeer.chart: chart name and version, for the helm.sh/chart label.
*/}}
{{- define "ticketeer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
ticketeer.labels: the labels every object carries; pass a dict with "context" (the root) and
"component" (operator, privatebin or crds).
*/}}
{{- define "ticketeer.labels" -}}
helm.sh/chart: {{ include "ticketeer.chart" .context }}
{{ include "ticketeer.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
app.kubernetes.io/part-of: ticketeer
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
ticketeer.selectorLabels: the labels that select one component's pods; same arguments as
ticketeer.labels.
*/}}
{{- define "ticketeer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ticketeer.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
ticketeer.serviceAccountName: the operator's ServiceAccount.
*/}}
{{- define "ticketeer.serviceAccountName" -}}
{{- default (include "ticketeer.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/*
ticketeer.image: the operator image reference; a digest wins over the tag, the tag defaults to the
chart's appVersion.
*/}}
{{- define "ticketeer.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
ticketeer.botImage: the image bots run when a TicketBot names none: botImage, else the operator's
own image, which carries the bot binary too.
*/}}
{{- define "ticketeer.botImage" -}}
{{- default (include "ticketeer.image" .) .Values.botImage }}
{{- end }}

{{/*
ticketeer.watchNamespace: the one namespace watched in namespace scope (empty in cluster scope).
*/}}
{{- define "ticketeer.watchNamespace" -}}
{{- if eq .Values.watch.scope "namespace" }}
{{- default .Release.Namespace .Values.watch.namespace }}
{{- end }}
{{- end }}

{{/*
ticketeer.leaderElection: "true" when the operator must hold a Lease (asked for, or more than one
replica), else empty.
*/}}
{{- define "ticketeer.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/*
ticketeer.privatebin.fullname: the name of the PrivateBin objects.
*/}}
{{- define "ticketeer.privatebin.fullname" -}}
{{- printf "%s-privatebin" (include "ticketeer.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
ticketeer.privatebin.image: the PrivateBin image reference; a digest wins over the tag.
*/}}
{{- define "ticketeer.privatebin.image" -}}
{{- with .Values.privatebin.image }}
{{- if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository .tag }}
{{- end }}
{{- end }}
{{- end }}

{{/*
ticketeer.privatebin.internalUrl: the in-cluster URL of the PrivateBin Service.
*/}}
{{- define "ticketeer.privatebin.internalUrl" -}}
{{- printf "http://%s.%s.svc:%d/" (include "ticketeer.privatebin.fullname" .) .Release.Namespace (int .Values.privatebin.service.port) }}
{{- end }}

{{/*
ticketeer.privatebin.url: the URL a TicketBot's spec.privatebin.url should name: externalUrl, else
the in-cluster URL.
*/}}
{{- define "ticketeer.privatebin.url" -}}
{{- default (include "ticketeer.privatebin.internalUrl" .) .Values.privatebin.externalUrl }}
{{- end }}
