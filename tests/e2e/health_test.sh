#!/usr/bin/env bash
# e2e: the probes of service.healthPort. /healthz answers 200; /readyz answers 200 while the
# pipeline moves and the brokers and the node answer, 503 naming the step, the error and for how
# long while it retries a transient error (the EVM node frozen with SIGSTOP while events wait to
# be anchored), and 200 again once the node answers; a storage region that stops answering is
# shown as down and degraded while the gateway stays ready; the gateway then ends cleanly on
# SIGTERM with every event anchored.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

port="$(fl_free_port)"
config="$run/gateway.json"
python3 - "$FL_ROOT/config/gateway.json" "$config" "$FL_ROOT/config" "$port" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["keys"]["keyringFile"] = sys.argv[3] + "/" + c["keys"]["keyringFile"]
c["mappings"]["dir"] = sys.argv[3] + "/" + c["mappings"]["dir"]
c["policy"]["bundle"] = sys.argv[3] + "/" + c["policy"]["bundle"]
c.setdefault("service", {})["healthPort"] = int(sys.argv[4])
c["ledger"]["receiptTimeoutMs"] = 3000
json.dump(c, open(sys.argv[2], "w"))
PY

probe() {  # probe PATH: prints "<status> <body>"
  curl -s -m 3 -o "$run/probe.json" -w '%{http_code}' "http://127.0.0.1:$port$1" || true
  echo " $(cat "$run/probe.json" 2>/dev/null)"
}
wait_probe() {  # wait_probe SECONDS PATH STATUS PATTERN
  local deadline=$((SECONDS + $1)) answer
  while :; do
    answer="$(probe "$2")"
    [[ "$answer" == "$3 "* && "$answer" == *"$4"* ]] && { echo "$2: $answer"; return 0; }
    kill -0 "$gateway" 2>/dev/null || { tail -20 "$run/serve.log" >&2; fl_die "the gateway exited"; }
    [ "$SECONDS" -lt "$deadline" ] || fl_die "$2 never answered $3 with $4 (last: $answer)"
    sleep 0.2
  done
}
receipts() {
  kcat -b "$FL_KAFKA_BOOTSTRAP_SERVERS" -C -t fhir.receipts -e -q -f '%o\n' 2>/dev/null | wc -l
}

# A port that is taken is refused at start, in one clear line, exit 2.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$port" &
holder=$!
sleep 0.5
status=0
"$FL_BIN" serve --config "$config" >/dev/null 2>"$run/taken.log" || status=$?
kill "$holder"
wait "$holder" 2>/dev/null || true
[ "$status" -eq 2 ] && grep -q "cannot listen for the probes" "$run/taken.log" ||
  { cat "$run/taken.log" >&2; fl_die "a taken health port must stop the start (exit 2), got $status"; }
echo "ok: a taken health port is refused at start"

"$FL_BIN" serve --config "$config" >"$run/serve.json" 2>"$run/serve.log" &
gateway=$!
anvil="$(awk '$2 == "anvil" {print $1}' "$run/pids")"
thaw() { kill -CONT "$anvil" 2>/dev/null || true; }
trap 'thaw; kill "$gateway" 2>/dev/null || true; "$FL_ROOT/scripts/services" stop "$run"' EXIT

wait_probe 60 /healthz 200 '"live":true'
wait_probe 60 /readyz 200 '"ready":true'
[[ "$(probe /nowhere)" == "404 "* ]] || fl_die "an unknown path must answer 404"

