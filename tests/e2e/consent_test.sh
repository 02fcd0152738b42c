#!/usr/bin/env bash
# e2e: FHIR Consent resources turned into ledger grants with `fhir-ledger consent`, checked on
# chain with `cast call canRead` the way an auditor would. Two R4 examples from
# shared/corpora/fhir-examples/consent (notAuthor and signature), adapted to the demo's patients
# and participants (and signature's period moved into the future), and three Consents of our own:
# purpose-limited, time-limited, a deny inside a permit. For each: the dry run prints the diff
# and sends nothing; apply grants; applying it again changes nothing; deactivating revokes.
# Last, a Consent published on the Kafka topic: `serve` anchors it and applies it the same way;
# published again it changes nothing; a new version with status inactive revokes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

config="$FL_ROOT/config/gateway.json"
"$FL_BIN" serve --config "$config" --until-caught-up >"$run/ingest.json" 2>"$run/ingest.log" || {
  cat "$run/ingest.log" >&2
  fl_die "the gateway failed to ingest the samples"
}
hospital=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC # eu-hospital in /consent/actors
clinic=0x70997970C51812dc3A010C7d01b50e0d17dc79C8   # us-clinic
"$FL_BIN" ledger participants set "$hospital" --jurisdiction DE --config "$config" >/dev/null
"$FL_BIN" ledger participants set "$clinic" --jurisdiction US --config "$config" >/dev/null

corpus="$FL_ROOT/tests/data/corpora/fhir-examples/consent"
# adapt SOURCE OUT PYTHON: the corpus Consent with the edits in PYTHON applied to `c`.
adapt() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"))
PY
}
# can_read PATIENT_KEY ADDRESS PURPOSE: "true" or "false", from the contract itself.
can_read() {
  "$FL_CAST" call --rpc-url "$FL_LEDGER_RPC_URL" "$FL_LEDGER_CONTRACT" \
    'canRead(bytes32,address,bytes32)(bool)' "$1" "$2" "$("$FL_CAST" format-bytes32-string "$3")"
}
consent() {  # consent dry-run|apply FILE NAME: the report in $run/NAME.json
  "$FL_BIN" consent "$1" "$2" --config "$config" >"$run/$3.json" 2>"$run/$3.err" ||
    fl_die "consent $1 $2: $(cat "$run/$3.err")"
}
# changes NAME: "kind participant purpose" per change, sorted.
changes() {
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["changes"]:
    print(c["kind"], c.get("participant", "-").lower(), c.get("purpose", "-"))' "$run/$1.json" | sort
}
key() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["patientKey"])' "$run/$1.json"; }
expect() {  # expect WHAT ACTUAL EXPECTED
  [ "$2" = "$3" ] || fl_die "$1: got [$2], expected [$3]"
}
lower() { tr 'A-Z' 'a-z' <<<"$1"; }
h="$(lower "$hospital")" c="$(lower "$clinic")"

# 1. notAuthor: "Organization/f001" may see the record; here the EU hospital, a DE patient.
adapt "$corpus/Consent-consent-example-notAuthor.json" "$run/not-author.json" '
c["patient"] = {"reference": "Patient/pat-de-0001"}
c["provision"]["actor"][0]["reference"] = {"reference": "Organization/eu-hospital"}'
consent dry-run "$run/not-author.json" dry1
expect "notAuthor dry run" "$(changes dry1)" "added $h TREAT"
grep -q '"tx"' "$run/dry1.json" && fl_die "a dry run sent a transaction"
patient="$(key dry1)"
expect "no grant before apply" "$(can_read "$patient" "$hospital" TREAT)" false
consent apply "$run/not-author.json" apply1
expect "notAuthor applied" "$(changes apply1)" "added $h TREAT"
expect "canRead after apply" "$(can_read "$patient" "$hospital" TREAT)" true
consent apply "$run/not-author.json" again1
grep -q '"unchanged":true' "$run/again1.json" || fl_die "re-applying changed something: $(cat "$run/again1.json")"
echo "ok: notAuthor (adapted): the dry run shows the grant and sends nothing; apply grants; again is a no-op"

