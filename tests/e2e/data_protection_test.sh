#!/usr/bin/env bash
# e2e: the shipped sample events through the gateway binary (the shipped policy bundle decides
# each patient's region: one Redis per region), then the data-protection promises checked from
# outside:
#   1. no Redis key or value (the whole dataset of every region, saved uncompressed; every node
#      of a cluster region) and no log line contains any FHIR id, name, identifier, telecom or
#      address value of the inputs in clear text;
#   2. `keys add` + `keys rotate` re-wrap every master key of the EU region without touching the
#      data, which `read` still decrypts; `keys retire` then retires the old KEK;
#   3. `erase Patient/<id>` destroys that patient's key: their resources read as erased, while
#      their ciphertext stays in Redis and other patients read as before.
set -euo pipefail
# The US region (where the bundle stores the US patient) runs as a 3-master Redis Cluster
# (scripts/services), so that the scan also covers a cluster region, node by node. Set
# FL_REDIS_CLUSTER_REGIONS to other names, or to "" for standalone servers only.
export FL_REDIS_CLUSTER_REGIONS="${FL_REDIS_CLUSTER_REGIONS-us}"
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

# A private copy of the keyring (the key tools write to it), and debug logging, so that the
# scan covers every line the gateway can write. A cluster region gets "cluster": true, which no
# environment variable sets (its seed node's host and port come from FL_REDIS_<REGION>_*).
config="$run/gateway.json"
install -m 600 "$FL_ROOT/config/keys/dev-keyring.json" "$run/keyring.json"
python3 - "$FL_ROOT/config/gateway.json" "$config" "$FL_ROOT/config" "$run/keyring.json" \
  "$FL_REDIS_CLUSTER_REGIONS" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["service"]["logLevel"] = "debug"
c["keys"]["keyringFile"] = sys.argv[4]
for region in sys.argv[5].split():
    c["redis"]["regions"][region]["cluster"] = True
c["mappings"]["dir"] = sys.argv[3] + "/" + c["mappings"]["dir"]
c["policy"]["bundle"] = sys.argv[3] + "/" + c["policy"]["bundle"]
json.dump(c, open(sys.argv[2], "w"))
PY
redis_ports() {  # redis_ports REGION: the ports of that region's Redis (every node of a cluster)
  local upper var
  upper="$(tr 'a-z-' 'A-Z_' <<<"$1")"
  var="FL_REDIS_${upper}_CLUSTER_PORTS"
  [ -n "${!var:-}" ] || var="FL_REDIS_${upper}_PORT"
  echo "${!var}"
}
node_blobs() {  # node_blobs PORT: the blobs on one server (SCAN on a cluster node sees its own keys)
  redis-cli -p "$1" --scan --pattern 'blob:*' | wc -l
}
all_blobs() {  # the number of blobs in every region's Redis
  local region port total=0
  for region in $FL_REDIS_REGIONS; do
    for port in $(redis_ports "$region"); do total=$((total + $(node_blobs "$port"))); done
  done
  echo "$total"
}

"$FL_BIN" serve --config "$config" --until-caught-up >"$run/serve.json" 2>"$run/serve.log" || {
  cat "$run/serve.log" >&2
  fl_die "the gateway failed"
}

# 1. The scan, of every region's Redis: one dump per server, every node of a cluster region
# (each holds only the keys of its slots).
dumps=()
for region in $FL_REDIS_REGIONS; do
  for port in $(redis_ports "$region"); do
    redis-cli -p "$port" CONFIG SET rdbcompression no >/dev/null
    redis-cli -p "$port" SAVE >/dev/null
    dumps+=("$region:$port=$(redis-cli -p "$port" CONFIG GET dir | tail -1)/$(redis-cli -p "$port" CONFIG GET dbfilename | tail -1)")
  done
