#!/usr/bin/env bash
# e2e: a participant's access to a patient's data, through the fhir-ledger binary against local
# services, with the shipped policy bundle. After the sample events are ingested, a clinic
# registered in the US asks for a German patient's data for treatment:
#   1. `ledger grant` without consent is denied by the bundle: exit 1, nothing on chain, the
#      denial printed as an AuditEvent (outcome 4); with a permissive candidate in shadow mode
#      (FL_POLICY_SHADOW) still denied, the candidate's difference audited;
#   2. with --consent it is granted, capped at 30 days: the decision (outcome 0), the
#      transaction and, after it, the grant-transaction AuditEvent naming the same transaction;
#   3. `read --as` the clinic releases the Patient resource with its identifiers pseudonymized;
#   4. `ledger revoke` takes the grant away (a revocation AuditEvent naming its transaction),
#      and the same read is refused;
#   5. the other `ledger` subcommands: status, participants (list), writer (add and remove),
#      pointer, verify (a pointer-mode and a merkle-mode resource).
# The node is anvil, or geth --dev with FL_LEDGER_NODE=geth (e2e.access_geth, issue 16: every
# `ledger` subcommand on both).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

config="$FL_ROOT/config/gateway.json"
"$FL_BIN" serve --config "$config" --until-caught-up >"$run/serve.json" 2>"$run/serve.log" || {
  cat "$run/serve.log" >&2
  fl_die "the gateway failed"
}

clinic=0x70997970C51812dc3A010C7d01b50e0d17dc79C8 # anvil's second account, a US clinic
patient=Patient/pat-de-0001
"$FL_BIN" ledger participants set "$clinic" --jurisdiction US --config "$config" >/dev/null

run_cli() {  # run_cli EXPECTED_STATUS NAME COMMAND...: stdout in $run/NAME.out, stderr .err
  local expected="$1" name="$2" status=0
  shift 2
  "$@" >"$run/$name.out" 2>"$run/$name.err" || status=$?
  [ "$status" = "$expected" ] ||
    fl_die "$name exited $status, expected $expected: $(cat "$run/$name.out" "$run/$name.err")"
}
# check NAME PYTHON: runs the assertions in PYTHON with `lines`, the JSON lines NAME printed.
check() {
  python3 - "$run/$1.out" "$run/$1.err" "$2" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
err = open(sys.argv[2]).read()
def detail(event, kind):
    return next((d["valueString"] for d in event["entity"][0]["detail"] if d["type"] == kind), "")
def kind(event):
    return event["subtype"][-1]["code"]
exec(sys.argv[3])
PY
}

# 1. No consent: the shipped bundle's default effect denies EU -> US.
run_cli 1 grant-denied "$FL_BIN" ledger grant --patient "$patient" --to "$clinic" \
  --purpose TREAT --config "$config"
check grant-denied '
assert len(lines) == 1, lines
e = lines[0]["auditEvent"]
assert kind(e) == "grant" and e["outcome"] == "4", e
assert detail(e, "effect") == "deny", e
assert "not granted" in err, err'
run_cli 1 read-before "$FL_BIN" read "$patient" --as "$clinic" --purpose TREAT --consent \
  --config "$config"
grep -q "no active grant on the ledger" "$run/read-before.err" ||
  fl_die "read without a grant: $(cat "$run/read-before.err")"
echo "ok: without consent no grant (denial audited), and the clinic cannot read"

# 1b. Shadow mode: a candidate bundle with a permitting default would grant; it is not enforced,
# and the difference is audited before the decision.
python3 - "$FL_ROOT/config/policies/example-cross-border.json" "$run/candidate.json" <<'PY'
import json, sys
bundle = json.load(open(sys.argv[1]))
bundle["id"], bundle["default"] = "permissive-candidate", "permit"
json.dump(bundle, open(sys.argv[2], "w"))
PY
FL_POLICY_SHADOW="$run/candidate.json" run_cli 1 grant-shadow "$FL_BIN" ledger grant \
  --patient "$patient" --to "$clinic" --purpose TREAT --config "$config"
check grant-shadow '
assert len(lines) == 2, lines
shadow, decision = lines[0]["shadowAuditEvent"], lines[1]["auditEvent"]
assert kind(shadow) == "policy-shadow-difference" and detail(shadow, "stage") == "grant", shadow
assert detail(shadow, "effect") == "deny" and detail(shadow, "candidate-effect") == "permit", shadow
assert decision["outcome"] == "4", decision'
echo "ok: a shadow bundle that would grant is not enforced, and its difference is audited"

