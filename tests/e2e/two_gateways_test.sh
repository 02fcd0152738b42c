#!/usr/bin/env bash
# e2e, issue 16: two `fhir-ledger serve` instances in one consumer group on a real Apache Kafka
# broker (scripts/services --kafka real) with 6 partitions per topic, each anchoring with its
# own ledger account: A with anvil's first dev key (the contract's admin, a writer from the
# deploy), B with the second, granted the writer role with `fhir-ledger ledger writer`.
# EVENTS resource versions (default 3,000: Patients, Conditions and Encounters in pointer mode,
# Observations in merkle mode, as config/gateway.json anchors them; patients of all four
# storage regions, each with several resources of 1-4 versions) are published in two halves of
# one stream, so a patient's versions often span both: the first half once both gateways are
# in the group; when A has committed two batches (more in flight) and B has polled from its own
# partitions, A is SIGKILLed and the second half published. B must take A's partitions (after A's group session expires) and
# handle everything, A's uncommitted batches included, and end cleanly on SIGTERM.
#
# Then, counted from the chain and the receipts topic:
#   * tests/e2e/count_anchors.py: every version anchored exactly once (lost 0, doubled 0, in
#     both modes), no dead letter;
#   * tests/e2e/two_gateways_count.py: anchored by A and by B (only their accounts), each
#     resource's versions anchored in increasing order of (block, log index, leaf), B anchoring
#     in all 6 partitions, every published event with a receipt (repeats counted, not failed:
#     receipts are at least once when partitions move, README "A real Kafka broker"), and how
#     long after the kill B anchored in A's partitions.
#   tests/e2e/two_gateways_test.sh
#   EVENTS=3000 SEED=N SESSION_TIMEOUT_MS=6000 PARTITIONS=6 tests/e2e/two_gateways_test.sh
# SESSION_TIMEOUT_MS is the consumers' group session: a killed member keeps its partitions
# until it expires (INFRA pitfall 7), so it bounds the takeover pause. 6000 is the gateway's own
# default and the broker's minimum (group.min.session.timeout.ms); the test sets it explicitly.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
events="${EVENTS:-3000}"
seed="${SEED:-$(date +%s)}"
partitions="${PARTITIONS:-6}"
session_timeout_ms="${SESSION_TIMEOUT_MS:-6000}"
started=$SECONDS

# Not tests/e2e/setup.sh: it publishes the shipped samples (dead letters by design), which this
# count of "every event anchored once, none dead-lettered" must not see.
run="$(mktemp -d "${TMPDIR:-/tmp}/fhir-ledger-two-gateways.XXXXXX")"
gateway_a=
gateway_b=
cleanup() {
  local status=$?
  [ -z "$gateway_a" ] || kill -KILL "$gateway_a" 2>/dev/null || true
  [ -z "$gateway_b" ] || kill -KILL "$gateway_b" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    # Kept for the investigation: both gateways' logs and /metrics, the broker's log, receipts.
    local kept="${TMPDIR:-/tmp}/fhir-ledger-two-gateways-failed-$seed"
    rm -rf "$kept" && cp -r "$run" "$kept" 2>/dev/null && echo "logs kept in $kept" >&2
  fi
  "$FL_ROOT/scripts/services" stop "$run"
  exit "$status"
}
trap cleanup EXIT
FL_KAFKA_PARTITIONS="$partitions" "$FL_ROOT/scripts/services" start "$run" --kafka real
source "$run/env"
echo "services up in $((SECONDS - started)) s (broker $FL_KAFKA_BOOTSTRAP_SERVERS, $partitions partitions)"

# The two ledger accounts. The deployer (A's key, FL_LEDGER_PRIVATE_KEY of scripts/services)
# is the contract's admin and its first writer.
key_a="$FL_DEV_PRIVATE_KEY"
key_b="0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil's second
address_a="$("$FL_CAST" wallet address --private-key "$key_a")"
address_b="$("$FL_CAST" wallet address --private-key "$key_b")"
FL_LEDGER_CONTRACT="$("$FL_BIN" ledger deploy --rpc-url "$FL_LEDGER_RPC_URL")"
export FL_LEDGER_CONTRACT

