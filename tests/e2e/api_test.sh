#!/usr/bin/env bash
# e2e: the participants' HTTP API (/api), with curl the way a user calls it, against the
# fhir-ledger binary on local services (scripts/services: Redis per region, anvil, the broker)
# with the shipped policy bundle. The sample events are ingested; `fhir-ledger serve` then runs
# with the API on the port scripts/services picked, and tokens are minted with the run's dev
# key (`fhir-ledger token`). Participants: a hospital registered in DE, a clinic in the US.
#   1. a permitted read equals the normalized resource (the operator's `read`), with its ETag
#      and the ledger transaction and content hash a client can check on chain; _history/1 too;
#      GET /ledger/... verifies it;
#   2. no grant -> 403; a grant the policy refuses at read time (DE patient -> US without
#      consent) -> 403 naming the policy; revoked -> 403; expired -> 403;
#   3. permitted with obligations (US patient -> DE for treatment) -> identifiers pseudonymized;
#      $everything: a searchset of what the participant may read of one patient;
#   4. a blob altered in Redis -> 409, no data; erased -> 410; unknown -> 404;
#   5. no token, an expired one, another audience, an unknown key -> 401; a scope without the
#      type -> 403; malformed type, id and version, oversized headers, a body -> 400;
#   6. a Consent over HTTP: dry run, apply, re-delivery; refused bodies and tokens;
#   7. the erasure over HTTP (scope fhir-ledger/admin): then 410; the tools' dry runs
#      (POST /policy/$evaluate, /mappings/$preview, scope fhir-ledger/tools);
#   8. /metrics counts the API's decisions;
#   and the gateway is still serving after all of it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

# The shipped configuration with absolute paths and the probes' port (for /metrics).
health_port="$(fl_free_port)"
config="$run/gateway.json"
python3 - "$FL_ROOT/config/gateway.json" "$config" "$FL_ROOT/config" "$health_port" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for section, key in (("keys", "keyringFile"), ("mappings", "dir"), ("policy", "bundle")):
    c[section][key] = sys.argv[3] + "/" + c[section][key]
c.setdefault("service", {})["healthPort"] = int(sys.argv[4])
json.dump(c, open(sys.argv[2], "w"))
PY
"$FL_BIN" serve --config "$config" --until-caught-up >"$run/ingest.json" 2>"$run/ingest.log" || {
  cat "$run/ingest.log" >&2
  fl_die "the gateway failed to ingest the samples"
}

hospital=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC # anvil's third account, eu-hospital
clinic=0x70997970C51812dc3A010C7d01b50e0d17dc79C8   # anvil's second account, us-clinic
"$FL_BIN" ledger participants set "$hospital" --jurisdiction DE --config "$config" >/dev/null
"$FL_BIN" ledger participants set "$clinic" --jurisdiction US --config "$config" >/dev/null
grant() {  # grant PATIENT ADDRESS [--consent]
  "$FL_BIN" ledger grant --patient "$1" --to "$2" --purpose TREAT "${@:3}" --config "$config" \
    >"$run/grant.out" 2>"$run/grant.err" || fl_die "grant $1 to $2: $(cat "$run/grant.err")"
}
grant Patient/pat-de-0001 "$hospital"
grant Patient/pat-us-0003 "$hospital"
grant Patient/pat-fr-0002 "$hospital"
grant Patient/pat-de-0001 "$clinic" --consent

"$FL_BIN" serve --config "$config" >"$run/serve.json" 2>"$run/serve.log" &
gateway=$!
trap 'kill "$gateway" 2>/dev/null || true; "$FL_ROOT/scripts/services" stop "$run"' EXIT
base="http://127.0.0.1:$FL_API_PORT"
fl_wait_api "$run/serve.log" "$gateway"

token() { "$FL_BIN" token --client "$@"; }
hospital_token="$(token eu-hospital --scope 'system/*.rs')"
clinic_token="$(token us-clinic --scope 'system/Patient.read system/Observation.rs')"

