#!/usr/bin/env python3
"""Counts, from the chain and the receipts, what each of two gateways of one group anchored.

    two_gateways_count.py MANIFEST EVENTS RECEIPTS KILLED_AT COMMITTED_A A=0xADDRESS B=0xADDRESS
                          [NAME=METRICS_FILE...]

MANIFEST is the published events, EVENTS the fhir.events topic as lines "partition offset" (what
the broker holds), RECEIPTS the fhir.receipts topic unsealed (lines "partition offset JSON"),
KILLED_AT the unix time gateway A was SIGKILLed, COMMITTED_A how many events A had committed
by then, A= and B= the gateways' ledger accounts, METRICS files NAME=FILE of /metrics scraped
from a gateway (its consumer lag gauges name the partitions it polled; the gauges stay when a
partition moves away): A's and B-at-kill's, scraped before the kill, must name partitions, and
no partition twice (each had its own share). The environment of scripts/services gives the RPC URL and the
contract. tests/e2e/count_anchors.py counts lost and doubled versions; this adds what it cannot
see with one gateway:
  * who anchored what: each Anchored event and each root's leaves by the account that sent
    its transaction; an account other than A's and B's fails the count;
  * which partitions each account anchored for (a receipt's origin, the version's anchoring
    transaction's sender): A anchored something, and B anchored in every partition (it took
    A's over);
  * order: per resource, its versions' anchors sorted by (block, log index, leaf index in the
    root) must have increasing versions;
  * receipts per origin (topic, partition, offset): one at least for every published event;
    repeats (at least once: a batch whose receipts were sent and whose offsets were not
    committed when its partitions moved) are counted, not failed;
  * the takeover pause: from the kill to the first block where B anchored an event of a
    partition only A had anchored for until then (block timestamps: whole seconds).
"""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import count_anchors as ca  # noqa: E402  (rpc, logs, word: the same reading of the chain)


