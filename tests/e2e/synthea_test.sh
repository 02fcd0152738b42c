#!/usr/bin/env bash
# e2e: every Synthea transaction Bundle of the corpus, published exactly as the generator wrote
# it (shared/corpora/synthea, or the repository's copies in tests/data/corpora/synthea on a clean
# clone), goes through the gateway binary with the shipped config and policy bundle. Counted
# from the gateway's report (built from the receipts topic): every entry of every bundle is
# anchored, none is dead-lettered; then scripts/verify-report checks each one with redis-cli,
# sha256sum and cast against the chain.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

corpus="${FL_CORPORA:-$FL_ROOT/../shared/corpora}/synthea"
[ -d "$corpus" ] || corpus="$FL_ROOT/tests/data/corpora/synthea"
mkdir -p "$run/synthea/events"
files=()
for f in "$corpus"/*.json; do
  [ "$(basename "$f")" = index.json ] && continue
  ln -s "$f" "$run/synthea/events/$(basename "$f")"
  files+=("$(basename "$f")")
done
echo "Synthea bundles: ${#files[@]} from $corpus"

# The shipped samples setup.sh published first: what they dead-letter is not Synthea's.
config="$FL_ROOT/config/gateway.json"
"$FL_BIN" serve --config "$config" --until-caught-up >"$run/serve.json" 2>"$run/serve.log" || {
  tail -n 20 "$run/serve.log" >&2
  fl_die "the gateway failed on the samples"
}
"$FL_BIN" report --config "$config" --out "$run/samples-report.json"

# In rounds of four: the development broker keeps about 5 MB per partition.
for ((i = 0; i < ${#files[@]}; i += 4)); do
  python3 - "$run/synthea/manifest.json" "${files[@]:i:4}" <<'PY'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
# Synthea patients live in the US; the header says so for the Organizations and Practitioners,
# which name no patient.
json.dump([{"file": n, "key": "synthea/" + n,
            "headers": {"fhir-source": "synthea", "fhir-event": "create",
                        "content-type": "application/fhir+json", "fhir-jurisdiction": "US"}}
           for n in names], open(out, "w"))
PY
  "$FL_BIN" publish --bootstrap "$FL_KAFKA_BOOTSTRAP_SERVERS" --topic fhir.events \
    --manifest "$run/synthea/manifest.json"
  "$FL_BIN" serve --config "$config" --until-caught-up >>"$run/serve.json" 2>>"$run/serve.log" || {
    tail -n 20 "$run/serve.log" >&2
    fl_die "the gateway failed"
  }
done

"$FL_BIN" report --config "$config" --out "$run/report.json"
python3 - "$run/report.json" "$run/synthea/events" "$run/samples-report.json" <<'PY'
import glob, json, os, sys
report = json.load(open(sys.argv[1]))
key = lambda d: (d["topic"], d["partition"], d["offset"])
samples_dead = {key(d) for d in json.load(open(sys.argv[3]))["deadLettered"]}
anchored = {r["reference"] for r in report["resources"]}
expected, bundles = set(), 0
for path in sorted(glob.glob(os.path.join(sys.argv[2], "*.json"))):
    bundles += 1
    for e in json.load(open(path))["entry"]:
        r = e["resource"]
        expected.add(r["resourceType"] + "/" + r["id"])
missing = expected - anchored
dead = [d for d in report["deadLettered"] if key(d) not in samples_dead]
print(f"{bundles} bundles, {len(expected)} entries, {len(expected & anchored)} anchored")
if missing:
    sys.exit(f"not anchored: {len(missing)}, e.g. {sorted(missing)[:3]}")
if dead:
    sys.exit(f"dead-lettered: {dead[:2]}")
PY
"$FL_ROOT/scripts/verify-report" "$run/report.json"
echo "e2e.synthea: passed"