# call NAME EXPECTED_STATUS CURL_ARGS...: the body in $run/NAME.json, headers in NAME.headers.
call() {
  local name="$1" expected="$2" status
  shift 2
  status="$(curl -s -m 10 -o "$run/$name.json" -D "$run/$name.headers" -w '%{http_code}' "$@")" ||
    true
  [ "$status" = "$expected" ] ||
    fl_die "$name: HTTP $status, expected $expected: $(head -c 600 "$run/$name.json")"
}
# outcome NAME CODE [TEXT]: the body is an OperationOutcome with that issue code (and text).
outcome() {
  python3 - "$run/$1.json" "$2" "${3:-}" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert o["resourceType"] == "OperationOutcome", o
issue = o["issue"][0]
assert issue["severity"] == "error" and issue["code"] == sys.argv[2], issue
assert sys.argv[3] in issue["diagnostics"], issue
PY
}
header() { tr -d '\r' <"$run/$1.headers" | awk -v h="$(tr 'A-Z' 'a-z' <<<"$2")" -F': ' 'tolower($1) == h {print $2}'; }

# 1. Permitted: the hospital reads the German patient; the body is the stored resource.
call read 200 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-de-0001"
"$FL_BIN" read Patient/pat-de-0001 --config "$config" >"$run/operator-read.json"
python3 - "$run/read.json" "$run/operator-read.json" <<'PY'
import json, sys
assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2])), "the read differs"
PY
[ "$(header read content-type)" = "application/fhir+json" ] || fl_die "content type: $(header read content-type)"
[ "$(header read etag)" = 'W/"1"' ] || fl_die "etag: $(header read etag)"
tx="$(header read x-ledger-transaction)"
hash="$(header read x-ledger-content-hash)"
[[ "$tx" =~ ^0x[0-9a-f]{64}$ && "$hash" =~ ^0x[0-9a-f]{64}$ ]] || fl_die "ledger headers: $tx $hash"
# A client checks the answer against the chain itself: the transaction was mined, and the
# contract holds the content hash for the resource key and version.
curl -s -X POST -H 'Content-Type: application/json' "$FL_LEDGER_RPC_URL" --data \
  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getTransactionReceipt\",\"params\":[\"$tx\"]}" |
  grep -q '"status":"0x1"' || fl_die "the named transaction is not mined with success"
on_chain="$("$FL_CAST" call --rpc-url "$FL_LEDGER_RPC_URL" "$FL_LEDGER_CONTRACT" \
  'contentHashOf(bytes32,uint64)(bytes32)' "$(header read x-ledger-resource-key)" 1)"
[ "$on_chain" = "$hash" ] || fl_die "the contract holds $on_chain for the resource, the API said $hash"
call history 200 -H "Authorization: Bearer $hospital_token" \
  "$base/fhir/Patient/pat-de-0001/_history/1"
cmp -s "$run/read.json" "$run/history.json" || fl_die "_history/1 differs from the latest"
call ledger 200 -H "Authorization: Bearer $hospital_token" "$base/ledger/Patient/pat-de-0001"
python3 - "$run/ledger.json" "$hash" "$tx" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert v["verified"] is True and v["contentHash"] == sys.argv[2] and v["tx"] == sys.argv[3], v
PY
echo "ok: a permitted read is the stored resource, names its transaction and hash, verifies"

# 2. Refused by the ledger or the policy.
call no-grant 403 -H "Authorization: Bearer $clinic_token" "$base/fhir/Patient/pat-us-0003"
outcome no-grant forbidden "no active grant"
call policy-denied 403 -H "Authorization: Bearer $clinic_token" "$base/fhir/Patient/pat-de-0001"
outcome policy-denied forbidden "of policy 0x"
call purpose-denied 403 -H "Authorization: Bearer $hospital_token" -H "X-Purpose-Of-Use: HMARKT" \
  "$base/fhir/Patient/pat-de-0001"
