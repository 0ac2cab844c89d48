{{/*
ticketeer.privatebin.conf: PrivateBin's conf.php, rendered from the privatebin values.
*/}}
{{- define "ticketeer.privatebin.conf" -}}
;<?php http_response_code(403); /*
; PrivateBin settings rendered by the Ticketeer chart; see
; https://github.com/PrivateBin/PrivateBin/wiki/Configuration
[main]
name = "Ticketeer transcripts"
{{- with .Values.privatebin.externalUrl }}
basepath = {{ . | quote }}
{{- end }}
discussion = false
opendiscussion = false
password = true
fileupload = false
burnafterreadingselected = false
defaultformatter = "markdown"
sizelimit = {{ int64 .Values.privatebin.sizeLimitBytes }}
languageselection = false
icon = "none"

[expire]
default = {{ .Values.privatebin.defaultExpire | quote }}

[expire_options]
5min = 300
10min = 600
1hour = 3600
1day = 86400
1week = 604800
1month = 2592000
1year = 31536000
never = 0

[formatter_options]
plaintext = "Plain Text"
syntaxhighlighting = "Source Code"
markdown = "Markdown"

[traffic]
limit = {{ int64 .Values.privatebin.trafficLimiter.limitSeconds }}
{{- with .Values.privatebin.trafficLimiter.exempted }}
exempted = {{ join "," . | quote }}
{{- end }}
{{- with .Values.privatebin.trafficLimiter.header }}
header = {{ . | quote }}
{{- end }}

[purge]
limit = 300
batchsize = 10

[model]
class = Filesystem

[model_options]
dir = PATH "data"
{{- end }}