done
# A cluster region really ran as one: its blobs are spread over more than one master, and the
# gateway wrote the cluster key layout (a resource's claims under a hash tag, ver:{<key>}).
for region in $FL_REDIS_CLUSTER_REGIONS; do
  spread=()
  for port in $(redis_ports "$region"); do
    redis-cli -p "$port" CLUSTER INFO | grep -q '^cluster_state:ok' ||
      fl_die "the cluster of region $region is not ok at port $port"
    spread+=("$(node_blobs "$port")")
  done
  holding="$(printf '%s\n' "${spread[@]}" | grep -vc '^0$' || true)"
  [ "${#spread[@]}" -ge 3 ] && [ "$holding" -ge 2 ] ||
    fl_die "region $region: blobs per node ${spread[*]}: not spread over a cluster's masters"
  tagged=0
  for port in $(redis_ports "$region"); do
    tagged=$((tagged + $(redis-cli -p "$port" --scan --pattern 'ver:{*}' | wc -l)))
  done
  [ "$tagged" -gt 0 ] || fl_die "region $region: no ver:{<key>} claim, not the cluster key layout"
  echo "cluster region $region: blobs per node ${spread[*]}, $tagged tagged claims"
done
python3 - "$FL_ROOT/config/samples/events" "$run/serve.log" "$run/serve.json" "${dumps[@]}" <<'PY'
import json, os, sys
events, logs = sys.argv[1], sys.argv[2:4]
dumps = dict(a.split("=", 1) for a in sys.argv[4:])  # "region:port" -> the server's dump file
phi = set()
def collect(node):
    if isinstance(node, dict):
        if "resourceType" in node and isinstance(node.get("id"), str):
            phi.add(node["id"])
        for name in node.get("name", []) if isinstance(node.get("name"), list) else []:
            if isinstance(name, dict):
                phi.update(v for v in name.get("given", []) if isinstance(v, str))
                for k in ("family", "text"):
                    if isinstance(name.get(k), str):
                        phi.add(name[k])
        for k in ("identifier", "telecom"):
            for item in node.get(k, []) if isinstance(node.get(k), list) else []:
                if isinstance(item, dict) and isinstance(item.get("value"), str):
                    phi.add(item["value"])
        for a in node.get("address", []) if isinstance(node.get("address"), list) else []:
            if isinstance(a, dict):
                phi.update(v for v in a.get("line", []) if isinstance(v, str))
        for v in node.values():
            collect(v)
    elif isinstance(node, list):
        for v in node:
            collect(v)
for f in sorted(os.listdir(events)):
    try:
        collect(json.load(open(os.path.join(events, f))))
    except ValueError:
        pass  # the deliberately truncated event
phi = {p for p in phi if len(p) >= 3}
assert len(phi) > 50, f"only {len(phi)} values to look for"
data, by_region = b"", {}
for server, dump in sorted(dumps.items()):
    server_data = open(dump, "rb").read()
    found = sorted(p for p in phi if p.encode() in server_data)
    assert not found, f"PHI in clear text in the Redis of region {server}: {found[:10]}"
    data += server_data
    region = server.split(":")[0]
    by_region[region] = by_region.get(region, b"") + server_data
# The EU, US and default regions hold blobs of the samples' patients (RU none).
for region in ("eu", "us", "default"):
    assert b"blob:" in by_region[region], f"no blob in region {region}"
assert len(data) > 10000, f"the Redis dumps are suspiciously small ({len(data)} bytes)"
lines = 0
for log in logs:
    for n, line in enumerate(open(log, encoding="utf-8", errors="replace"), 1):
        lines += 1
        leaked = [p for p in phi if p in line]
        assert not leaked, f"{log}:{n} contains {leaked[:5]}"
print(f"scan: {len(phi)} ids, names, identifiers, telecoms and address lines; "
      f"absent from {len(data)} bytes of Redis data in {len(by_region)} regions "
      f"({len(dumps)} servers) and {lines} log lines")
PY