outcome purpose-denied forbidden "no active grant"
"$FL_BIN" ledger revoke --patient Patient/pat-fr-0002 --to "$hospital" --purpose TREAT \
  --config "$config" >/dev/null
call revoked 403 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-fr-0002"
outcome revoked forbidden "no active grant"
# A grant that expires: permitted until its expiry, 403 after it (anvil mines a block on demand
# here; a real chain's blocks move its clock on their own).
"$FL_BIN" ledger grant --patient Patient/pat-es-0009 --to "$hospital" --purpose TREAT \
  --expires-at "$(($(date +%s) + 6))" --config "$config" >/dev/null 2>&1 || fl_die "a short grant failed"
call before-expiry 200 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-es-0009"
deadline=$((SECONDS + 30)) status=200
while [ "$status" = 200 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fl_die "an expired grant still lets the hospital read"
  sleep 1
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$FL_LEDGER_RPC_URL" \
    --data '{"jsonrpc":"2.0","id":1,"method":"evm_mine","params":[]}'
  status="$(curl -s -o "$run/expired-grant.json" -w '%{http_code}' \
    -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-es-0009")"
done
[ "$status" = 403 ] || fl_die "after expiry: HTTP $status"
outcome expired-grant forbidden "no active grant"
echo "ok: no grant, a policy denial, another purpose, a revoked and an expired grant are 403"

# 3. Obligations: a US patient's data goes abroad for treatment with identifiers pseudonymized.
call pseudonymized 200 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-us-0003"
python3 - "$run/pseudonymized.json" "$FL_ROOT/config/samples/events/013-patient-us-0003.json" <<'PY'
import json, sys
released, source = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
values = [i["value"] for i in source["identifier"]]
assert values and all(v not in json.dumps(released) for v in values), released
PY
echo "ok: a read with obligations releases the identifiers pseudonymized"

# $everything: what the hospital may read of the US patient, as a searchset Bundle; a token
# scoped to Patient only gets the Patient and is told how many were withheld.
call everything 200 -H "Authorization: Bearer $hospital_token" \
  "$base/fhir/Patient/pat-us-0003/\$everything"
python3 - "$run/everything.json" <<'PY'
import json, sys
bundle = json.load(open(sys.argv[1]))
assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset", bundle
types = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
# The sample patient's Patient, Encounter, two Observations, Condition and Immunization.
assert bundle["total"] == len(types) >= 6, (bundle["total"], types)
assert {"Patient", "Encounter", "Observation", "Condition", "Immunization"} <= set(types), types
PY
call everything-patient-scope 200 \
  -H "Authorization: Bearer $(token eu-hospital --scope system/Patient.rs)" \
  "$base/fhir/Patient/pat-us-0003/\$everything"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert [e["resource"]["resourceType"] for e in b["entry"]] == ["Patient"], b' \
  "$run/everything-patient-scope.json"
[ "$(header everything-patient-scope x-withheld-resources)" -ge 1 ] || fl_die "nothing withheld"
call everything-none 200 -H "Authorization: Bearer $clinic_token" \
  "$base/fhir/Patient/pat-us-0003/\$everything"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert b["total"] == 0 and b["entry"] == [], b' \
  "$run/everything-none.json"
echo "ok: \$everything is a searchset of what the participant may read, scope and grant applied"

# 4. Integrity, erasure, unknown.
read -r region content <<<"$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v["region"], v["contentHash"][2:])' "$run/ledger.json")"
region_port_var="FL_REDIS_$(tr 'a-z-' 'A-Z_' <<<"$region")_PORT"
redis-cli -p "${!region_port_var}" SETRANGE "blob:$content" 40 "tampered" >/dev/null
call tampered 409 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-de-0001"
outcome tampered conflict
call ledger-tampered 200 -H "Authorization: Bearer $hospital_token" "$base/ledger/Patient/pat-de-0001"
grep -q '"verified":false' "$run/ledger-tampered.json" || fl_die "ledger after tampering: $(cat "$run/ledger-tampered.json")"
grant Patient/pat-fr-0002 "$hospital"
call before-erasure 200 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-fr-0002"
"$FL_BIN" erase Patient/pat-fr-0002 --reason "api test" --config "$config" >/dev/null
call erased 410 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-fr-0002"
outcome erased deleted
call unknown 404 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/nobody"
outcome unknown not-found
echo "ok: altered blob 409 (and verify says so), erased 410, unknown 404"

