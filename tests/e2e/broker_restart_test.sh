#!/usr/bin/env bash
# e2e, issue 16: the Kafka broker (a real single-node Apache Kafka in KRaft mode, scripts/services
# --kafka real) is stopped while `fhir-ledger serve` runs and started again on the same data.
# EVENTS resource versions (default 3,000: Patients, Conditions and Encounters in pointer mode,
# Observations in merkle mode, as config/gateway.json anchors them, for patients of all four
# storage regions) are published in two halves: the first before the gateway starts; the
# broker is stopped as soon as the gateway has committed its first batch (batches of 100, so
# most of the first half is still to come: consuming, receipts in flight, commits), stays down
# DOWN seconds (default 10) and is started again; the second half is published after the
# restart, to the same gateway process, which must keep running throughout and end cleanly on
# SIGTERM.
#
# Then, with no gateway restart and no --until-caught-up run to hide anything:
#   * from the ledger (tests/e2e/count_anchors.py: Anchored events, Merkle proofs against the
#     roots on chain): every published version anchored exactly once, none dead-lettered;
#   * from the receipts topic: exactly one receipt per published event (by its origin topic,
#     partition and offset), the topic's offsets dense from 0 (nothing lost, nothing doubled).
#   tests/e2e/broker_restart_test.sh [TERM|KILL]   how the broker is stopped (default TERM: a
#                                                  controlled shutdown; KILL: a crash)
#   EVENTS=3000 DOWN=10 SEED=N tests/e2e/broker_restart_test.sh
# The gateway runs with its own Kafka settings: the outage (10 s by default) outlasts the
# consumer's group session (6 s), so the consumer loses its partitions while the broker is down
# and gets them back after it; it must resume where it got, not at the last commit it made.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
signal="${1:-TERM}"
events="${EVENTS:-3000}"
down="${DOWN:-10}"
seed="${SEED:-$(date +%s)}"
case "$signal" in TERM | KILL) ;; *) fl_die "usage: $0 [TERM|KILL]" ;; esac
started=$SECONDS

run="$(mktemp -d "${TMPDIR:-/tmp}/fhir-ledger-broker-restart.XXXXXX")"
gateway=
cleanup() {
  local status=$?
  [ -z "$gateway" ] || kill -KILL "$gateway" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    # Kept for the investigation: the gateway's log, the broker's, the receipts.
    local kept="${TMPDIR:-/tmp}/fhir-ledger-broker-restart-failed-$seed"
    rm -rf "$kept" && cp -r "$run" "$kept" 2>/dev/null && echo "logs kept in $kept" >&2
  fi
  "$FL_ROOT/scripts/services" stop "$run"
  exit "$status"
}
trap cleanup EXIT
"$FL_ROOT/scripts/services" start "$run" --kafka real
source "$run/env"
echo "services up in $((SECONDS - started)) s (broker $FL_KAFKA_BOOTSTRAP_SERVERS)"
FL_LEDGER_CONTRACT="$("$FL_BIN" ledger deploy --rpc-url "$FL_LEDGER_RPC_URL")"
export FL_LEDGER_CONTRACT