resource_reads() {  # resources of the patients we follow, one per line: exit status
  # pat-us-0003 is stored in the US region (a cluster by default): a read routed by slot.
  for ref in Patient/pat-de-0001 Observation/obs-de-0001-1 Patient/pat-fr-0002 Patient/pat-us-0003; do
    if "$FL_BIN" read "$ref" --config "$config" >"$run/read.json" 2>"$run/read.err"; then
      grep -q "\"id\":\"${ref#*/}\"" "$run/read.json" || fl_die "read $ref returned another resource"
      echo "$ref ok"
    else
      echo "$ref $(cut -d: -f2 <"$run/read.err" | tr -d ' ')"
    fi
  done
}
expect_reads() {
  local got
  got="$(resource_reads)"
  [ "$got" = "$1" ] || fl_die "reads: expected
$1
got
$got
$(cat "$run/read.err")"
}
expect_reads "Patient/pat-de-0001 ok
Observation/obs-de-0001-1 ok
Patient/pat-fr-0002 ok
Patient/pat-us-0003 ok"

# 2. Rotation, in the EU region (where the bundle stores the DE and FR patients read here).
old_kek="$("$FL_BIN" keys list --config "$config" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([k["id"] for k in d["keks"] if k["region"] == "eu" and k["active"]][0])')"
"$FL_BIN" keys add --region eu --config "$config" >"$run/add.json"
if "$FL_BIN" keys retire "$old_kek" --config "$config" 2>"$run/retire.err"; then
  fl_die "retiring a KEK that still wraps master keys must be refused"
fi
grep -q "still wrapped" "$run/retire.err" || fl_die "retire refusal does not say why: $(cat "$run/retire.err")"
"$FL_BIN" keys rotate --config "$config" >"$run/rotate.json"
"$FL_BIN" keys retire "$old_kek" --config "$config" >/dev/null
python3 - "$run/rotate.json" "$run/add.json" "$FL_ROOT/config/samples/events.manifest.json" \
  "$FL_ROOT/config/policies/example-cross-border.json" <<'PY'
import json, sys
regions = {r["region"]: r for r in json.load(open(sys.argv[1]))["regions"]}
added, manifest = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
eea = next(j for j in json.load(open(sys.argv[4]))["jurisdictions"] if j["id"] == "EEA")
# One master key per EEA patient of the samples (each event's key is its patient).
patients = {e["key"] for e in manifest
            if e["valid"] and e["headers"].get("fhir-jurisdiction") in eea["countries"]}
rotated = regions["eu"]
assert rotated["activeKek"] == added["added"], (rotated, added)
assert rotated["rewrapped"] == len(patients) and rotated["raced"] == 0, (rotated, sorted(patients))
assert all(r["rewrapped"] == 0 for name, r in regions.items() if name != "eu"), regions
print(f"rotation: {rotated['rewrapped']} master keys of EEA patients re-wrapped onto {rotated['activeKek']}")
PY
expect_reads "Patient/pat-de-0001 ok
Observation/obs-de-0001-1 ok
Patient/pat-fr-0002 ok
Patient/pat-us-0003 ok"

# 3. Erasure.
blobs_before="$(all_blobs)"
"$FL_BIN" erase Patient/pat-de-0001 --reason "patient request (test)" --config "$config" >"$run/erase.json"
python3 - "$run/erase.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
assert e["regions"]["eu"] == "destroyed", e  # a DE patient: the EU region holds her key
assert all(what == "none" for region, what in e["regions"].items() if region != "eu"), e
assert e["auditEvent"]["resourceType"] == "AuditEvent" and e["auditEvent"]["action"] == "D", e
assert "pat-de-0001" not in json.dumps(e), "the erase output names the patient id"
PY
expect_reads "Patient/pat-de-0001 erased
Observation/obs-de-0001-1 erased
Patient/pat-fr-0002 ok
Patient/pat-us-0003 ok"
blobs_after="$(all_blobs)"
[ "$blobs_before" = "$blobs_after" ] || fl_die "erasure must not need to delete ciphertext"
# A second erase is harmless and says there was nothing left to destroy.
"$FL_BIN" erase Patient/pat-de-0001 --config "$config" | grep -q '"eu":"none"' ||
  fl_die "a repeated erase must report nothing destroyed"
echo "erasure: Patient/pat-de-0001 unreadable, Patient/pat-fr-0002 readable, $blobs_after blobs kept"
