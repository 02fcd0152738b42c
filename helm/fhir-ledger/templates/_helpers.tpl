{{- define "fhir-ledger.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Short enough that "-<account>" still fits a 63-character name. */}}
{{- define "fhir-ledger.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains (include "fhir-ledger.name" .) .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "fhir-ledger.name" .) | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "fhir-ledger.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fhir-ledger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fhir-ledger.labels" -}}
{{ include "fhir-ledger.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "fhir-ledger.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The Secret of one kind (keyring, ledgerKeys, redisPasswords, apiTokenKeys): the named existing
one, else the one this chart creates from its values. Empty when neither is given.
*/}}
{{- define "fhir-ledger.secretName" -}}
{{- $s := index .root.Values.secrets .kind -}}
{{- if $s.existingSecret -}}
{{- $s.existingSecret -}}
{{- else if $s.values -}}
{{- printf "%s-%s" (include "fhir-ledger.fullname" .root) (kebabcase .kind) -}}
{{- end -}}
{{- end -}}

{{/* Where the pod sees things; the rendered gateway.json names these paths. */}}
{{- define "fhir-ledger.configDir" -}}/etc/fhir-ledger/config{{- end -}}
{{- define "fhir-ledger.keyringDir" -}}/run/fhir-ledger/keyring{{- end -}}
{{- define "fhir-ledger.ledgerKeyFile" -}}/etc/fhir-ledger/secrets/ledger/private-key{{- end -}}
{{- define "fhir-ledger.apiKeysDir" -}}/etc/fhir-ledger/secrets/api-keys{{- end -}}
{{- define "fhir-ledger.apiTlsDir" -}}/etc/fhir-ledger/secrets/api-tls{{- end -}}

{{/* A mapping file's ConfigMap key: keys may not hold "/". */}}
{{- define "fhir-ledger.mappingKey" -}}
{{- printf "%s__%s" (index . 0) (index . 1 | replace "/" "__") -}}
{{- end -}}

{{/*
gateway.json as the pod runs it: .Values.gatewayConfig (generated from config/), with what the
cluster decides put over it. Whole objects are replaced rather than merged where a leftover
from the generated file would be wrong here (the demo's Redis regions, its key file paths).
*/}}
{{- define "fhir-ledger.gatewayJson" -}}
{{- $v := .Values -}}
{{- $cfg := omit (deepCopy $v.gatewayConfig) "comment" -}}
{{- /* Helm keeps a null from one values file over another's value: null removes a section
here (gatewayConfig.policy: null runs without a policy bundle). */ -}}
{{- range $section, $value := deepCopy $cfg -}}
{{- if kindIs "invalid" $value -}}
{{- $_ := unset $cfg $section -}}
{{- end -}}
{{- end -}}

{{- $service := deepCopy (default (dict) $cfg.service) -}}
{{- $_ := set $service "healthPort" $v.health.port -}}
{{- $_ := set $cfg "service" $service -}}

{{- $kafka := deepCopy (default (dict) $cfg.kafka) -}}
{{- $_ := set $kafka "bootstrapServers" $v.kafka.bootstrapServers -}}
{{- $_ := set $kafka "groupId" $v.kafka.groupId -}}
{{- $_ := set $cfg "kafka" $kafka -}}

{{- $regions := dict -}}
{{- range $name, $region := $v.redis.regions -}}
{{- $_ := set $regions $name (omit $region "passwordKey") -}}
{{- end -}}
{{- $_ := set $cfg "redis" (dict "regions" $regions) -}}

{{- $ledger := deepCopy (default (dict) $cfg.ledger) -}}
{{- $_ := set $ledger "rpcUrl" $v.ledger.rpcUrl -}}
{{- if $v.ledger.contract -}}
{{- $_ := set $ledger "contract" $v.ledger.contract -}}
{{- end -}}
{{- $_ := set $ledger "privateKeyFile" (include "fhir-ledger.ledgerKeyFile" .) -}}
{{- $_ := set $cfg "ledger" $ledger -}}

{{- $_ := set $cfg "keys" (dict "keyringFile" (printf "%s/keyring.json" (include "fhir-ledger.keyringDir" .))) -}}

{{- $mappings := deepCopy (default (dict) $cfg.mappings) -}}
{{- $_ := set $mappings "dir" "mappings" -}}
{{- $_ := set $cfg "mappings" $mappings -}}

{{- /* Helm 3.6's templates evaluate every operand of and/or: guards are nested ifs. */ -}}
{{- $bundles := default (dict) $v.policyBundles -}}
{{- range $field := list "bundle" "shadow" -}}
{{- $file := index (default (dict) $cfg.policy) $field -}}
{{- if $file -}}
{{- $name := trimPrefix "policies/" $file -}}
{{- if not (index $bundles $name) -}}
{{- fail (printf "gatewayConfig.policy.%s is %q, but policyBundles has no such file (scripts/helm-values puts the bundles the config names there)" $field $file) -}}
{{- end -}}
{{- /* The gateway refuses to start with a region a bundle stores in but no Redis for it:
say so at install rather than in a crash loop. */ -}}
{{- $bundle := fromJson (index $bundles $name) -}}
{{- $named := list -}}
{{- if $bundle.defaultRegion -}}
{{- $named = append $named $bundle.defaultRegion -}}
{{- end -}}
{{- range $bundle.jurisdictions -}}
{{- if .region -}}
{{- $named = append $named .region -}}
{{- end -}}
{{- end -}}
{{- range $region := $named -}}
{{- if not (hasKey $v.redis.regions $region) -}}
{{- fail (printf "policy %s stores data in region %q: add it to redis.regions" $file $region) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $defaultRegion := default "default" (default (dict) $cfg.pipeline).defaultRegion -}}
{{- if not (hasKey $v.redis.regions $defaultRegion) -}}
{{- fail (printf "redis.regions has no %q, the pipeline's default region (gatewayConfig.pipeline.defaultRegion)" $defaultRegion) -}}
{{- end -}}

{{- if $v.api.enabled -}}
{{- $api := omit (deepCopy (default (dict) $cfg.api)) "keys" "jwksFile" "tls" -}}
{{- $_ := set $api "port" $v.api.port -}}
{{- $_ := set $api "bind" "0.0.0.0" -}}
{{- $_ := set $api "audience" (required "api.audience is required when api.enabled: the API's public base URL" $v.api.audience) -}}
{{- if not $api.clients -}}
{{- fail "gatewayConfig.api.clients is empty: the API would refuse every caller (config/README.md, api.clients)" -}}
{{- end -}}
{{- $keysDir := include "fhir-ledger.apiKeysDir" . -}}
{{- if $v.api.tokenKeys -}}
{{- $keys := list -}}
{{- range $v.api.tokenKeys -}}
{{- $keys = append $keys (dict "kid" .kid "alg" .alg "publicKeyFile" (printf "%s/%s" $keysDir .file)) -}}
{{- end -}}
{{- $_ := set $api "keys" $keys -}}
{{- end -}}
{{- if $v.api.jwksFile -}}
{{- $_ := set $api "jwksFile" (printf "%s/%s" $keysDir $v.api.jwksFile) -}}
{{- end -}}
{{- if $v.api.jwksUrl -}}
{{- $_ := set $api "jwksUrl" $v.api.jwksUrl -}}
{{- end -}}
{{- if not (or $api.keys $api.jwksFile $api.jwksUrl) -}}
{{- fail "the API needs token keys: api.tokenKeys, api.jwksFile or api.jwksUrl" -}}
{{- end -}}
{{- if and (or $api.keys $api.jwksFile) (not (include "fhir-ledger.secretName" (dict "root" . "kind" "apiTokenKeys"))) -}}
{{- fail "api.tokenKeys and api.jwksFile name files of secrets.apiTokenKeys, which is not set" -}}
{{- end -}}
{{- if $v.api.tls.secretName -}}
{{- $tlsDir := include "fhir-ledger.apiTlsDir" . -}}
{{- $tls := dict "certificateFile" (printf "%s/tls.crt" $tlsDir) "privateKeyFile" (printf "%s/tls.key" $tlsDir) "minVersion" $v.api.tls.minVersion -}}
{{- if $v.api.tls.clientCa -}}
{{- $_ := set $tls "clientCaFile" (printf "%s/ca.crt" $tlsDir) -}}
{{- end -}}
{{- $_ := set $api "tls" $tls -}}
{{- end -}}
{{- $_ := set $cfg "api" $api -}}
{{- else -}}
{{- $_ := unset $cfg "api" -}}
{{- end -}}

{{- toPrettyJson $cfg -}}
{{- end -}}
