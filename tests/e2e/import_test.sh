#!/usr/bin/env bash
# e2e, issue 17: `fhir-ledger import` as a backfill runs it, beside a running gateway.
#   1. Every Synthea transaction Bundle of the corpus (shared/corpora/synthea, or the
#      repository's copies on a clean clone), converted to a FHIR Bulk Data export (one NDJSON
#      file per resource type, tests/e2e/bundles_to_ndjson.py), is imported from its directory:
#      exit 0, every entry anchored by the import's count from the receipts, none dead-lettered;
#      and the gateway's own report (from the receipts topic) names every entry.
#   2. An NDJSON file with two broken lines (one not JSON, one JSON that is no FHIR resource):
#      exit 1, both reported by file:line with their reasons, every other line anchored.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

corpus="${FL_CORPORA:-$FL_ROOT/../shared/corpora}/synthea"
[ -d "$corpus" ] || corpus="$FL_ROOT/tests/data/corpora/synthea"
bundles=()
for f in "$corpus"/*.json; do [ "$(basename "$f")" = index.json ] || bundles+=("$f"); done
python3 "$FL_ROOT/tests/e2e/bundles_to_ndjson.py" "$run/export" "${bundles[@]}"

config="$FL_ROOT/config/gateway.json"
"$FL_BIN" serve --config "$config" >"$run/serve.json" 2>"$run/serve.log" &
gateway=$!
trap 'kill -KILL $gateway 2>/dev/null || true; "$FL_ROOT/scripts/services" stop "$run"' EXIT

status=0
"$FL_BIN" import "$run/export" --config "$config" --source synthea --jurisdiction US \
  --timeout 300 >"$run/import.json" 2>"$run/import.err" || status=$?
[ "$status" = 0 ] || fl_die "import of the export exited $status: $(tail -5 "$run/import.err")"
grep -E '^import: [0-9]+%' "$run/import.err" | tail -1
"$FL_BIN" report --config "$config" --out "$run/report.json"
python3 - "$run/import.json" "$run/report.json" "${bundles[@]}" <<'PY'
import json, sys
summary, report = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
entries = [e["resource"]["resourceType"] + "/" + e["resource"]["id"]
           for path in sys.argv[3:] for e in json.load(open(path))["entry"]]
expected = set(entries)  # an Organization or Practitioner may be in several bundles
assert summary["complete"] and summary["events"] == len(entries), summary
assert summary["anchored"] == len(entries), summary
assert summary["deadLettered"] == 0 and summary["failures"] == [], summary
missing = expected - {r["reference"] for r in report["resources"]}
assert not missing, f"{len(missing)} entries without a receipt, e.g. {sorted(missing)[:3]}"
print(f"ok: {len(sys.argv) - 3} bundles as NDJSON, {len(entries)} resources, all anchored "
      f"({summary['resourcesPerSecond']} resources/s with the gateway's start)")
PY

# Ten Observations of the export, line 3 cut short, line 7 a JSON object that is no resource.
python3 - "$run/export/Observation.ndjson" "$run/broken.ndjson" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()[:10]
for i, line in enumerate(lines):  # new ids: versions of their own, not the ones imported above
    r = json.loads(line)
    r["id"] = "import-test-" + str(i)
    lines[i] = json.dumps(r)
lines[2] = lines[2][: len(lines[2]) // 2]
lines[6] = '{"resourceType":"Observaton","id":"typo"}'
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
status=0
"$FL_BIN" import "$run/broken.ndjson" --config "$config" --source synthea --jurisdiction US \
  --timeout 120 >"$run/broken.json" 2>"$run/broken.err" || status=$?
[ "$status" = 1 ] || fl_die "import of broken.ndjson exited $status, expected 1"
python3 - "$run/broken.json" "$run/broken.err" "$run/broken.ndjson" <<'PY'
import json, sys
summary, err, path = json.load(open(sys.argv[1])), open(sys.argv[2]).read(), sys.argv[3]
failures = {f["at"]: f for f in summary["failures"]}
assert sorted(failures) == [f"{path}:3", f"{path}:7"], summary["failures"]
assert failures[f"{path}:3"]["code"] == "not-json", failures
assert failures[f"{path}:7"]["code"] == "invalid-input", failures
assert "Observaton" in failures[f"{path}:7"]["reason"], failures
assert summary["anchored"] == 8 and summary["deadLettered"] == 1 and summary["notSent"] == 1, summary
for at in failures:
    assert at in err, f"{at} not reported on stderr"
print("ok: two broken lines reported by line number (not JSON; dead-lettered), 8 lines anchored")
PY

kill -TERM "$gateway"
wait "$gateway" || fl_die "the gateway ended with $? on SIGTERM: $(tail -5 "$run/serve.log")"
echo "e2e.import: passed"
