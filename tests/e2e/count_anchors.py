#!/usr/bin/env python3
"""Counts, from the chain, how often each published resource version was anchored.

    count_anchors.py MANIFEST CONFIG RECEIPTS DEAD_LETTERS KILLS

MANIFEST is the published events (one entry per Kafka message, with the `reference` and
`version` of its resource; identical copies appear twice), CONFIG the gateway config (its
ledger.anchoring says which mode each resource type gets), RECEIPTS the fhir.receipts topic as
lines "partition offset JSON" (every offset from 0, none missing), DEAD_LETTERS how many
messages fhir.dead-letters holds, KILLS how many SIGKILLs the run made (printed only). The
environment of scripts/services gives the RPC URL, the contract and each region's Redis.

How the count is made. The receipts topic is at least once (a kill between flushing receipts
and committing repeats them), so receipts are never counted; they only name things the chain is
then asked about:
  * pointer mode: every Anchored event of the contract (eth_getLogs), counted per (resource key,
    version). The resource key of a published (source, Type/id) is the one its receipts name.
  * merkle mode: the chain holds only RootAnchored(root, leafCount), so a leaf is counted when a
    receipt's inclusion proof, applied to the leaf of the full pointer kept in the region's Redis
    (ptr:<resource key>, the fields the leaf hashes), yields a root that RootAnchored names, at
    an index below that root's leaf count on chain. Identical receipts name the same
    (root, index) and count once; the same version under two roots counts twice.
    Leaves no receipt accounts for (sum of the leafCounts on chain minus the (root, index)
    slots proven) are leaves a root took without the gateway ever reporting them: the gateway
    only anchors versions it consumed, so each is a second anchoring of some version and counts
    as doubled.
A version is lost when neither mode put it on chain, doubled once per anchoring beyond the
first (Anchored events plus proven leaves plus, for merkle mode, unaccounted leaves).
"""
import collections
import json
import os
import subprocess
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAST = os.path.join(ROOT, "node_modules/@foundry-rs/cast-linux-amd64/bin/cast")
JS_SHA3 = os.path.join(ROOT, "node_modules/js-sha3")

# Reads lines {"leaf": hex preimage, "index", "count", "proof": [hex...]} and prints the root
# each proof yields (contracts/PointerRegistry.sol verifyInclusion: 0x01 || left || right, a
# last node without a sibling moves up unchanged).
ROOT_OF_PROOF_JS = r"""
const { keccak256 } = require(process.argv[1]);
const hex = (s) => Buffer.from(s.replace(/^0x/, ''), 'hex');
const inner = (l, r) => Buffer.from(keccak256.arrayBuffer(Buffer.concat([Buffer.from([1]), l, r])));
const out = [];
for (const line of require('fs').readFileSync(0, 'utf8').split('\n')) {
  if (!line) continue;
  const q = JSON.parse(line);
  let node = Buffer.from(keccak256.arrayBuffer(hex(q.leaf)));
  let idx = q.index, n = q.count, used = 0, ok = idx < n;
  while (ok && n > 1) {
    if (idx % 2 === 1) {
      if (used === q.proof.length) { ok = false; break; }
      node = inner(hex(q.proof[used++]), node);
    } else if (idx + 1 < n) {
      if (used === q.proof.length) { ok = false; break; }
      node = inner(node, hex(q.proof[used++]));
    }
    idx = Math.floor(idx / 2);
    n = Math.floor((n + 1) / 2);
  }
  out.push(ok && used === q.proof.length ? '0x' + node.toString('hex') : '-');
}
process.stdout.write(out.join('\n') + '\n');
"""


def rpc(url, method, params):
    req = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    answer = json.load(urllib.request.urlopen(urllib.request.Request(
        url, json.dumps(req).encode(), {"content-type": "application/json"}), timeout=120))
    if "error" in answer:
        sys.exit(f"{method}: {answer['error']}")
    return answer["result"]


def topic(signature):
    return subprocess.check_output([CAST, "keccak", signature], text=True).strip()


def logs(url, contract, signature):
    return rpc(url, "eth_getLogs", [{"address": contract, "fromBlock": "0x0", "toBlock": "latest",
                                     "topics": [topic(signature)]}])


