#!/usr/bin/env bash
# e2e, the crash test of issue 14: EVENTS resource versions (default 20,000) of Patients,
# Encounters, Conditions (pointer mode) and Observations (merkle mode, as config/gateway.json
# anchors them), 1 to 4 versions each, for patients of DE, FR, US, CA, JP, GB and RU (all four
# storage regions), with 5% of the events published a second time as identical copies. The
# gateway is SIGKILLed KILLS times (default 12) at random moments and started again from its
# committed offsets (which re-delivers what it had not committed), then run --until-caught-up.
# Each kill waits for a random trigger, then a random delay: this process's first anchoring
# transaction on chain and 0-150 ms (the re-delivered batch's confirmation, records, receipts,
# commit, or the next batch's stages), or its first committed batch and 0-800 ms (any step of
# the batches that follow).
#
# Then every published (resource, version) must be on chain exactly once, counted from the
# chain by tests/e2e/count_anchors.py (its docstring says how: Anchored events for pointer
# mode; for merkle mode, receipts' proofs checked against the roots RootAnchored names, and the
# leaves on chain that no proof accounts for): lost 0 and doubled 0 in both modes, no dead
# letter. The receipts are read as the gateway writes them (the dev broker keeps only 5 MiB per
# partition). The whole is repeated RUNS times (default 1), each run on fresh services; every
# run is made and printed, and the test fails unless all were clean.
#   RUNS=3 tests/e2e/crash_test.sh
#   EVENTS=20000 KILLS=12 SEED=N tests/e2e/crash_test.sh   (SEED repeats a run's events and kills)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
runs="${RUNS:-1}"
events="${EVENTS:-20000}"
kills="${KILLS:-12}"
seed="${SEED:-$(date +%s)}"

# Waits until the gateway PID has reached TRIGGER (chain: a block after FROM_BLOCK, i.e. its
# first anchoring transaction; commit: a batch.committed line in LOG); fails if it exits first.
# Returns 1 when every event has a receipt already (nothing left to kill the gateway in).
await_trigger() {  # await_trigger PID TRIGGER LOG FROM_BLOCK
  local pid="$1" trigger="$2" log="$3" from="$4" deadline=$((SECONDS + 120))
  while :; do
    kill -0 "$pid" 2>/dev/null || { tail -5 "$log" >&2; fl_die "the gateway exited before its kill"; }
    if [ "$SECONDS" -ge "$deadline" ]; then
      all_receipted && return 1
      fl_die "no $trigger within 120 s (log: $log)"
    fi
    if [ "$trigger" = chain ]; then
      [ "$(block_number)" -gt "$from" ] && return 0
    else
      grep -q '"batch.committed"' "$log" && return 0
    fi
    sleep 0.02
  done
}

all_receipted() {
  python3 - "$run/receipts.txt" "$run/events.manifest.json" <<'PY'
import json, sys
origins = {tuple(json.loads(l.split(" ", 2)[2])["origin"].values()) for l in open(sys.argv[1])
           if l.endswith("\n")}
sys.exit(len(origins) < len(json.load(open(sys.argv[2]))))
PY
}

block_number() {
  local answer
  answer="$(curl -sf -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$FL_LEDGER_RPC_URL")"
  answer="${answer#*\"result\":\"0x}"
  echo $((16#${answer%%\"*}))
}

one_run() {  # one_run SEED; runs in a subshell: its services stop when it exits
  local run_seed="$1" started=$SECONDS
  run="$(mktemp -d "${TMPDIR:-/tmp}/fhir-ledger-crash.XXXXXX")"
  reader=
  trap '[ -z "$reader" ] || kill "$reader" 2>/dev/null; "$FL_ROOT/scripts/services" stop "$run"' EXIT
  "$FL_ROOT/scripts/services" start "$run"
  source "$run/env"
  # The dev broker (librdkafka's mock cluster) keeps 5 MiB per partition and drops the oldest
  # messages beyond that; 20,000 versions make about that much of receipts. So the receipts are
  # read as they are written, from the start, not once at the end.
  kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.receipts -o beginning -u -q \
    -f '%p %o %s\n' >"$run/receipts.txt" 2>"$run/receipts-reader.log" &
  reader=$!
  FL_LEDGER_CONTRACT="$("$FL_BIN" ledger deploy --rpc-url "$FL_LEDGER_RPC_URL")"
  export FL_LEDGER_CONTRACT

  # The events, the manifest (with each message's reference and version, for the count), the
  # kill schedule and the config: the shipped one with absolute paths, logging batch commits.
  python3 - "$run" "$events" "$kills" "$run_seed" "$FL_ROOT/config" <<'PY'
import json, os, random, sys, zlib
run, count, kills, seed, config_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
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

# Per patient, in order: the Patient, then its resources' versions (sometimes a second Patient
# version); about half the versions are Observations.
KINDS = [("obs", observation), ("cond", condition), ("enc", encounter)]
streams, made, p = [], 0, 0
while made < count:
    pid, country = f"crash-{seed}-pat-{p:05d}", COUNTRIES[p % len(COUNTRIES)]
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
# The patients' streams merged at random, each in its order (one Kafka key, one partition).
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
                     "headers": {"fhir-source": "crash-ehr", "content-type": "application/fhir+json",
                                 "fhir-jurisdiction": country},
                     "resources": 1, "valid": True,
                     "reference": f"{r['resourceType']}/{r['id']}", "version": int(r["meta"]["versionId"])})