# The events, two manifests (one per half; the whole for the count) and the config: the
# shipped one with absolute paths, logging batch commits, in batches of 50 (so A has several in flight), the API off (two
# processes, one port) and the group session given above.
python3 - "$run" "$events" "$seed" "$FL_ROOT/config" "$session_timeout_ms" <<'PY'
import json, os, random, sys
run, count, seed, config_dir, session = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rng = random.Random(seed)
os.makedirs(f"{run}/events")
COUNTRIES = ["DE", "FR", "US", "CA", "JP", "GB", "RU"]  # regions eu, us, default, ru

def patient(pid, country, v):
    return {"resourceType": "Patient", "id": pid, "meta": {"versionId": str(v)}, "active": True,
            "gender": rng.choice(["female", "male"]), "birthDate": f"19{rng.randint(30, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "address": [{"use": "home", "city": f"City {rng.randint(1, 999)}", "country": country}]}

def observation(rid, pid, v):
    return {"resourceType": "Observation", "id": rid, "meta": {"versionId": str(v)},
            "status": "final" if v == 1 else "amended",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
            "subject": {"reference": f"Patient/{pid}"},
            "effectiveDateTime": f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z",
            "valueQuantity": {"value": rng.randint(50, 120), "unit": "beats/minute",
                              "system": "http://unitsofmeasure.org", "code": "/min"}}

def condition(rid, pid, v):
    return {"resourceType": "Condition", "id": rid, "meta": {"versionId": str(v)},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active" if v < 3 else "resolved"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "55822004", "display": "Hyperlipidemia"}]},
            "subject": {"reference": f"Patient/{pid}"}, "onsetDateTime": f"20{rng.randint(10, 25)}-02-10"}

def encounter(rid, pid, v):
    return {"resourceType": "Encounter", "id": rid, "meta": {"versionId": str(v)},
            "status": "in-progress" if v == 1 else "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": f"2026-11-{rng.randint(1, 28):02d}T10:00:00Z"}}

# Per patient, in order (one Kafka key, one partition): the Patient, then versions of its
# resources, sometimes a second Patient version. The streams are merged at random, each in its
# order, and the merge is cut in two halves: a patient's later versions are often in the second
# half, for B to anchor after A anchored the earlier ones.
KINDS = [("obs", observation), ("cond", condition), ("enc", encounter)]
streams, made, p = [], 0, 0
while made < count:
    pid, country = f"two-{seed}-pat-{p:05d}", COUNTRIES[p % len(COUNTRIES)]
    p += 1
    s = [patient(pid, country, 1)]
    for k in range(rng.randint(3, 8)):
        prefix, make = rng.choices(KINDS, weights=[9, 4, 4])[0]
        s += [make(f"{prefix}-{pid}-{k}", pid, v) for v in range(1, rng.randint(1, 4) + 1)]
    if rng.random() < 0.3:
        s.append(patient(pid, country, 2))
    s = s[:count - made]
    made += len(s)
    streams.append((pid, country, s))
order = [i for i, (_, _, s) in enumerate(streams) for _ in s]
rng.shuffle(order)
cursors, manifest = [0] * len(streams), []
for i in order:
    pid, country, s = streams[i]
    r = s[cursors[i]]
    cursors[i] += 1
    name = f"{len(manifest):06d}.json"
    with open(f"{run}/events/{name}", "w") as f:
        json.dump(r, f)
    manifest.append({"file": name, "key": f"Patient/{pid}",
                     "headers": {"fhir-source": "two-gateways-ehr", "content-type": "application/fhir+json",
                                 "fhir-jurisdiction": country},
                     "resources": 1, "valid": True,
                     "reference": f"{r['resourceType']}/{r['id']}", "version": int(r["meta"]["versionId"])})