# The events, two manifests (one per half; the whole for the count) and the config: the
# shipped one with absolute paths, logging batch commits, in batches of 100.
python3 - "$run" "$events" "$seed" "$FL_ROOT/config" <<'PY'
import json, os, random, sys
run, count, seed, config_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
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
# resources. Each half holds whole patients, so every version's predecessor is in its half or
# the one before.
KINDS = [("obs", observation), ("cond", condition), ("enc", encounter)]
halves, made, p = [[], []], 0, 0
while made < count:
    pid, country = f"brk-{seed}-pat-{p:05d}", COUNTRIES[p % len(COUNTRIES)]
    p += 1
    s = [patient(pid, country, 1)]
    for k in range(rng.randint(3, 8)):
        prefix, make = rng.choices(KINDS, weights=[9, 4, 4])[0]
        s += [make(f"{prefix}-{pid}-{k}", pid, v) for v in range(1, rng.randint(1, 4) + 1)]
    s = s[:count - made]
    halves[0 if made < count // 2 else 1].append((pid, country, s))
    made += len(s)
everything, n = [], 0
for h, streams in enumerate(halves):
    order = [i for i, (_, _, s) in enumerate(streams) for _ in s]
    rng.shuffle(order)
    cursors, manifest = [0] * len(streams), []
    for i in order:
        pid, country, s = streams[i]
        r = s[cursors[i]]
        cursors[i] += 1
        name = f"{n:06d}.json"
        n += 1
        with open(f"{run}/events/{name}", "w") as f:
            json.dump(r, f)
        manifest.append({"file": name, "key": f"Patient/{pid}",
                         "headers": {"fhir-source": "restart-ehr", "content-type": "application/fhir+json",
                                     "fhir-jurisdiction": country},
                         "resources": 1, "valid": True,
                         "reference": f"{r['resourceType']}/{r['id']}", "version": int(r["meta"]["versionId"])})
    json.dump(manifest, open(f"{run}/events-{h + 1}.manifest.json", "w"))
    everything += manifest
json.dump(everything, open(f"{run}/events.manifest.json", "w"))
c = json.load(open(f"{config_dir}/gateway.json"))
c["service"]["logLevel"] = "debug"
c["pipeline"]["batchMaxEvents"] = 100
c["keys"]["keyringFile"] = f"{config_dir}/{c['keys']['keyringFile']}"
c["mappings"]["dir"] = f"{config_dir}/{c['mappings']['dir']}"
c["policy"]["bundle"] = f"{config_dir}/{c['policy']['bundle']}"
json.dump(c, open(f"{run}/gateway.json", "w"))
PY
config="$run/gateway.json"

receipts() {  # how many messages fhir.receipts holds (0 while the broker is down)
  kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.receipts -e -q -f '%o\n' 2>/dev/null | wc -l
}
await_receipts() {  # await_receipts N SECONDS: until at least N receipts; the gateway must live
  local deadline=$((SECONDS + $2))
  until [ "$(receipts)" -ge "$1" ]; do
    kill -0 "$gateway" 2>/dev/null || { tail -5 "$run/serve.log" >&2; fl_die "the gateway exited"; }
    [ "$SECONDS" -lt "$deadline" ] ||
      fl_die "fewer than $1 receipts after $2 s (log: $run/serve.log)"
    sleep 0.5
  done
}

"$FL_BIN" publish --bootstrap "$FL_KAFKA_BOOTSTRAP_SERVERS" --topic fhir.events \
  --manifest "$run/events-1.manifest.json" 2>/dev/null
"$FL_BIN" serve --config "$config" >"$run/serve.json" 2>"$run/serve.log" &
gateway=$!
deadline=$((SECONDS + 120))
until grep -q '"batch.committed"' "$run/serve.log"; do
  kill -0 "$gateway" 2>/dev/null || { tail -5 "$run/serve.log" >&2; fl_die "the gateway exited"; }
  [ "$SECONDS" -lt "$deadline" ] || fl_die "no batch committed within 120 s (log: $run/serve.log)"
  sleep 0.02
done
"$FL_ROOT/scripts/services" kafka-stop "$run" $([ "$signal" = KILL ] && echo --kill)
echo "broker stopped (SIG$signal) when the gateway had committed $(grep -c '"batch.committed"' "$run/serve.log" || true) batch(es) of $((events / 2 / 100))"
sleep "$down"
kill -0 "$gateway" 2>/dev/null || { tail -5 "$run/serve.log" >&2; fl_die "the gateway exited while the broker was down"; }
restart_at=$SECONDS
"$FL_ROOT/scripts/services" kafka-start "$run"
echo "broker down ${down} s, serving again $((SECONDS - restart_at)) s after its start"
"$FL_BIN" publish --bootstrap "$FL_KAFKA_BOOTSTRAP_SERVERS" --topic fhir.events \
  --manifest "$run/events-2.manifest.json" 2>/dev/null
await_receipts "$events" 240
kill -TERM "$gateway"
status=0
wait "$gateway" || status=$?
gateway=
if [ "$status" -ne 0 ]; then
  tail -20 "$run/serve.log" >&2
  fl_die "the gateway ended with $status on SIGTERM"
fi

# What the outage did to the gateway, for the record: retried reports, partitions resumed.
echo "gateway: $(grep -c '"pipeline.retry"' "$run/serve.log" || true) retried step(s)," \
  "$(grep -c '"kafka.partition.resumed"' "$run/serve.log" || true) partition(s) resumed past" \
  "their committed offset after the group gave them back"
kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.receipts -e -q -f '%p %o %s\n' \
  2>/dev/null >"$run/receipts.txt"
dead="$(kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.dead-letters -e -q -f '%o\n' 2>/dev/null |
  wc -l)"
"$FL_BIN" unseal --config "$config" <"$run/receipts.txt" >"$run/receipts-opened.txt" ||
  fl_die "unseal could not open every receipt"
# From the ledger: every version anchored once (this also checks the offsets are dense).
python3 "$FL_ROOT/tests/e2e/count_anchors.py" "$run/events.manifest.json" "$config" \
  "$run/receipts-opened.txt" "$dead" 0
# From the receipts topic: one receipt per published event, none for anything else.
python3 - "$run/receipts-opened.txt" "$events" <<'PY'
import collections, json, sys
origins = collections.Counter()
for line in open(sys.argv[1]):
    o = json.loads(line.split(" ", 2)[2])["origin"]
    origins[(o["topic"], o["partition"], o["offset"])] += 1
published = int(sys.argv[2])
doubled = {k: n for k, n in origins.items() if n > 1}
assert all(t == "fhir.events" for t, _, _ in origins), "a receipt names another topic"
assert not doubled, f"{len(doubled)} event(s) with more than one receipt, e.g. {list(doubled.items())[:3]}"
assert len(origins) == published, f"{len(origins)} events have a receipt, {published} were published"
print(f"receipts: {sum(origins.values())} for {published} published events: lost 0, doubled 0")
PY
echo "ok: broker restart (SIG$signal, down ${down} s) lost and doubled nothing;" \
  "wall time $((SECONDS - started)) s"