def main():
    manifest_file, events_file, receipts_file, killed_at, committed_a = sys.argv[1:6]
    killed_at, committed_a = int(killed_at), int(committed_a)
    accounts, metrics = {}, {}
    for arg in sys.argv[6:]:
        name, value = arg.split("=", 1)
        if value.startswith("0x"):
            accounts[value.lower()] = name
        else:
            metrics[name] = value
    url, contract = os.environ["FL_LEDGER_RPC_URL"], os.environ["FL_LEDGER_CONTRACT"]
    manifest = json.load(open(manifest_file))
    events = {("fhir.events", int(p), int(o)) for p, o in (line.split() for line in open(events_file))}
    problems = []
    if len(events) != len(manifest):
        problems.append(f"fhir.events holds {len(events)} events, {len(manifest)} were published")

    senders, blocks = {}, {}

    def sender(tx):
        if tx not in senders:
            senders[tx] = ca.rpc(url, "eth_getTransactionByHash", [tx])["from"].lower()
        return senders[tx]

    def timestamp(block):
        if block not in blocks:
            blocks[block] = int(ca.rpc(url, "eth_getBlockByNumber", [hex(block), False])
                                ["timestamp"], 16)
        return blocks[block]

    # Every anchor on chain, by the account that sent it, with its position.
    anchored_by = collections.Counter()
    txs_by = collections.defaultdict(set)
    where = {}  # (resource key, version) -> (block, log index, leaf index, tx)
    for log in ca.logs(url, contract, "Anchored(bytes32,bytes32,uint64,bytes32,bytes16,bytes32)"):
        tx = log["transactionHash"]
        anchored_by[sender(tx)] += 1
        txs_by[sender(tx)].add(tx)
        version = (log["topics"][1], int(ca.word(log["data"], 0), 16))
        where.setdefault(version, (int(log["blockNumber"], 16), int(log["logIndex"], 16), 0, tx))
    roots = {}
    for log in ca.logs(url, contract, "RootAnchored(bytes32,uint32)"):
        tx = log["transactionHash"]
        anchored_by[sender(tx)] += int(ca.word(log["data"], 0), 16)
        txs_by[sender(tx)].add(tx)
        roots[log["topics"][1]] = (int(log["blockNumber"], 16), int(log["logIndex"], 16), tx)

    receipts = collections.Counter()
    partitions_of = collections.defaultdict(set)  # account -> partitions it anchored for
    first_block = collections.defaultdict(dict)  # account -> partition -> first block
    for line in open(receipts_file):
        r = json.loads(line.split(" ", 2)[2])
        o = r["origin"]
        receipts[(o["topic"], o["partition"], o["offset"])] += 1
        m = r.get("merkle")
        if m:
            if m["root"] not in roots:
                continue  # count_anchors.py reports a proof that reaches no root
            block, index, tx = roots[m["root"]]
            where.setdefault((r["resourceKey"], r["version"]), (block, index, m["index"], tx))
        at = where.get((r["resourceKey"], r["version"]))
        if at is None:
            continue  # lost: count_anchors.py says so
        who = sender(at[3])
        partitions_of[who].add(o["partition"])
        first = first_block[who].get(o["partition"])
        first_block[who][o["partition"]] = at[0] if first is None else min(first, at[0])

    # Order: each resource's versions, by where they were anchored.
    by_resource = collections.defaultdict(list)
    for (key, version), at in where.items():
        by_resource[key].append((at[:3], version))
    violations = 0
    for key, anchors in by_resource.items():
        versions = [v for _, v in sorted(anchors)]
        bad = sum(1 for a, b in zip(versions, versions[1:]) if b <= a)
        if bad and violations < 5:
            problems.append(f"resource {key}: versions anchored in the order {versions}")
        violations += bad

    strangers = set(anchored_by) - set(accounts)
    if strangers:
        problems.append(f"anchored by accounts of neither gateway: {sorted(strangers)}")
    a, b = (next(acc for acc, n in accounts.items() if n == name) for name in ("A", "B"))
    if not anchored_by[a]:
        problems.append("gateway A anchored nothing: it never had partitions with work")
    published = {p for (_, p, _) in events}
    if partitions_of[b] != published:
        problems.append(f"B anchored for partitions {sorted(partitions_of[b])}, events were on "
                        f"{sorted(published)}: it did not take over every partition")
    lost_receipts = len(events - set(receipts))
    if lost_receipts:
        problems.append(f"{lost_receipts} published event(s) without a receipt")
    if set(receipts) - events:
        problems.append(f"{len(set(receipts) - events)} receipt(s) for events fhir.events lacks")

    # The takeover pause: in each partition A anchored for and B had not before the kill, how
    # long after the kill B's first anchor came.
    takeover = []
    for p in partitions_of[a]:
        first = first_block[b].get(p)
        if first is not None and timestamp(first) >= killed_at:
            takeover.append(timestamp(first) - killed_at)

    repeated = sum(n - 1 for n in receipts.values())
    print(f"events {len(manifest)}: anchored by A {anchored_by[a]} in {len(txs_by[a])} "
          f"transaction(s) ({committed_a} committed by A, "
          f"{max(0, anchored_by[a] - committed_a)} anchored and not committed: B's to re-read), "
          f"by B {anchored_by[b]} in {len(txs_by[b])}; order violations {violations}")
    print(f"partitions anchored for: A {sorted(partitions_of[a])}, B {sorted(partitions_of[b])}; "
          f"B's first anchor in A's partitions {', '.join(f'{t} s' for t in sorted(takeover)) or '-'}"
          f" after the kill")
    print(f"receipts {sum(receipts.values())} for {len(receipts)} of {len(events)} events: "
          f"missing {lost_receipts}, repeated {repeated}")
    polled = {}
    for name, path in sorted(metrics.items()):
        polled[name] = {int(line.split('partition="')[1].split('"')[0]) for line in open(path)
                        if line.startswith("fhir_ledger_consumer_lag_messages{")}
        print(f"/metrics of {name}: consumer lag reported for partitions {sorted(polled[name])}")
    before = [polled.get(name, set()) for name in ("A", "B-at-kill")]
    if not all(before) or before[0] & before[1]:
        problems.append(f"before the kill A and B polled partitions {sorted(before[0])} and "
                        f"{sorted(before[1])}: not two shares")
    for p in problems[:20]:
        print(f"  {p}")
    if problems or violations:
        sys.exit(1)


if __name__ == "__main__":
    main()
