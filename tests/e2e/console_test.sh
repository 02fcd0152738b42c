#!/usr/bin/env bash
# e2e: the console (/console/) in Debian's chromium driven by playwright-core (console.mjs),
# against the fhir-ledger binary on local services (scripts/services: Redis per region, anvil,
# the broker) with the shipped policy bundle and mapping sets. The sample events are ingested
# (the Brazilian patient's six are denied by the policy, three others dead-lettered), a grant and
# a read are made so that the audit topic holds more than ingest denials, `fhir-ledger serve`
# then runs with the API, and the broken samples are published once more while it runs so that
# its /metrics count events and dead letters. Tokens are minted with the run's dev key.
# A shadow candidate (a permitting default) is audited beside the shipped bundle, and edited into
# a draft that does not compile while the gateway runs.
# The screenshots of every view (1280x800) are kept in $FL_CONSOLE_SHOTS (default
# <build dir>/artefacts/console), not in the tree.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

[ -x /usr/bin/chromium ] || fl_die "chromium is missing: scripts/install-deps installs it"
[ -f "$FL_ROOT/node_modules/playwright-core/package.json" ] ||
  fl_die "playwright-core is missing: scripts/install-deps runs npm ci"

# A shadow candidate beside the shipped bundle: its default permits, so it would have stored the
# Brazilian patient's events, and each of those differences is audited.
config="$run/gateway.json"
candidate="$run/candidate.json"
python3 - "$FL_ROOT/config/gateway.json" "$config" "$FL_ROOT/config" "$candidate" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for section, key in (("keys", "keyringFile"), ("mappings", "dir"), ("policy", "bundle")):
    c[section][key] = sys.argv[3] + "/" + c[section][key]
c["policy"]["shadow"] = sys.argv[4]
json.dump(c, open(sys.argv[2], "w"))
bundle = json.load(open(c["policy"]["bundle"]))
bundle["id"], bundle["default"] = "permissive-candidate", "permit"
json.dump(bundle, open(sys.argv[4], "w"))
PY
"$FL_BIN" serve --config "$config" --until-caught-up >"$run/ingest.json" 2>"$run/ingest.log" || {
  cat "$run/ingest.log" >&2
  fl_die "the gateway failed to ingest the samples"
}
hospital=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC # anvil's third account, eu-hospital
"$FL_BIN" ledger participants set "$hospital" --jurisdiction DE --config "$config" >/dev/null
"$FL_BIN" ledger grant --patient Patient/pat-de-0001 --to "$hospital" --purpose TREAT \
  --config "$config" >/dev/null 2>"$run/grant.err" || fl_die "grant: $(cat "$run/grant.err")"
"$FL_BIN" read Patient/pat-de-0001 --as "$hospital" --purpose TREAT --config "$config" >/dev/null ||
  fl_die "the hospital's read failed"

"$FL_BIN" serve --config "$config" >"$run/serve.json" 2>"$run/serve.log" &
gateway=$!
trap 'kill "$gateway" 2>/dev/null || true; "$FL_ROOT/scripts/services" stop "$run"' EXIT
fl_wait_api "$run/serve.log" "$gateway"
# The compliance officer edits the candidate while the gateway runs; the edit does not compile
# (a purpose of use that is no v3 code), and the console must show that problem at its rule.
python3 - "$candidate" <<'PY'
import json, sys
bundle = json.load(open(sys.argv[1]))
bundle["rules"].append({"id": "research-anywhere", "description": "A draft.", "stages": ["read"],
                        "match": {"purposes": ["RESEARCHX"]}, "effect": "permit"})
json.dump(bundle, open(sys.argv[1], "w"))
PY
# The broken events published again while serve runs, so that its /metrics count events and
# dead letters by reason (the denied ones are not: the audit view must find the demo's six).
python3 - "$manifest" "$run/broken.manifest.json" <<'PY'
import json, os, sys
entries = json.load(open(sys.argv[1]))
events = os.path.join(os.path.dirname(sys.argv[1]), "events")
broken = [dict(e, file=os.path.join(events, e["file"])) for e in entries if not e.get("valid", True)]
assert broken, "the sample manifest has no broken events"
json.dump(broken, open(sys.argv[2], "w"))
PY
"$FL_BIN" publish --bootstrap "$FL_KAFKA_BOOTSTRAP_SERVERS" --topic fhir.events \
  --manifest "$run/broken.manifest.json" >/dev/null

export FL_CONSOLE_BASE="http://127.0.0.1:$FL_API_PORT"
FL_CONSOLE_TOKEN="$("$FL_BIN" token --client console-operator --scope fhir-ledger/admin)"
# The browser starts once serve has dead-lettered the three again (its metrics say so).
deadline=$((SECONDS + 60))
until curl -sf -H "Authorization: Bearer $FL_CONSOLE_TOKEN" "$FL_CONSOLE_BASE/console/api/metrics" |
  grep -q '^fhir_ledger_events_total{outcome="dead-lettered"} 3$'; do
  [ "$SECONDS" -lt "$deadline" ] || fl_die "serve did not dead-letter the broken events again"
  sleep 0.5
done
FL_CONSOLE_COMPLIANCE_TOKEN="$("$FL_BIN" token --client compliance-officer --scope fhir-ledger/compliance)"
FL_CONSOLE_READER_TOKEN="$("$FL_BIN" token --client eu-hospital --scope 'system/*.rs')"
export FL_CONSOLE_TOKEN FL_CONSOLE_COMPLIANCE_TOKEN FL_CONSOLE_READER_TOKEN FL_ROOT FL_CAST
export FL_CONSOLE_SHOTS="${FL_CONSOLE_SHOTS:-$FL_BUILD_DIR/artefacts/console}"
node "$(dirname "${BASH_SOURCE[0]}")/console.mjs" || {
  tail -20 "$run/serve.log" >&2
  fl_die "the console test failed (screenshots in $FL_CONSOLE_SHOTS)"
}
kill -0 "$gateway" 2>/dev/null || fl_die "the gateway exited during the test"
echo "ok: the console's views in chromium; screenshots in $FL_CONSOLE_SHOTS"
