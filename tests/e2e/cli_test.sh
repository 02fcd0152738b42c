#!/usr/bin/env bash
# e2e: the fhir-ledger binary refuses bad configuration and bad usage at start, with exit code 2
# and one line naming the file, the JSON pointer and what was expected (an unknown option with
# the closest known one); it never starts work. Every command answers --help and -h, exit 0.
# `map check` lists every problem of a broken mapping set; `map preview` shows what rules change;
# `policy check`, `policy test` and `policy eval` do the same for policy bundles.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

expect() {  # expect CODE PATTERN COMMAND...
  local code="$1" pattern="$2" status=0
  shift 2
  "$@" >"$tmp/out" 2>&1 || status=$?
  [ "$status" = "$code" ] || fl_die "'$*' exited $status, expected $code: $(cat "$tmp/out")"
  grep -qE -- "$pattern" "$tmp/out" || fl_die "'$*' printed $(cat "$tmp/out"), expected /$pattern/"
  echo "ok: $* -> $code"
}

python3 - "$FL_ROOT/config/gateway.json" "$tmp/bad.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["redis"]["regions"]["default"]["port"] = "abc"
json.dump(c, open(sys.argv[2], "w"))
PY
expect 2 "bad.json: /redis/regions/default/port: expected integer 1..65535, got \"abc\"" \
  "$FL_BIN" serve --config "$tmp/bad.json"
echo '{"kafka": ' >"$tmp/broken.json"
expect 2 "broken.json: /: invalid JSON at offset" "$FL_BIN" serve --config "$tmp/broken.json"
expect 2 "cannot open file" "$FL_BIN" serve --config "$tmp/missing.json"
FL_REDIS_PORT=70000 expect 2 "/redis/regions/default/port: expected integer >= 1 <= 65535, got 70000" \
  "$FL_BIN" serve --config "$FL_ROOT/config/gateway.json"
expect 2 "unknown option --confg; did you mean --config\\?" "$FL_BIN" serve --confg x
# Every command and subcommand answers --help and -h with its usage and options, exit 0.
for command in serve dev-broker publish report fhirpath erase read unseal token \
  "ledger deploy" "ledger status" "ledger pointer" "ledger verify" "ledger grant" "ledger revoke" \
  "ledger participants" "ledger writer" "map check" "map preview" "policy check" "policy test" \
  "policy eval" "keys list" "keys add" "keys rotate" "keys retire" "consent dry-run" \
  "consent apply"; do
  read -r -a words <<<"$command"
  for help in --help -h; do
    expect 0 "^  $command( |\$)" "$FL_BIN" "${words[@]}" "$help"
  done
  grep -q -- "-h,--help" "$tmp/out" || fl_die "$command --help lists no options"
done
for group in ledger map policy keys consent; do
  expect 0 "^  $group " "$FL_BIN" "$group" --help
done
expect 2 "unknown command 'srve'" "$FL_BIN" srve
expect 2 "FL_LEDGER_PRIVATE_KEY" env -u FL_LEDGER_PRIVATE_KEY "$FL_BIN" ledger deploy --rpc-url http://127.0.0.1:1
expect 2 "--partitions expects a whole number" "$FL_BIN" dev-broker --partitions 0
expect 0 "usage: fhir-ledger" "$FL_BIN" help

# map check lists every problem of a broken mapping set, each as file: JSON pointer: message.
broken="$FL_ROOT/tests/data/mappings"
expect 1 "map check: 13 error\(s\)" "$FL_BIN" map check --dir "$broken"
for line in \
  "broken/mapping.json: /id: expected a string matching" \
  "broken/mapping.json: /colour: unknown member 'colour'" \
  "broken/mapping.json: /source: expected \"broken\"" \
  "broken/mapping.json: /resourceTypes/1: expected a FHIR R4 resource type, got \"Observaton\"" \
  "broken/mapping.json: /conceptMaps/0: cannot read ConceptMap file" \
  "broken/mapping.json: /rules/0/select: expected an expression" \
  "broken/mapping.json: /rules/0/conceptMap: no ConceptMap with url" \
  "broken/mapping.json: /rules/1/id: rule id \"to-loinc\" is used twice" \
  "broken/mapping.json: /rules/1/timeZone: 'timeZone' does not apply to action normalize-unit" \
  "broken/mapping.json: /rules/1/units/mg~1dl: expected a UCUM code" \
  "broken/mapping.json: /rules/2/action: expected one of" \
  "broken/mapping.json: /rules/3/timeZone: expected an IANA time zone" \
  "broken/mapping.json: /rules/4: missing required member 'id'"; do
  grep -qF -- "$line" "$tmp/out" || fl_die "map check did not report: $line ($(cat "$tmp/out"))"