# 2. With consent: granted for at most 30 days; the decision, then the transaction's outcome.
run_cli 0 grant "$FL_BIN" ledger grant --patient "$patient" --to "$clinic" --purpose TREAT \
  --consent --config "$config"
check grant '
assert len(lines) == 3, lines
decision, tx, outcome = lines[0]["auditEvent"], lines[1], lines[2]["auditEvent"]
assert kind(decision) == "grant" and decision["outcome"] == "0", decision
assert detail(decision, "rule-ids") == "eea-to-us-consent", decision
assert kind(outcome) == "grant-transaction" and outcome["outcome"] == "0", outcome
assert detail(outcome, "transaction") == tx["tx"], (outcome, tx)
assert detail(outcome, "block") == str(tx["block"]), (outcome, tx)
assert "capped" in err, err'
echo "ok: with consent granted (capped at 30 days), decision and transaction audited"

# 3. The clinic reads the Patient resource: released, its identifiers pseudonymized.
run_cli 0 read "$FL_BIN" read "$patient" --as "$clinic" --purpose TREAT --consent \
  --config "$config"
python3 - "$run/read.out" "$FL_ROOT/config/samples/events/001-patient-de-0001.json" <<'PY'
import json, sys
released = json.load(open(sys.argv[1]))
source = json.load(open(sys.argv[2]))
assert released["resourceType"] == "Patient" and released["id"] == source["id"], released
values = [i["value"] for i in source["identifier"]]
assert values, "the sample patient has identifiers"
text = json.dumps(released)
for value in values:
    assert value not in text, f"identifier {value} released"
assert len(released["identifier"]) == len(values), released["identifier"]
PY
echo "ok: the clinic reads the Patient resource, identifiers pseudonymized"

# 4. Revoked: audited with its transaction; the same read is refused.
run_cli 0 revoke "$FL_BIN" ledger revoke --patient "$patient" --to "$clinic" --purpose TREAT \
  --config "$config"
check revoke '
assert len(lines) == 2, lines
tx, event = lines[0], lines[1]["auditEvent"]
assert kind(event) == "revocation" and event["outcome"] == "0" and event["action"] == "D", event
assert detail(event, "transaction") == tx["tx"], (event, tx)'
run_cli 1 read-after "$FL_BIN" read "$patient" --as "$clinic" --purpose TREAT --consent \
  --config "$config"
grep -q "no active grant on the ledger" "$run/read-after.err" ||
  fl_die "read after the revocation: $(cat "$run/read-after.err")"
echo "ok: revoked (audited with its transaction), and the clinic can no longer read"

# 5. The other ledger subcommands, on whichever node runs.
run_cli 0 status "$FL_BIN" ledger status --config "$config"
check status '
s = lines[0]
assert s["contract"].lower() == "'"$FL_LEDGER_CONTRACT"'".lower() and s["codeBytes"] > 0, s
assert s["accountIsWriter"] and s["accountIsAdmin"] and s["head"] > 0, s'
run_cli 0 participants "$FL_BIN" ledger participants --config "$config"
check participants '
p = lines[0]["participants"]
assert [(x["address"].lower(), x["jurisdiction"], x["active"]) for x in p] == \
    [("'"$clinic"'".lower(), "US", True)], p'
second_gateway=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC # anvil's third account
run_cli 0 writer-add "$FL_BIN" ledger writer "$second_gateway" --config "$config"
run_cli 0 writer-remove "$FL_BIN" ledger writer "$second_gateway" --remove --config "$config"
for name in writer-add writer-remove; do
  check "$name" 'assert lines[0]["tx"].startswith("0x") and lines[0]["block"] > 0, lines'
done
run_cli 0 pointer "$FL_BIN" ledger pointer "$patient" --config "$config"
check pointer '
p = lines[0]
assert p["latestOnChain"]["version"] == 1, p
assert [e["version"] for e in p["anchoredEvents"]] == [1], p'
run_cli 0 verify "$FL_BIN" ledger verify "$patient" --config "$config"
check verify 'assert lines[0]["verified"] and lines[0]["mode"] == "pointer", lines'
run_cli 0 verify-merkle "$FL_BIN" ledger verify Observation/obs-de-0001-1 --config "$config"
check verify-merkle 'assert lines[0]["verified"] and lines[0]["mode"] == "merkle", lines'
echo "ok: ledger status, participants, writer, pointer and verify on ${FL_LEDGER_NODE:-anvil}"