# 5. Authentication and malformed requests.
call no-token 401 "$base/fhir/Patient/pat-us-0003"
outcome no-token login
grep -qi '^WWW-Authenticate: Bearer' "$run/no-token.headers" || fl_die "no WWW-Authenticate"
call expired 401 -H "Authorization: Bearer $(token eu-hospital --expires-in -600)" \
  "$base/fhir/Patient/pat-us-0003"
outcome expired login expired
call audience 401 -H "Authorization: Bearer $(token eu-hospital --audience https://elsewhere/fhir)" \
  "$base/fhir/Patient/pat-us-0003"
outcome audience login aud
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$run/other-key.pem" 2>/dev/null
call unknown-key 401 -H "Authorization: Bearer $(token eu-hospital --key "$run/other-key.pem")" \
  "$base/fhir/Patient/pat-us-0003"
outcome unknown-key login signature
call unknown-kid 401 -H "Authorization: Bearer $(token eu-hospital --kid other)" \
  "$base/fhir/Patient/pat-us-0003"
outcome unknown-kid login "unknown key"
call garbage 401 -H "Authorization: Bearer not.a.jwt" "$base/fhir/Patient/pat-us-0003"
call unmapped 403 -H "Authorization: Bearer $(token stranger)" "$base/fhir/Patient/pat-us-0003"
call scope 403 -H "Authorization: Bearer $clinic_token" "$base/fhir/Condition/cond-us-0003-1"
outcome scope forbidden scope
call bad-type 400 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patients/pat-us-0003"
call bad-id 400 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat%24us"
call bad-version 400 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-us-0003/_history/x"
call bad-purpose 400 -H "Authorization: Bearer $hospital_token" -H "X-Purpose-Of-Use: treat me" \
  "$base/fhir/Patient/pat-us-0003"
call big-header 400 -H "Authorization: Bearer $hospital_token" \
  -H "X-Padding: $(head -c 20000 /dev/zero | tr '\0' a)" "$base/fhir/Patient/pat-us-0003"
head -c 2000000 /dev/zero >"$run/body.bin"
call body 400 -H "Authorization: Bearer $hospital_token" -X GET --data-binary "@$run/body.bin" \
  "$base/fhir/Patient/pat-us-0003"
[ "$(header body connection | tr A-Z a-z)" = close ] || fl_die "a refused body left the connection open"
call method 405 -X DELETE -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-us-0003"
echo "ok: bad tokens 401, an uncovered scope 403, malformed requests 400"

# 6. A Consent over HTTP: the dry run shows the grant, POST applies it, the read is permitted.
consent_token="$(token eu-hospital --scope 'system/*.rs system/Consent.c')"
cat >"$run/consent-in.json" <<'JSON'
{"resourceType":"Consent","id":"api-consent-it-0008","status":"active",
 "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
 "patient":{"reference":"Patient/pat-it-0008"},
 "provision":{"actor":[{"reference":{"reference":"Organization/eu-hospital"}}],"purpose":[{"code":"TREAT"}]}}
JSON
post() {  # post NAME EXPECTED_STATUS PATH TOKEN [CURL_ARGS...]
  local name="$1" expected="$2" path="$3" bearer="$4"
  shift 4
  call "$name" "$expected" -X POST -H "Authorization: Bearer $bearer" \
    -H 'Content-Type: application/fhir+json' "$@" "$base$path"
}
call before-consent 403 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-it-0008"
post consent-dry 200 '/fhir/Consent/$dry-run' "$consent_token" --data-binary "@$run/consent-in.json"
grep -q '"kind":"added"' "$run/consent-dry.json" && ! grep -q '"tx"' "$run/consent-dry.json" ||
  fl_die "dry run: $(cat "$run/consent-dry.json")"