done
echo "ok: map check names every problem of the broken set"
expect 0 "map check: 2 mapping set\(s\)" "$FL_BIN" map check --dir "$FL_ROOT/config/mappings"

# map preview shows, per rule, the paths it changed, and the mapped result.
sample="$FL_ROOT/config/samples/events/067-lab-acme-us-0003-1.json"
expect 0 'rule local-times \(normalize-date\)' "$FL_BIN" map preview \
  --mapping "$FL_ROOT/config/mappings/acme-lab/mapping.json" --in "$sample"
grep -qF '~ /effectiveDateTime: "20261118083000" -> "2026-11-18T08:30:00-05:00"' "$tmp/out" ||
  fl_die "map preview did not show the date change: $(cat "$tmp/out")"
grep -qF '"code": "2345-7"' "$tmp/out" || fl_die "map preview did not print the result"
expect 1 "FAILED: mapping rule 'code-to-loinc'" "$FL_BIN" map preview \
  --mapping "$FL_ROOT/config/mappings/acme-lab/mapping.json" \
  --in "$FL_ROOT/config/samples/events/069-invalid-lab-unmapped.json"

# A mapping folder named in the config must exist: a typo must not silently turn mapping off.
python3 - "$FL_ROOT/config/gateway.json" "$tmp/nomap.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["mappings"]["dir"] = "mapings"
json.dump(c, open(sys.argv[2], "w"))
PY
expect 2 "nomap.json: /mappings/dir: expected a folder of mapping sets" \
  "$FL_BIN" serve --config "$tmp/nomap.json"

# policy check finds the planted errors of a broken bundle, each at its JSON pointer; the
# shipped bundle compiles, its test cases pass, and policy eval explains one decision.
expect 1 "policy check: 15 error\(s\)" "$FL_BIN" policy check "$FL_ROOT/tests/data/policies/broken.json"
for line in "broken.json: /rules/1: unreachable: rule \"eu-treat\" (/rules/0) comes first" \
  "broken.json: /rules/2/match/destination/0: unknown jurisdiction \"ATLANTIS\"" \
  "broken.json: /rules/4/match/condition: FHIRPath does not compile"; do
  grep -qF -- "$line" "$tmp/out" || fl_die "policy check did not report: $line ($(cat "$tmp/out"))"
done
echo "ok: policy check names the planted errors"
shipped="$FL_ROOT/config/policies/example-cross-border.json"
expect 0 "bundle example-cross-border, 20 rule\(s\), policy hash 0x[0-9a-f]{64}" \
  "$FL_BIN" policy check "$shipped"
expect 0 "^58 passed, 0 failed" "$FL_BIN" policy test "$shipped"
expect 0 "Decision: permit" "$FL_BIN" policy eval "$shipped" --stage read --type Observation \
  --source DE --destination US --purpose TREAT --consent
grep -qF "eea-to-us-consent: applies" "$tmp/out" || fl_die "policy eval: no trace ($(cat "$tmp/out"))"
expect 2 "usage: fhir-ledger policy eval" "$FL_BIN" policy eval "$shipped" --stage later

# serve refuses a bundle with errors, and a bundle naming a region that has no Redis.
python3 - "$FL_ROOT/config/gateway.json" "$tmp" "$shipped" "$FL_ROOT/tests/data/policies/broken.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["redis"]["regions"] = {"default": c["redis"]["regions"]["default"]}
c["pipeline"]["defaultRegion"] = "default"
c["mappings"]["dir"] = sys.argv[1].rsplit("/", 1)[0] + "/mappings"
c["policy"] = {"bundle": sys.argv[3]}
json.dump(c, open(sys.argv[2] + "/oneregion.json", "w"))
c["policy"] = {"bundle": sys.argv[4]}
json.dump(c, open(sys.argv[2] + "/brokenpolicy.json", "w"))
PY
expect 2 "region \\\\\"eu\\\\\" has no Redis under /redis/regions" \
  "$FL_BIN" serve --config "$tmp/oneregion.json"
expect 2 "broken.json: /rules/1: unreachable" "$FL_BIN" serve --config "$tmp/brokenpolicy.json"