json.dump(manifest[:count // 2], open(f"{run}/events-1.manifest.json", "w"))
json.dump(manifest[count // 2:], open(f"{run}/events-2.manifest.json", "w"))
json.dump(manifest, open(f"{run}/events.manifest.json", "w"))
c = json.load(open(f"{config_dir}/gateway.json"))
c["service"]["logLevel"] = "debug"
c["pipeline"]["batchMaxEvents"] = 50
c["kafka"].setdefault("properties", {})["session.timeout.ms"] = session
c["api"]["port"] = 0
c["keys"]["keyringFile"] = f"{config_dir}/{c['keys']['keyringFile']}"
c["mappings"]["dir"] = f"{config_dir}/{c['mappings']['dir']}"
c["policy"]["bundle"] = f"{config_dir}/{c['policy']['bundle']}"
json.dump(c, open(f"{run}/gateway.json", "w"))
PY
config="$run/gateway.json"

# B's account becomes a writer (the admin's transaction, with A's key), and says so itself.
"$FL_BIN" ledger writer "$address_b" --config "$config" >"$run/writer.json"
FL_LEDGER_PRIVATE_KEY="$key_b" "$FL_BIN" ledger status --config "$config" >"$run/status-b.json"
grep -q '"accountIsWriter":true' "$run/status-b.json" ||
  fl_die "B's account $address_b is not a writer after ledger writer: $(cat "$run/status-b.json")"

read -r health_a health_b < <(fl_free_port 2)
start_gateway() {  # start_gateway NAME KEY HEALTH_PORT; sets $started_pid
  # Each its own ledger key and probe port; the API (one port per run) off for both.
  FL_LEDGER_PRIVATE_KEY="$2" FL_HEALTH_PORT="$3" FL_API_PORT=0 \
    "$FL_BIN" serve --config "$config" >"$run/serve-$1.json" 2>"$run/serve-$1.log" &
  started_pid=$!
}
alive() {  # alive NAME PID: fails the test when that gateway exited
  kill -0 "$2" 2>/dev/null || { tail -5 "$run/serve-$1.log" >&2; fl_die "gateway $1 exited"; }
}
start_gateway A "$key_a" "$health_a"
gateway_a=$started_pid
start_gateway B "$key_b" "$health_b"
gateway_b=$started_pid
deadline=$((SECONDS + 60))
until curl -sf "http://127.0.0.1:$health_a/healthz" >/dev/null &&
  curl -sf "http://127.0.0.1:$health_b/healthz" >/dev/null; do
  alive A "$gateway_a"
  alive B "$gateway_b"
  [ "$SECONDS" -lt "$deadline" ] || fl_die "the gateways did not serve /healthz within 60 s"
  sleep 0.1
done
# Both in the group before anything is published: one gateway alone handles the first half in
# about a second, before the other has even joined (its first JoinGroup takes 1-3 s here). The
# coordinator logs each stable generation with its member count (the broker's log, info level).
group="$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["kafka"]["groupId"])' "$config")"
deadline=$((SECONDS + 60))
until grep -q "Stabilized group $group generation [0-9]* with 2 members" "$run/kafka.log"; do
  alive A "$gateway_a"
  alive B "$gateway_b"
  [ "$SECONDS" -lt "$deadline" ] || fl_die "A and B did not both join group $group within 60 s"
  sleep 0.1
done
echo "gateways A ($address_a) and B ($address_b) in group $group," \
  "$((SECONDS - started)) s after the start"

publish_started=$SECONDS
"$FL_BIN" publish --bootstrap "$FL_KAFKA_BOOTSTRAP_SERVERS" --topic fhir.events \
  --manifest "$run/events-1.manifest.json" 2>/dev/null
# A is killed once it has committed two batches (so it has more in flight, or about to be),
# and B has polled from its partitions: its /metrics has consumer lag gauges, which name the
# partitions polled. (Waiting for B to commit as well let A finish its whole share of the
# first half first once, when B was slow to start on this shared 2-core machine.)
lag_gauges() { grep -q '^fhir_ledger_consumer_lag_messages{' "$1" 2>/dev/null; }
deadline=$((SECONDS + 120))
until [ "$(grep -c '"batch.committed"' "$run/serve-A.log")" -ge 2 ] &&
  curl -sf "http://127.0.0.1:$health_b/metrics" >"$run/metrics-B-at-kill.txt" &&
  lag_gauges "$run/metrics-B-at-kill.txt"; do
  alive A "$gateway_a"
  alive B "$gateway_b"
  [ "$SECONDS" -lt "$deadline" ] ||
    fl_die "A did not commit two batches, or B poll, within 120 s of the first publish"
  sleep 0.02
done
curl -sf "http://127.0.0.1:$health_a/metrics" >"$run/metrics-A.txt" || true
killed_at="$(date +%s)"
# In braces: the shell's own "Killed" notice for the job goes to /dev/null too.
{ kill -KILL "$gateway_a" && wait "$gateway_a"; } 2>/dev/null || true
gateway_a=
committed_a="$(grep '"batch.committed"' "$run/serve-A.log" |
  sed -n 's/.*"events":\([0-9]*\).*/\1/p' | awk '{ n += $1 } END { print n + 0 }')"
echo "A SIGKILLed after $(grep -c '"batch.committed"' "$run/serve-A.log") committed batch(es)" \
  "($committed_a events; B: $(grep -c '"batch.committed"' "$run/serve-B.log")),"\
  "$((SECONDS - publish_started)) s after the first publish"
"$FL_BIN" publish --bootstrap "$FL_KAFKA_BOOTSTRAP_SERVERS" --topic fhir.events \
  --manifest "$run/events-2.manifest.json" 2>/dev/null

# Done when every published event (partition, offset) has a receipt.
kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.events -e -q -f '%p %o\n' 2>/dev/null \
  >"$run/events.txt"
[ "$(wc -l <"$run/events.txt")" = "$events" ] ||
  fl_die "fhir.events holds $(wc -l <"$run/events.txt") events, $events were published"
receipted() {  # how many published events have a receipt
  kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.receipts -e -q -f '%s\n' 2>/dev/null |
    python3 -c 'import json, sys
print(len({tuple(json.loads(l)["origin"].values()) for l in sys.stdin if l.strip()}))'
}
deadline=$((SECONDS + 240))
until [ "$(receipted)" -ge "$events" ]; do
  alive B "$gateway_b"
  [ "$SECONDS" -lt "$deadline" ] ||
    fl_die "only $(receipted) of $events events have a receipt after 240 s (log: $run/serve-B.log)"
  sleep 0.5
done
handled_in=$((SECONDS - publish_started))
curl -sf "http://127.0.0.1:$health_b/metrics" >"$run/metrics-B.txt" || true
kill -TERM "$gateway_b"
status=0
wait "$gateway_b" || status=$?
gateway_b=
if [ "$status" -ne 0 ]; then
  tail -20 "$run/serve-B.log" >&2
  fl_die "gateway B ended with $status on SIGTERM"
fi

kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.receipts -e -q -f '%p %o %s\n' \
  2>/dev/null >"$run/receipts.txt"
dead="$(kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.dead-letters -e -q -f '%o\n' 2>/dev/null |
  wc -l)"
"$FL_BIN" unseal --config "$config" <"$run/receipts.txt" >"$run/receipts-opened.txt" ||
  fl_die "unseal could not open every receipt"
status=0
python3 "$FL_ROOT/tests/e2e/count_anchors.py" "$run/events.manifest.json" "$config" \
  "$run/receipts-opened.txt" "$dead" 1 || status=$?
python3 "$FL_ROOT/tests/e2e/two_gateways_count.py" "$run/events.manifest.json" \
  "$run/events.txt" "$run/receipts-opened.txt" "$killed_at" "$committed_a" \
  "A=$address_a" "B=$address_b" "A=$run/metrics-A.txt" "B-at-kill=$run/metrics-B-at-kill.txt" \
  "B=$run/metrics-B.txt" || status=$?
[ "$status" = 0 ] || fl_die "lost, doubled or out-of-order anchors (seed $seed)"
echo "ok: two gateways, A SIGKILLed mid-run: $events events anchored once each, in order;" \
  "all handled $handled_in s after the first publish; wall time $((SECONDS - started)) s"