call still-no-grant 403 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-it-0008"
post consent-read-scope 403 /fhir/Consent "$hospital_token" --data-binary "@$run/consent-in.json"
post consent 200 /fhir/Consent "$consent_token" --data-binary "@$run/consent-in.json"
grep -q '"kind":"added".*"tx":"0x' "$run/consent.json" ||
  fl_die "apply: $(cat "$run/consent.json")"
call after-consent 200 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-it-0008"
post consent-again 200 /fhir/Consent "$consent_token" --data-binary "@$run/consent-in.json"
grep -q '"unchanged":true' "$run/consent-again.json" || fl_die "again: $(cat "$run/consent-again.json")"
call consent-type 415 -X POST -H "Authorization: Bearer $consent_token" \
  -H 'Content-Type: text/plain' --data-binary "@$run/consent-in.json" "$base/fhir/Consent"
post consent-big 413 /fhir/Consent "$consent_token" --data-binary "@$run/body.bin"
[ "$(header consent-big connection | tr A-Z a-z)" = close ] || fl_die "an unread body left the connection open"
post consent-bad 400 /fhir/Consent "$consent_token" --data-binary '{"resourceType":"Patient"}'
post consent-anonymous 401 /fhir/Consent "" --data-binary "@$run/consent-in.json"
# Consent at read time: a Spanish patient's data goes to the US clinic only with consent (the
# bundle's rule, as for the German patient of section 2); the patient's Consent naming the
# clinic makes the grant and is the consent the policy sees when the clinic reads.
cat >"$run/consent-es-in.json" <<'JSON'
{"resourceType":"Consent","id":"api-consent-es-0009","status":"active",
 "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
 "patient":{"reference":"Patient/pat-es-0009"},
 "provision":{"actor":[{"reference":{"reference":"Organization/us-clinic"}}],"purpose":[{"code":"TREAT"}]}}
JSON
call consent-before 403 -H "Authorization: Bearer $clinic_token" "$base/fhir/Patient/pat-es-0009"
post consent-es 200 /fhir/Consent "$consent_token" --data-binary "@$run/consent-es-in.json"
call consent-read 200 -H "Authorization: Bearer $clinic_token" "$base/fhir/Patient/pat-es-0009"
sed 's/"status":"active"/"status":"inactive"/; s/"id":"api-consent-es-0009"/&,"meta":{"versionId":"2"}/' \
  "$run/consent-es-in.json" >"$run/consent-es-in-2.json"
post consent-es-off 200 /fhir/Consent "$consent_token" --data-binary "@$run/consent-es-in-2.json"
grep -q '"kind":"revoked"' "$run/consent-es-off.json" || fl_die "deactivated: $(cat "$run/consent-es-off.json")"
call consent-withdrawn 403 -H "Authorization: Bearer $clinic_token" "$base/fhir/Patient/pat-es-0009"
echo "ok: a Consent over HTTP: dry run, apply (then the read is permitted), again a no-op; 415, 413, 400, 401, 403"
echo "ok: the patient's Consent is the consent the policy sees at read time; withdrawn, the read is refused again"

# 7. The erasure over HTTP, and the tools' dry runs.
admin_token="$(token eu-hospital --scope fhir-ledger/admin)"
grant Patient/pat-nl-0007 "$hospital"
call before-api-erasure 200 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-nl-0007"
post erase-scope 403 '/fhir/Patient/pat-nl-0007/$erase' "$hospital_token"
post erase-bad 400 '/fhir/Patient/pat-nl-0007/$erase' "$admin_token" --data-binary '{"resourceType":"Patient"}'
post erase-bad-id 400 '/fhir/Patient/pat$de/$erase' "$admin_token"
post erase 200 '/fhir/Patient/pat-nl-0007/$erase' "$admin_token" \
  --data-binary '{"resourceType":"Parameters","parameter":[{"name":"reason","valueString":"patient request 42"}]}'