# Identical copies: 5% of the messages again, each up to 3,000 messages later.
for at in sorted(rng.sample(range(len(manifest)), len(manifest) // 20), reverse=True):
    manifest.insert(min(len(manifest), at + rng.randint(1, 3000)), dict(manifest[at]))
json.dump(manifest, open(f"{run}/events.manifest.json", "w"))
# The same 5 MiB limit for the events themselves: what the broker dropped before the gateway
# read it would count as lost. `publish` puts a key on partition crc32(key) % 4, scripts/services
# makes 4.
size = [0] * 4
for e in manifest:
    size[zlib.crc32(e["key"].encode()) % 4] += os.path.getsize(f"{run}/events/{e['file']}") + 100
if max(size) > 4 << 20:
    sys.exit(f"{count} versions make {max(size) >> 20} MiB on one partition of fhir.events: "
             "more than the dev broker keeps (5 MiB)")
with open(f"{run}/kills", "w") as f:
    for _ in range(kills):
        trigger = rng.choice(["chain", "commit"])
        f.write(f"{trigger} {rng.uniform(0, 0.15 if trigger == 'chain' else 0.8):.3f}\n")
c = json.load(open(f"{config_dir}/gateway.json"))
c["service"]["logLevel"] = "debug"
c["keys"]["keyringFile"] = f"{config_dir}/{c['keys']['keyringFile']}"
c["mappings"]["dir"] = f"{config_dir}/{c['mappings']['dir']}"
c["policy"]["bundle"] = f"{config_dir}/{c['policy']['bundle']}"
json.dump(c, open(f"{run}/gateway.json", "w"))
PY
  local config="$run/gateway.json"
  "$FL_BIN" publish --bootstrap "$FL_KAFKA_BOOTSTRAP_SERVERS" --topic fhir.events \
    --manifest "$run/events.manifest.json" 2>/dev/null

  local k=0 trigger delay pid from batches
  while read -r trigger delay; do
    k=$((k + 1))
    from="$(block_number)"
    : >"$run/serve-$k.log"
    "$FL_BIN" serve --config "$config" >"$run/serve-$k.json" 2>"$run/serve-$k.log" &
    pid=$!
    if ! await_trigger "$pid" "$trigger" "$run/serve-$k.log" "$from"; then
      kill -TERM "$pid"
      wait "$pid" || true
      k=$((k - 1))
      echo "every event handled after $k kill(s): no more kills"
      break
    fi
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null || fl_die "the gateway exited before kill $k"
    wait "$pid" 2>/dev/null || true
    batches="$(grep -c '"batch.committed"' "$run/serve-$k.log" || true)"
    [ "$trigger" = chain ] && trigger="anchoring transaction" || trigger="committed batch"
    echo "kill $k: $delay s after its first $trigger, $batches batch(es) committed by then"
  done <"$run/kills"

  "$FL_BIN" serve --config "$config" --until-caught-up >"$run/final.json" 2>"$run/final.log" || {
    tail -20 "$run/final.log" >&2
    fl_die "the last gateway run failed"
  }
  # Every receipt read: the reader has reached each partition's end offset.
  local deadline=$((SECONDS + 60)) ends
  while :; do
    ends="$(kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -Q -t fhir.receipts:0:-1 -t fhir.receipts:1:-1 \
      -t fhir.receipts:2:-1 -t fhir.receipts:3:-1 2>/dev/null |
      sed -n 's/.*\[\([0-9]*\)\] offset \([0-9]*\)/\1 \2/p')"
    python3 - "$run/receipts.txt" "$ends" <<'PY' && break
import collections, sys
read = collections.Counter()
for line in open(sys.argv[1]):
    if line.endswith("\n"):
        read[int(line.split(" ", 1)[0])] += 1
ends = [tuple(map(int, l.split())) for l in sys.argv[2].splitlines()]
sys.exit(len(ends) != 4 or any(read[p] < end for p, end in ends))
PY
    [ "$SECONDS" -lt "$deadline" ] || fl_die "the receipts reader did not reach the end offsets ($ends)"
    sleep 0.5
  done
  kill "$reader"
  wait "$reader" 2>/dev/null || true
  reader=
  local dead
  dead="$(kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.dead-letters -e -q -f '%o\n' 2>/dev/null | wc -l)"
  # Receipts name their resource only sealed; the keyring opens them for the count.
  "$FL_BIN" unseal --config "$config" <"$run/receipts.txt" >"$run/receipts-opened.txt" ||
    fl_die "unseal could not open every receipt"
  local status=0
  python3 "$FL_ROOT/tests/e2e/count_anchors.py" "$run/events.manifest.json" "$config" \
    "$run/receipts-opened.txt" "$dead" "$k" || status=$?
  echo "run time $((SECONDS - started)) s"
  if [ "$status" -ne 0 ]; then
    # Kept for the investigation: every gateway run's log, the receipts, the kill schedule and
    # anvil's log (each transaction with its block and time).
    local kept="${TMPDIR:-/tmp}/fhir-ledger-crash-failed-$run_seed"
    rm -rf "$kept" && cp -r "$run" "$kept" 2>/dev/null || true
    echo "error: lost or doubled versions (seed $run_seed; logs kept in $kept)" >&2
    exit 1
  fi
}

failed=0
for i in $(seq "$runs"); do
  fl_say "crash run $i of $runs (seed $((seed + i - 1)), $events versions, $kills kills)"
  # In the background and waited for: a subshell in an || list would run without set -e.
  (one_run "$((seed + i - 1))") &
  wait "$!" || failed=$((failed + 1))
done
[ "$failed" = 0 ] || fl_die "$failed of $runs run(s) failed"
echo "ok: $runs run(s) in a row, 0 lost and 0 doubled in both modes"