def word(data, i):
    return "0x" + data[2 + 64 * i: 2 + 64 * (i + 1)]


def ascii_word(text, size):
    raw = text.encode()
    assert 0 < len(raw) <= size, text
    return raw.hex().ljust(64, "0")


def leaf_preimage(record):
    """0x00 || abi.encode(Pointer) of a pointer record (PointerRegistry.pointerLeaf)."""
    return "00" + "".join([
        record["resourceKey"][2:], record["patientKey"][2:], f"{record['version']:064x}",
        record["contentHash"][2:], record["policyHash"][2:], record["mappingHash"][2:],
        ascii_word(record["region"], 16), ascii_word(record["keyId"], 32)])


def pointer_records():
    """Every pointer record in every region's Redis: (resource key, version) -> record."""
    records = {}
    for region in os.environ["FL_REDIS_REGIONS"].split():
        upper = region.upper().replace("-", "_")
        port = os.environ[f"FL_REDIS_{upper}_PORT"]
        cli = ["redis-cli", "-h", os.environ[f"FL_REDIS_{upper}_HOST"], "-p", port]
        keys = subprocess.check_output(cli + ["--scan", "--pattern", "ptr:*"], text=True).split()
        if not keys:
            continue
        lines = subprocess.run(cli + ["--raw"], input="".join(f"HGETALL {k}\n" for k in keys),
                               capture_output=True, text=True, check=True).stdout.splitlines()
        for value in lines[1::2]:  # field (the version), value (the record), key after key
            record = json.loads(value)
            records[(record["resourceKey"], record["version"])] = record
    return records


