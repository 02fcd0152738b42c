#include "fl/gateway/stages/protect_stage.h"

#include "fl/base/assert.h"
#include "fl/base/log.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fl::gateway {
namespace {

ports::Hash32 to_hash32(ByteView bytes) {
  ports::Hash32 out{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), out.size()), out.begin());
  return out;
}

// A sentence for whoever reads the dead letter, which names the event but not which of its
// resources: that is the pseudonymous key in `where` (never the FHIR id).
Error conflict(const Sealing& item, const std::string& what) {
  return Error{ErrorCode::kConflict,
               "Version " + std::to_string(item.version) + " of this resource " + what,
               "resource key " + to_0x_hex(item.resource_key)};
}

// The first copy is kept whatever is wrong with it, so the sender's way out is the same; the
// store's problem is the operator's, named by the blob.
Error damaged_claim(const Sealing& item, const std::string& claimed, const std::string& why) {
  return conflict(item, "is already claimed in the store, but " + why +
                            "; publish the change as a new version, and have an operator check "
                            "blob 0x" +
                            claimed + ".");
}

}  // namespace

Bytes seal_context(const ports::Hash32& resource_key, std::uint64_t version,
                   std::string_view region, const ports::Hash32& patient_key,
                   const ports::Hash32& policy_hash) {
  Bytes out = crypto::data_key_info(resource_key, version);
  out.push_back(static_cast<std::uint8_t>(region.size()));
  out.insert(out.end(), region.begin(), region.end());
  out.insert(out.end(), patient_key.begin(), patient_key.end());
  out.insert(out.end(), policy_hash.begin(), policy_hash.end());
  return out;
}

ProtectStage::ProtectStage(ports::KeyProvider& keks, ports::MasterKeyStore& master_keys,
                           ports::BlobStore& blobs)
    : blobs_(blobs), master_keys_(keks, master_keys) {
  auto sealer = crypto::Sealer::create();
  FL_ASSERT(sealer.has_value(), "OpenSSL 3 always provides HMAC-SHA256 and AES-256-GCM");
  sealer_ = std::move(*sealer);
}

ProtectStage::~ProtectStage() = default;

Status ProtectStage::adopt_claim(const std::string& region, const crypto::MasterKey& key,
                                 Sealing& item, const std::string& claimed_hash) {
  auto blob = blobs_.get(region, claimed_hash);
  if (!blob && blob.error().code == ErrorCode::kNotFound) {
    item.refused = damaged_claim(item, claimed_hash, "the copy it names is missing");
    return Ok{};
  }
  if (!blob) return blob.error();
  const Bytes context =
      seal_context(item.resource_key, item.version, region, item.patient_key, item.policy_hash);
  auto plain =
      sealer_->open(key, crypto::data_key_info(item.resource_key, item.version), *blob, context);
  if (!plain) {
    item.refused = damaged_claim(
        item, claimed_hash, "the copy it names cannot be opened (" + plain.error().message + ")");
    return Ok{};
  }
  const bool same = as_chars(*plain) == item.plaintext;
  OPENSSL_cleanse(plain->data(), plain->size());
  if (!same) {
    item.refused = conflict(
        item, "is already stored with other content; publish the change as a new version.");
    return Ok{};
  }
  auto hash = parse_hex(claimed_hash);
  if (!hash || hash->size() != 32) {
    item.refused = damaged_claim(item, claimed_hash, "the claim is not a content hash");
    return Ok{};
  }
  item.content_hash = to_hash32(*hash);
  item.key_id = key.id;
  item.reused = true;
  return Ok{};
}