# 2. signature: a permit for Practitioner/13 with a narrowed nested permit; here the US clinic,
#    a French patient, the period moved to end in 2030. The policy caps EU -> US at 30 days.
adapt "$corpus/Consent-consent-example-signature.json" "$run/signature.json" '
c["patient"] = {"reference": "Patient/pat-fr-0002"}
c["performer"] = [{"reference": "Patient/pat-fr-0002"}]
c["provision"]["period"] = {"start": "2020-01-01", "end": "2030-12-31"}
c["provision"]["actor"][0]["reference"] = {"reference": "Organization/us-clinic"}'
consent dry-run "$run/signature.json" dry2
expect "signature dry run" "$(changes dry2)" "$(printf 'added %s TREAT\nrefused - TREAT' "$c")"
consent apply "$run/signature.json" apply2
patient2="$(key apply2)"
expect "canRead signature" "$(can_read "$patient2" "$clinic" TREAT)" true
python3 - "$run/apply2.json" <<'PY'
import json, sys, time
r = json.load(open(sys.argv[1]))
added = next(c for c in r["changes"] if c["kind"] == "added")
assert added["expiresAt"] <= time.time() + 30 * 86400 + 60, added  # the policy's 30 days
refused = next(c for c in r["changes"] if c["kind"] == "refused")
assert "narrowed to class, code" in refused["reason"], refused
PY
echo "ok: signature (adapted): the US clinic granted for 30 days at most, the narrowed permit refused"

# 3. Purpose-limited: research only.
head='{"resourceType":"Consent","status":"active","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},"patient":{"reference":"Patient/pat-nl-0007"},'
actor() { printf '{"reference":{"reference":"Organization/%s"}}' "$1"; }
echo "$head\"id\":\"research-only\",\"provision\":{\"actor\":[$(actor eu-hospital)],\"purpose\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActReason\",\"code\":\"HRESCH\"}]}}" >"$run/purpose.json"
consent apply "$run/purpose.json" apply3
patient3="$(key apply3)"
expect "purpose-limited" "$(changes apply3)" "added $h HRESCH"
expect "research granted" "$(can_read "$patient3" "$hospital" HRESCH)" true
expect "treatment not granted" "$(can_read "$patient3" "$hospital" TREAT)" false
echo "ok: a purpose-limited Consent grants that purpose only"

# 4. Time-limited: until the end of tomorrow.
tomorrow="$(date -u -d tomorrow +%F)"
echo "$head\"id\":\"until-tomorrow\",\"provision\":{\"period\":{\"end\":\"$tomorrow\"},\"actor\":[$(actor eu-hospital)],\"purpose\":[{\"code\":\"HPAYMT\"}]}}" >"$run/time.json"
consent apply "$run/time.json" apply4
python3 - "$run/apply4.json" "$tomorrow" <<'PY'
import json, sys, datetime
r = json.load(open(sys.argv[1]))
end = datetime.datetime.fromisoformat(sys.argv[2] + "T00:00:00+00:00") + datetime.timedelta(days=1)
added = [c for c in r["changes"] if c["kind"] == "added"]
assert len(added) == 1 and added[0]["expiresAt"] == int(end.timestamp()), (added, end)
PY
expect "time-limited granted" "$(can_read "$patient3" "$hospital" HPAYMT)" true
echo "ok: a time-limited Consent's grant expires at the end of its period"

# 5. A deny inside a permit: both participants named, the clinic denied.
echo "$head\"id\":\"not-the-clinic\",\"provision\":{\"actor\":[$(actor eu-hospital),$(actor us-clinic)],\"purpose\":[{\"code\":\"TREAT\"}],\"provision\":[{\"type\":\"deny\",\"actor\":[$(actor us-clinic)]}]}}" >"$run/deny.json"
consent apply "$run/deny.json" apply5
expect "deny inside permit" "$(changes apply5)" "$(printf 'added %s TREAT\nrefused %s TREAT' "$h" "$c")"
expect "the hospital may" "$(can_read "$patient3" "$hospital" TREAT)" true
expect "the clinic may not" "$(can_read "$patient3" "$clinic" TREAT)" false
echo "ok: a deny inside a permit wins for its actor"

# 6. Deactivated: the notAuthor Consent, now inactive, revokes its grant.
adapt "$run/not-author.json" "$run/not-author-inactive.json" 'c["status"] = "inactive"'
consent dry-run "$run/not-author-inactive.json" dry6
expect "inactive dry run" "$(changes dry6)" "revoked $h TREAT"
expect "still granted after the dry run" "$(can_read "$patient" "$hospital" TREAT)" true
consent apply "$run/not-author-inactive.json" apply6
expect "revoked on chain" "$(can_read "$patient" "$hospital" TREAT)" false
echo "ok: deactivating a Consent revokes what it granted (the dry run showed it first)"

