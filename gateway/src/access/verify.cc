#include "fl/gateway/verify.h"

#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/pointer_record.h"

#include <algorithm>

namespace fl::gateway {
namespace {

Error broken(std::string what, std::string where) {
  return Error{ErrorCode::kIntegrity, std::move(what), std::move(where)};
}

// The record of the wanted version, with the region that holds it.
Result<std::pair<std::string, std::string>> find_record(ports::BlobStore& blobs,
                                                        const std::vector<std::string>& regions,
                                                        const std::string& key_hex,
                                                        std::optional<std::uint64_t>& version) {
  std::optional<std::pair<std::string, std::string>> best;
  std::uint64_t best_version = 0;
  for (const auto& region : regions) {
    auto records = blobs.pointer_records(region, key_hex);
    if (!records) return records.error();
    for (const auto& [v, json] : *records) {
      if (version ? v == *version : v > best_version) {
        best = {region, json};
        best_version = v;
      }
    }
  }
  if (!best) {
    return Error{ErrorCode::kNotFound,
                 version ? "no pointer record for version " + std::to_string(*version) +
                               " of this resource in any region"
                         : "no pointer record for this resource in any region",
                 "0x" + key_hex};
  }
  version = best_version;
  return *best;
}

Status check_pointer_mode(ports::LedgerReader& ledger, const PointerRecord& record,
                          Verification& out) {
  const auto& p = record.pointer;
  auto on_chain = ledger.content_hash_of(p.resource_key, p.version);
  if (!on_chain) return on_chain.error();
  if (*on_chain == ports::Hash32{}) {
    return broken("no pointer for version " + std::to_string(p.version) + " on chain",
                  to_0x_hex(p.resource_key));
  }
  if (*on_chain != p.content_hash) {
    return broken("the chain holds content hash " + to_0x_hex(*on_chain) + " for version " +
                      std::to_string(p.version) + ", the pointer record says " +
                      to_0x_hex(p.content_hash),
                  to_0x_hex(p.resource_key));
  }
  out.checks.push_back("the contract's storage holds this content hash for this version");
  auto found = ledger.anchored_with(p);
  if (!found) return found.error();
  if (!*found) {
    return broken(
        "no Anchored event carries this pointer's fields (patient key, policy, "
        "mapping, region, key id)",
        to_0x_hex(p.resource_key));
  }
  out.checks.push_back("its Anchored event carries every field of the pointer record");
  return Ok{};
}

Status check_merkle_mode(ports::LedgerReader& ledger, const PointerRecord& record,
                         Verification& out) {
  const auto& p = record.pointer;
  const auto& proof = *record.proof;
  auto root = ledger.proof_root(p, proof);
  if (!root && root.error().code == ErrorCode::kInvalidInput) {
    return broken("the inclusion proof is malformed: " + root.error().message, "");
  }
  if (!root) return root.error();
  if (*root != proof.root) {
    return broken("the inclusion proof does not lead to the recorded root " +
                      to_0x_hex(proof.root) + " (it leads to " + to_0x_hex(*root) + ")",
                  to_0x_hex(p.resource_key));
  }
  out.checks.push_back("the inclusion proof leads from the pointer's leaf to the recorded root");
  auto info = ledger.anchored_root(proof.root);
  if (!info) return info.error();
  if (!info->has_value()) {
    return broken("the root " + to_0x_hex(proof.root) + " is not anchored on chain",
                  to_0x_hex(p.resource_key));
  }
  if ((*info)->leaf_count != proof.leaf_count) {
    return broken("the chain anchored root " + to_0x_hex(proof.root) + " over " +
                      std::to_string((*info)->leaf_count) + " leaves, the proof says " +
                      std::to_string(proof.leaf_count),
                  to_0x_hex(p.resource_key));
  }
  out.checks.push_back("the root is anchored on chain in block " + std::to_string((*info)->block));
  auto contract_says = ledger.contract_verifies(p, proof);
  if (!contract_says) return contract_says.error();
  if (!*contract_says) return broken("the contract's verifyInclusion answers no", "");
  out.checks.push_back("the contract's verifyInclusion agrees");
  return Ok{};
}

}  // namespace

Result<Verification> verify_resource(ports::LedgerReader& ledger, ports::BlobStore& blobs,
                                     const std::vector<std::string>& regions,
                                     const ports::Hash32& resource_key,
                                     std::optional<std::uint64_t> version) {
  const std::string key_hex = to_hex(resource_key);
  auto found = find_record(blobs, regions, key_hex, version);
  if (!found) return found.error();
  const auto& [region, json] = *found;
  auto record = parse_pointer_record(json);
  if (!record) return record.error();
  const auto& p = record->pointer;
  if (p.resource_key != resource_key || p.version != *version || p.region != region) {
    return broken("the pointer record names another resource, version or region", "0x" + key_hex);
  }
  Verification out{.version = p.version,
                   .mode = std::string(anchor_mode_name(p.mode)),
                   .region = region,
                   .content_hash = to_0x_hex(p.content_hash),
                   .resource_key = to_0x_hex(p.resource_key),
                   .merkle_root = record->proof ? to_0x_hex(record->proof->root) : "",
                   .merkle_leaves = record->proof ? record->proof->leaf_count : 0,
                   .tx_hash = record->tx_hash,
                   .block = record->block};
  out.deleted = std::all_of(p.content_hash.begin(), p.content_hash.end(),
                            [](std::uint8_t b) { return b == 0xff; });
  if (out.deleted) {
    out.checks.push_back("version " + std::to_string(p.version) + " is a delete: no blob");
  } else {
    auto blob = blobs.get(region, to_hex(p.content_hash));
    if (!blob && blob.error().code == ErrorCode::kNotFound) {
      return broken("the blob is missing from region " + region, to_0x_hex(p.content_hash));
    }
    if (!blob) return blob.error();
    const Bytes digest = crypto::sha256(*blob);
    if (!std::equal(digest.begin(), digest.end(), p.content_hash.begin())) {
      return broken("the blob was altered: its SHA-256 is " + to_0x_hex(digest) +
                        ", the pointer says " + to_0x_hex(p.content_hash),
                    "region " + region);
    }
    out.checks.push_back("the blob in region " + region + " hashes to the pointer's content hash");
  }
  Status chain = p.mode == ports::AnchorMode::kMerkle ? check_merkle_mode(ledger, *record, out)
                                                      : check_pointer_mode(ledger, *record, out);
  if (!chain) return chain.error();
  return out;
}

}  // namespace fl::gateway