# Wait until the samples are anchored (no new receipt for 3 s), then freeze the node and
# publish more.
deadline=$((SECONDS + 90)) before=0 still=0
while [ "$before" -eq 0 ] || [ "$still" -lt 6 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fl_die "the samples were not anchored within 90 s"
  sleep 0.5
  now="$(receipts)"
  if [ "$now" -eq "$before" ]; then still=$((still + 1)); else before="$now" still=0; fi
done
mkdir -p "$run/more/events"
python3 - "$run/more" <<'PY'
import json, sys
entries = []
for i in range(5):
    name = f"health-{i}.json"
    json.dump({"resourceType": "Patient", "id": f"health-{i}",
               "address": [{"country": "US"}]}, open(f"{sys.argv[1]}/events/{name}", "w"))
    entries.append({"file": name, "key": f"Patient/health-{i}"})
json.dump(entries, open(f"{sys.argv[1]}/manifest.json", "w"))
PY
kill -STOP "$anvil"
"$FL_BIN" publish --bootstrap "$FL_KAFKA_BOOTSTRAP_SERVERS" --topic fhir.events \
  --manifest "$run/more/manifest.json"
wait_probe 60 /readyz 503 '"retrying":{"step":'
python3 - "$run/probe.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ready"] is False and r["retrying"]["attempts"] >= 1 and r["retrying"]["forMs"] >= 0, r
assert r["retrying"]["error"], r
print("ok: not ready while", r["retrying"]["step"], "is retried:", r["retrying"]["error"])
PY
wait_probe 10 /healthz 200 '"live":true'

thaw
wait_probe 90 /readyz 200 '"ready":true'
deadline=$((SECONDS + 60))
until [ "$(receipts)" -ge $((before + 5)) ]; do
  [ "$SECONDS" -lt "$deadline" ] || fl_die "the events published while the node was frozen were not anchored"
  sleep 0.5
done
# The dependencies /readyz asks every few seconds: all up now. A storage region that stops
# answering shows as down and degraded, and the gateway stays ready (the other regions go on);
# when it answers again it is up.
wait_probe 20 /readyz 200 '"redis:ru":{"up":true}'
python3 - "$run/probe.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert {"kafka", "ledger", "redis:default", "redis:eu", "redis:us", "redis:ru"} <= set(r["dependencies"]), r
assert all(d["up"] for d in r["dependencies"].values()) and r["degraded"] is False, r
PY
ru="$(awk '$2 == "redis-ru" {print $1}' "$run/pids")"
kill -STOP "$ru"
wait_probe 30 /readyz 200 '"redis:ru":{"up":false'
grep -q '"degraded":true' "$run/probe.json" || fl_die "a region down must show degraded: $(cat "$run/probe.json")"
kill -CONT "$ru"
wait_probe 30 /readyz 200 '"redis:ru":{"up":true}'
echo "ok: /readyz probes kafka, the ledger and every region; a region down degrades, ready stays"

# /metrics parses as the Prometheus text format (the reference client's parser) and counts what
# happened: events committed, the step retried while the node was frozen, stage timings.
curl -sf -D "$run/metrics.headers" "http://127.0.0.1:$port/metrics" >"$run/metrics.txt"
grep -qi '^content-type: text/plain; version=0.0.4' "$run/metrics.headers" ||
  fl_die "/metrics must say the exposition format's content type"
# Debian's python3 (python3-prometheus-client), whatever python3 comes first on the PATH.
/usr/bin/python3 - "$run/metrics.txt" "$before" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
samples = {}
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
def value(name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)
committed = value("fhir_ledger_events_total", outcome="committed")
assert committed >= 5, f"committed events: {committed}"
assert value("fhir_ledger_resources_anchored_total") >= int(sys.argv[2]) + 5
retried = sum(v for (n, l), v in samples.items() if n == "fhir_ledger_retries_total")
assert retried >= 1, "no retry counted while the node was frozen"
assert value("fhir_ledger_stage_seconds_count", stage="submit") >= 1
assert value("fhir_ledger_transactions_total") >= 1 and value("fhir_ledger_gas_used_total") > 0
lags = {l: v for (n, l), v in samples.items() if n == "fhir_ledger_consumer_lag_messages"}
assert lags and all(dict(l)["topic"] == "fhir.events" for l in lags), lags
errors = sum(v for (n, l), v in samples.items() if n == "fhir_ledger_dependency_errors_total"
             and dict(l)["kind"] == "unavailable")
assert errors >= 1, "the frozen node's errors are not counted by kind"
print(f"ok: /metrics parses ({len(samples)} samples): {committed:.0f} events committed, "
      f"{retried:.0f} retries")
PY

kill -TERM "$gateway"
wait "$gateway" || fl_die "SIGTERM must end the gateway cleanly"
echo "ok: ready, not ready while the node was frozen, ready again; $((before + 5)) receipts"