python3 - "$run/erase.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["tx"].startswith("0x") and r["block"] > 0, r
assert "destroyed" in r["regions"].values(), r
assert r["auditEvent"]["resourceType"] == "AuditEvent" and "patient request 42" in json.dumps(r["auditEvent"]), r
PY
call after-api-erasure 410 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-nl-0007"
post erase-again 200 '/fhir/Patient/pat-nl-0007/$erase' "$admin_token"
tools_token="$(token eu-hospital --scope fhir-ledger/tools)"
post evaluate 200 '/policy/$evaluate' "$tools_token" \
  --data-binary '{"stage":"read","resourceType":"Observation","source":"DE","destination":"US","purpose":"TREAT"}'
python3 - "$run/evaluate.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["effect"] == "deny" and r["stage"] == "read" and r["policyHash"].startswith("0x"), r
assert r["trace"] and all("rule" in t and "reasons" in t for t in r["trace"]), r
PY
post evaluate-consent 200 '/policy/$evaluate' "$tools_token" \
  --data-binary '{"stage":"read","resourceType":"Observation","source":"DE","destination":"US","purpose":"TREAT","consent":true}'
grep -q '"effect":"permit"' "$run/evaluate-consent.json" || fl_die "evaluate with consent: $(cat "$run/evaluate-consent.json")"
post evaluate-bad 400 '/policy/$evaluate' "$tools_token" --data-binary '{"stage":"later"}'
outcome evaluate-bad invalid /stage
post evaluate-scope 403 '/policy/$evaluate' "$hospital_token" --data-binary '{"stage":"read"}'
post preview 200 '/mappings/$preview' "$tools_token" -H "X-FHIR-Source: acme-lab" \
  --data-binary "@$FL_ROOT/config/samples/events/067-lab-acme-us-0003-1.json"
python3 - "$run/preview.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["mappingSet"]["source"] == "acme-lab" and r["ok"] and "result" in r, r
assert any(rule["changes"] for res in r["resources"] for rule in res.get("rules", [])), r
PY
post preview-unknown 404 '/mappings/$preview' "$tools_token" -H "X-FHIR-Source: no-such-system" \
  --data-binary '{"resourceType":"Patient"}'
echo "ok: erasure over HTTP (admin scope) then 410; policy \$evaluate and mappings \$preview as JSON"

# 8. /metrics counts the API's decisions.
curl -sf "http://127.0.0.1:$health_port/metrics" >"$run/metrics.txt" || fl_die "no /metrics"
grep -q '^fhir_ledger_access_decisions_total{.*decision="permit".*kind="read".*} [1-9]' "$run/metrics.txt" ||
  grep -q '^fhir_ledger_access_decisions_total{.*kind="read".*decision="permit".*} [1-9]' "$run/metrics.txt" ||
  fl_die "no permitted reads counted: $(grep access_decisions "$run/metrics.txt")"
grep -q 'fhir_ledger_access_decisions_total{.*decision="erased".*} 2' "$run/metrics.txt" ||
  grep -q 'fhir_ledger_access_decisions_total{.*kind="erase".*decision="erased".*} 2' "$run/metrics.txt" ||
  fl_die "erasures not counted: $(grep access_decisions "$run/metrics.txt")"
echo "ok: /metrics counts reads and erasures by decision"

kill -0 "$gateway" 2>/dev/null || fl_die "the gateway did not survive the requests"
call still 200 -H "Authorization: Bearer $hospital_token" "$base/fhir/Patient/pat-us-0003"
grep -q "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["identifier"][0]["value"])' "$FL_ROOT/config/samples/events/013-patient-us-0003.json")" "$run/serve.log" &&
  fl_die "an identifier reached the gateway's log"
echo "ok: the gateway still serves, and its log holds no identifier"