def main():
    manifest_file, config_file, receipts_file, dead, kills = sys.argv[1:6]
    url, contract = os.environ["FL_LEDGER_RPC_URL"], os.environ["FL_LEDGER_CONTRACT"]
    anchoring = json.load(open(config_file))["ledger"]["anchoring"]

    def mode_of(resource_type):
        return anchoring.get("byResourceType", {}).get(resource_type,
                                                       anchoring.get("default", "pointer"))

    manifest = json.load(open(manifest_file))
    expected = {}  # (source, reference, version) -> mode
    for e in manifest:
        expected[(e["headers"]["fhir-source"], e["reference"], e["version"])] = \
            mode_of(e["reference"].split("/")[0])
    copies = len(manifest) - len(expected)

    receipts, offsets = [], collections.defaultdict(list)
    for line in open(receipts_file):
        partition, offset, text = line.split(" ", 2)
        offsets[partition].append(int(offset))
        receipts.append(json.loads(text))
    for partition, read in offsets.items():
        assert read == list(range(len(read))), f"receipts of partition {partition} are missing"
    key_of = {}
    for r in receipts:
        known = key_of.setdefault((r["source"], r["reference"]), r["resourceKey"])
        assert known == r["resourceKey"], f"{r['reference']}: receipts name two resource keys"

    problems = []
    # Pointer mode: Anchored(resourceKey indexed, patientKey indexed, version, contentHash, ...).
    anchored = collections.Counter()
    anchoring_tx = {}  # (resource key, version) or root -> the transaction that put it on chain
    for log in logs(url, contract, "Anchored(bytes32,bytes32,uint64,bytes32,bytes16,bytes32)"):
        version = (log["topics"][1], int(word(log["data"], 0), 16))
        anchored[version] += 1
        anchoring_tx[version] = log["transactionHash"]
    conflicts = logs(url, contract, "AnchorConflict(bytes32,uint64,bytes32,bytes32)")
    if conflicts:
        problems.append(f"{len(conflicts)} AnchorConflict event(s): a version offered with "
                        "another content hash")

    # Merkle mode: the roots on chain, and the receipts' proofs checked against them.
    roots = {}
    for log in logs(url, contract, "RootAnchored(bytes32,uint32)"):
        assert log["topics"][1] not in roots, "a root anchored twice"
        roots[log["topics"][1]] = int(word(log["data"], 0), 16)
        anchoring_tx[log["topics"][1]] = log["transactionHash"]
    # Each receipt must name the transaction where an auditor finds its anchor.
    misnamed = sum(1 for r in receipts if r["txHash"] != anchoring_tx.get(
        r["merkle"]["root"] if r.get("merkle") else (r["resourceKey"], r["version"]), r["txHash"]))
    if misnamed:
        problems.append(f"{misnamed} receipt(s) name another transaction than the one that "
                        "anchored their version or root")
    records = pointer_records()
    claims = {}  # (root, index) -> (resource key, version, leaf preimage, proof)
    for r in receipts:
        m = r.get("merkle")
        if not m:
            continue
        record = records.get((r["resourceKey"], r["version"]))
        if record is None or record["contentHash"] != r["contentHash"]:
            problems.append(f"{r['reference']} v{r['version']}: no pointer record for its receipt")
            continue
        slot = (m["root"], m["index"])
        claim = (r["resourceKey"], r["version"], leaf_preimage(record), tuple(m["proof"]))
        if claims.setdefault(slot, claim) != claim:
            problems.append(f"two different receipts for leaf {m['index']} of root {m['root']}")
    queries = [{"leaf": leaf, "index": index, "count": roots.get(root, 0), "proof": list(proof)}
               for (root, index), (_, _, leaf, proof) in claims.items()]
    computed = subprocess.run(["node", "-e", ROOT_OF_PROOF_JS, JS_SHA3],
                              input="".join(json.dumps(q) + "\n" for q in queries),
                              capture_output=True, text=True, check=True).stdout.split()
    leaves = collections.Counter()  # (resource key, version) -> proven leaves
    proven_slots = 0
    proven_in = collections.Counter()  # root -> its proven leaves
    for ((root, _), (key, version, _, _)), got in zip(claims.items(), computed):
        if got != root:
            problems.append(f"a receipt's proof for {key} v{version} does not reach an anchored "
                            f"root ({root})")
            continue
        leaves[(key, version)] += 1
        proven_slots += 1
        proven_in[root] += 1
    unaccounted = sum(roots.values()) - proven_slots
    for root, count in roots.items():
        if proven_in[root] != count:
            problems.append(f"root {root} (transaction {anchoring_tx[root]}): {count} leaves on "
                            f"chain, {proven_in[root]} named by a receipt")

    lost = collections.Counter()
    doubled = collections.Counter()
    versions = collections.Counter(expected.values())
    mine = set()
    for (source, reference, version), mode in expected.items():
        key = key_of.get((source, reference), "-")  # no receipt at all: lost either way
        mine.add((key, version))
        n_pointer, n_merkle = anchored[(key, version)], leaves[(key, version)]
        if (n_pointer if mode == "merkle" else n_merkle):
            problems.append(f"{reference} v{version} ({mode} mode) anchored in the other mode")
        if n_pointer + n_merkle == 0:
            lost[mode] += 1
            if len(problems) < 20:
                problems.append(f"lost: {reference} v{version} ({mode} mode)")
        doubled[mode] += max(0, n_pointer + n_merkle - 1)
    doubled["merkle"] += unaccounted
    strangers = [k for k in list(anchored) + list(leaves) if k not in mine]
    if strangers:
        problems.append(f"{len(strangers)} anchored version(s) that were never published")
    if int(dead):
        problems.append(f"{dead} event(s) dead-lettered")

    print(f"events {len(manifest)} ({len(expected)} resource versions, {copies} identical "
          f"copies), kills {kills}, receipts {len(receipts)} (duplicates included), "
          f"dead letters {dead}")
    print(f"pointer mode: {versions['pointer']} versions, {sum(anchored.values())} Anchored "
          f"events: lost {lost['pointer']}, doubled {doubled['pointer']}")
    print(f"merkle mode:  {versions['merkle']} versions, {len(roots)} roots over "
          f"{sum(roots.values())} leaves ({proven_slots} proven, {unaccounted} unaccounted): "
          f"lost {lost['merkle']}, doubled {doubled['merkle']}")
    for p in problems[:20]:
        print(f"  {p}")
    if problems or sum(lost.values()) or sum(doubled.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
