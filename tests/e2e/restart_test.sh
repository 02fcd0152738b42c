#!/usr/bin/env bash
# e2e: the gateway is stopped with a signal mid-run and started again; in the end every sample
# resource the shipped policy bundle permits is anchored exactly once (one Anchored event per
# resource version on chain) and stored in its patient's region, exactly the three invalid events
# and the events the bundle denies are dead-lettered (scripts/check-outcome derives which), and
# the report verifies with redis-cli (in each region, and in no other), sha256sum and cast.
#   tests/e2e/restart_test.sh SIGNAL     (TERM or KILL)
set -euo pipefail
signal="${1:-TERM}"
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

# Small batches, so that the signal lands between transactions.
config="$run/gateway.json"
python3 - "$FL_ROOT/config/gateway.json" "$config" "$FL_ROOT/config" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["pipeline"]["batchMaxEvents"] = 3
c["keys"]["keyringFile"] = sys.argv[3] + "/" + c["keys"]["keyringFile"]
c["mappings"]["dir"] = sys.argv[3] + "/" + c["mappings"]["dir"]
c["policy"]["bundle"] = sys.argv[3] + "/" + c["policy"]["bundle"]
json.dump(c, open(sys.argv[2], "w"))
PY

receipts() {
  kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.receipts -e -q -f '%o\n' 2>/dev/null | wc -l
}

"$FL_BIN" serve --config "$config" >"$run/first.json" 2>"$run/first.log" &
gateway=$!
deadline=$((SECONDS + 60))
until [ "$(receipts)" -ge 1 ]; do
  kill -0 "$gateway" 2>/dev/null || { cat "$run/first.log" >&2; fl_die "gateway exited early"; }
  [ "$SECONDS" -lt "$deadline" ] || fl_die "no receipt within 60 s"
  sleep 0.05
done
kill "-$signal" "$gateway"
status=0
wait "$gateway" || status=$?
before="$(receipts)"
echo "first run stopped by SIG$signal with exit status $status after $before receipt(s)"
if [ "$signal" = TERM ] && [ "$status" -ne 0 ]; then
  cat "$run/first.log" >&2
  fl_die "SIGTERM must end the gateway cleanly (exit 0), got $status"
fi

"$FL_BIN" serve --config "$config" --until-caught-up >"$run/second.json" 2>"$run/second.log" || {
  cat "$run/second.log" >&2
  fl_die "the restarted gateway failed"
}
"$FL_BIN" report --config "$config" --out "$run/report.json"
"$FL_ROOT/scripts/check-outcome" "$manifest" "$FL_ROOT/config/policies/example-cross-border.json" \
  "$run/report.json"

python3 - "$manifest" "$run/report.json" "$FL_LEDGER_RPC_URL" "$FL_LEDGER_CONTRACT" \
  "$("$FL_CAST" keccak 'Anchored(bytes32,bytes32,uint64,bytes32,bytes16,bytes32)')" <<'PY'
import json, sys, urllib.request, collections
manifest, report = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rpc, contract, topic0 = sys.argv[3], sys.argv[4], sys.argv[5]
req = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
       "params": [{"address": contract, "fromBlock": "0x0", "toBlock": "latest", "topics": [topic0]}]}
logs = json.load(urllib.request.urlopen(urllib.request.Request(
    rpc, json.dumps(req).encode(), {"content-type": "application/json"})))["result"]
per_version = collections.Counter((l["topics"][1], int(l["data"][2:66], 16)) for l in logs)
dups = [k for k, n in per_version.items() if n > 1]
assert not dups, f"duplicate Anchored events for {dups}"
# check-outcome has compared the report's resources with what the bundle permits.
expected = len(report["resources"])
# Pointer-mode versions have one Anchored event each; merkle-mode ones sit under roots (a
# replay may anchor a second root over them, which is harmless) and verify-resources checks them.
in_storage = sum(1 for r in report["resources"] if r["anchorMode"] == "pointer")
assert 0 < in_storage < expected, f"{in_storage} of {expected} in pointer mode: expected both modes"
assert len(per_version) == in_storage, f"{len(per_version)} pointer-mode versions anchored, expected {in_storage}"
assert all(d["reason"] for d in report["deadLettered"])
print(f"ok: {in_storage} pointer-mode resource versions anchored once each, {expected - in_storage} merkle-mode, {len(report['deadLettered'])} dead-lettered")
PY
"$FL_ROOT/scripts/verify-report" "$run/report.json"
"$FL_ROOT/scripts/verify-resources" "$config" "$run/report.json"

# No PHI in the gateway's logs, nor in clear on any topic it writes (keys, headers, values of
# receipts, dead letters, audit events): no name, identifier value or FHIR id of any sample.
for topic in fhir.receipts fhir.dead-letters fhir.audit; do
  kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t "$topic" -e -q -f 'key=%k headers=%h value=%s\n' \
    2>/dev/null
done >"$run/topics.txt"
python3 - "$FL_ROOT/config/samples/events" "$run/topics.txt" "$run/first.log" "$run/second.log" <<'PY'
import json, os, re, sys
events = sys.argv[1]
topics = open(sys.argv[2], encoding="utf-8", errors="replace").read()
logs = "".join(open(p).read() for p in sys.argv[3:])
secrets = set()
def collect(r):
    secrets.add(r.get("id", ""))
    for n in r.get("name", []):
        secrets.add(n.get("family", ""))
        secrets.update(n.get("given", []))
    for i in r.get("identifier", []):
        secrets.add(i.get("value", ""))
for f in os.listdir(events):
    try:
        r = json.load(open(os.path.join(events, f)))
    except ValueError:
        continue
    for res in [e["resource"] for e in r.get("entry", []) if "resource" in e] if r.get("resourceType") == "Bundle" else [r]:
        collect(res)
found = sorted(s for s in secrets if len(s) >= 4 and s in logs)
assert logs.strip(), "the gateway wrote no log at all"
assert not found, f"PHI in gateway logs: {found[:5]}"
print(f"ok: none of {len(secrets)} names, identifiers and ids appears in {len(logs)} bytes of logs")
# Topics are full of hex (hashes, proofs, sealed forms): a secret made of hex digits alone would
# match by chance, so those are left to the sealed-topic tests of the suite.
assert "value=" in topics, "nothing read from the topics"
found = sorted(s for s in secrets if len(s) >= 4 and not re.fullmatch(r"[0-9a-fA-F]+", s)
               and s in topics)
assert not found, f"PHI in clear on a topic: {found[:5]}"
print(f"ok: none of them appears in clear in {len(topics)} bytes of receipts, dead letters and audit events")
PY

# A dead letter opens with the keyring, and only the original event is inside.
"$FL_BIN" unseal --dead-letter --config "$config" \
  < <(kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.dead-letters -o beginning -c 1 -e -q \
    -f '%s' 2>/dev/null) >"$run/dead-letter.json"
python3 - "$run/dead-letter.json" <<'PY'
import json, sys
letter = json.load(open(sys.argv[1]))
assert set(letter) >= {"key", "headers"} and ("value" in letter or "valueHex" in letter), letter.keys()
print("ok: the first dead letter opens with the keyring:", len(letter.get("value", "")), "bytes")
PY