# 7. A Consent published on fhir.events: serve anchors it, then applies it (issue 15). The EU
#    hospital may see a French patient's record for treatment.
mkdir -p "$run/kafka/events"
kafka_consent() {  # kafka_consent VERSION STATUS: publish that version of Consent/kafka-consent
  python3 - "$run/kafka/events/consent.json" "$1" "$2" <<'PY'
import json, sys
c = {"resourceType": "Consent", "id": "kafka-consent", "meta": {"versionId": sys.argv[2]},
     "status": sys.argv[3],
     "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                           "code": "patient-privacy"}]},
     "patient": {"reference": "Patient/pat-fr-0002"},
     "provision": {"actor": [{"reference": {"reference": "Organization/eu-hospital"}}],
                   "purpose": [{"code": "TREAT"}]}}
json.dump(c, open(sys.argv[1], "w"))
PY
  cat >"$run/kafka/events.manifest.json" <<'JSON'
[{"file": "consent.json", "key": "Patient/pat-fr-0002",
  "headers": {"fhir-source": "demo-ehr", "fhir-event": "create",
              "content-type": "application/fhir+json"}}]
JSON
  "$FL_BIN" publish --bootstrap "$FL_KAFKA_BOOTSTRAP_SERVERS" --topic fhir.events \
    --manifest "$run/kafka/events.manifest.json" 2>/dev/null
}
serve_caught_up() {  # serve_caught_up NAME: the summary in $run/NAME.json, the log in NAME.log
  "$FL_BIN" serve --config "$config" --until-caught-up >"$run/$1.json" 2>"$run/$1.log" || {
    cat "$run/$1.log" >&2
    fl_die "serve ($1) failed"
  }
}
# applied NAME: "unchanged added changed revoked refused" of each consent.applied line.
applied() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "consent.applied":
        print(str(e["unchanged"]).lower(), e["added"], e["changed"], e["revoked"], e["refused"])
    assert e.get("event") != "consent.not_applied", line' "$run/$1.log"
}
kafka_consent 1 active
cp "$run/kafka/events/consent.json" "$run/kafka-consent-1.json"
consent dry-run "$run/kafka-consent-1.json" dry7
patient7="$(key dry7)"
expect "kafka Consent dry run" "$(changes dry7)" "added $h TREAT"
expect "no grant before serve" "$(can_read "$patient7" "$hospital" TREAT)" false
serve_caught_up kafka1
expect "kafka Consent applied" "$(applied kafka1)" "false 1 0 0 0"
expect "canRead after serve" "$(can_read "$patient7" "$hospital" TREAT)" true
grep -q '"consentsApplied":1,' "$run/kafka1.json" || fl_die "serve summary: $(cat "$run/kafka1.json")"
echo "ok: a Consent published on Kafka is anchored and becomes a grant"

# grant_changes PATIENT_KEY GRANTEE: the GrantChanged events the contract emitted for the pair.
grant_changes() {
  "$FL_CAST" logs --json --rpc-url "$FL_LEDGER_RPC_URL" --address "$FL_LEDGER_CONTRACT" \
    --from-block 0 'GrantChanged(bytes32,address,bytes32,uint64)' |
    python3 -c '
import json, sys
patient, grantee = sys.argv[1].lower(), "0x" + sys.argv[2].lower()[2:].rjust(64, "0")
print(sum(1 for e in json.load(sys.stdin) if e["topics"][1:3] == [patient, grantee]))' "$1" "$2"
}
expect "one GrantChanged for the Kafka Consent" "$(grant_changes "$patient7" "$hospital")" 1
kafka_consent 1 active
serve_caught_up kafka2
expect "kafka Consent published again" "$(applied kafka2)" "true 0 0 0 0"
expect "still granted" "$(can_read "$patient7" "$hospital" TREAT)" true
expect "no grant transaction for a re-published Consent" "$(grant_changes "$patient7" "$hospital")" 1
echo "ok: the same Consent published again changes nothing (no grant transaction)"

kafka_consent 2 inactive
serve_caught_up kafka3
expect "kafka Consent deactivated" "$(applied kafka3)" "false 0 0 1 0"
expect "revoked on chain by the Kafka Consent" "$(can_read "$patient7" "$hospital" TREAT)" false
expect "one more GrantChanged: the revocation" "$(grant_changes "$patient7" "$hospital")" 2
echo "ok: a new version of the Consent with status inactive, on Kafka, revokes its grant"