Status ProtectStage::seal_and_store(const std::string& region, std::span<Sealing*> items) {
  if (items.empty()) return Ok{};
  for (Sealing* item : items) {
    item->refused.reset();
    item->reused = false;
  }
  // Master keys, one lookup for the region's distinct patients.
  std::vector<ports::Hash32> patients;
  for (const Sealing* item : items) patients.push_back(item->patient_key);
  std::sort(patients.begin(), patients.end());
  patients.erase(std::unique(patients.begin(), patients.end()), patients.end());
  auto keys = master_keys_.for_writing(region, patients);
  if (!keys) return keys.error();

  // Claims of versions stored before (a re-delivery).
  std::vector<ports::VersionRef> refs;
  refs.reserve(items.size());
  for (const Sealing* item : items) {
    refs.push_back({.resource_key = to_hex(item->resource_key), .version = item->version});
  }
  auto claims = blobs_.claimed_versions(region, refs);
  if (!claims) return claims.error();

  // Erased patients and claimed versions first; what is left is sealed while it is stored.
  std::vector<Sealing*> fresh;
  std::vector<std::string> fresh_refs;  // their resource keys (hex)
  for (std::size_t i = 0; i < items.size(); ++i) {
    Sealing& item = *items[i];
    if (keys->erased.contains(item.patient_key)) {
      item.refused =
          Error{ErrorCode::kErased,
                "the patient was erased: no new data is stored or anchored for them", "erasure"};
      continue;
    }
    if ((*claims)[i]) {
      const crypto::MasterKey& key = keys->keys.at(item.patient_key);
      if (auto adopted = adopt_claim(region, key, item, *(*claims)[i]); !adopted) return adopted;
      continue;
    }
    fresh.push_back(&item);
    fresh_refs.push_back(std::move(refs[i].resource_key));
  }
  if (fresh.empty()) return Ok{};

  // Each version is sealed when the store asks for it, so the store sends it to Redis while the
  // next are sealed, instead of Redis idling through the sealing and the gateway through the
  // store. The blob goes to the store; its content hash stays here for the claim check.
  std::vector<std::string> sealed_keys(fresh.size());
  auto seal = [&](std::size_t j) -> Result<ports::BlobWrite> {
    Sealing& item = *fresh[j];
    const crypto::MasterKey& key = keys->keys.at(item.patient_key);
    const Bytes context =
        seal_context(item.resource_key, item.version, region, item.patient_key, item.policy_hash);
    auto blob = sealer_->seal(key, crypto::data_key_info(item.resource_key, item.version), context,
                              as_bytes(item.plaintext));
    if (!blob) return blob.error();
    item.key_id = key.id;
    item.content_hash = sealer_->content_hash(*blob);
    sealed_keys[j] = to_hex(item.content_hash);
    // Members assigned one by one: g++ 12 -O3 warns (maybe-uninitialized) on a designated
    // initializer of this struct's strings.
    ports::BlobWrite write;
    write.key = sealed_keys[j];
    write.blob = std::move(*blob);
    write.resource_key = std::move(fresh_refs[j]);  // made once: the store keeps it
    write.version = item.version;
    return write;
  };
  auto stored = blobs_.put_if_absent_streamed(region, fresh.size(), seal);
  if (!stored) return stored.error();
  // A claim lost to another blob: a duplicate in this batch, or another replica, got there
  // first. The blob sealed for it is claimed by nothing: removed first, so that a failed
  // adoption (whose retry finds the claim and never looks at this blob again) cannot leave it.
  // Removing only saves space; the batch is stored either way, so a failure is logged, not
  // retried (a crash before this point leaves such blobs too).
  std::vector<std::string> unclaimed;
  for (std::size_t j = 0; j < fresh.size(); ++j) {
    if ((*stored)[j] != sealed_keys[j]) unclaimed.push_back(sealed_keys[j]);
  }
  if (unclaimed.empty()) return Ok{};
  if (auto removed = blobs_.remove_unclaimed(region, unclaimed); !removed) {
    log::warn("store.unclaimed_blobs_kept", {{"region", region},
                                             {"blobs", std::to_string(unclaimed.size())},
                                             {"error", removed.error().message}});
  }
  for (std::size_t j = 0; j < fresh.size(); ++j) {
    if ((*stored)[j] == sealed_keys[j]) continue;
    Sealing& item = *fresh[j];
    const crypto::MasterKey& key = keys->keys.at(item.patient_key);
    if (auto adopted = adopt_claim(region, key, item, (*stored)[j]); !adopted) return adopted;
  }
  return Ok{};
}

}  // namespace fl::gateway
