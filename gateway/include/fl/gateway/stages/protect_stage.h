// Stages 5 and 6 of the pipeline: encrypt and store off-chain, under pseudonyms only
// (pseudonyms.h), so no FHIR id appears on chain or in Redis keys. Each resource version is sealed
// (crypto/envelope.h) under a data key derived from its patient's master key (keys/master_keys.h),
// with a random nonce, and stored in its region, content-addressed by the SHA-256 of the blob.
//
// Random nonces make each sealing of the same version a different blob, so the store keeps a
// claim per version naming its first blob. A re-delivered event (after a crash) finds the claim,
// opens that blob, and reuses it when the content is the same: one blob, one content hash, one
// anchor. Different content under a claimed version is refused as a conflict, before anything
// reaches the ledger. Pipeline thread only.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/crypto/envelope.h"
#include "fl/gateway/keys/master_keys.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/master_key_store.h"
#include "fl/ports/pointer_ledger.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fl::gateway {

// One resource version to seal and store: the inputs, then what run() found.
struct Sealing {
  ports::Hash32 resource_key{};
  ports::Hash32 patient_key{};  // zero: the region's shared key
  std::uint64_t version = 0;
  ports::Hash32 policy_hash{};
  std::string_view plaintext;  // canonical JSON; must outlive the call

  std::string key_id;  // the master key's id
  ports::Hash32 content_hash{};
  // The version's first blob was already stored. Otherwise (and not refused) this call stored
  // the blob and claimed the version: the caller releases that claim (BlobStore::release_claims)
  // if it refuses the item's event after all.
  bool reused = false;
  std::optional<Error> refused;  // erased patient or conflicting content: dead-letter it
};

class ProtectStage {
 public:
  ProtectStage(ports::KeyProvider& keks, ports::MasterKeyStore& master_keys,
               ports::BlobStore& blobs);
  ~ProtectStage();

  // Seals and stores one region's versions: a round trip for their master keys (another when
  // new ones are made), one for their claims, one to store, which is sent as the versions are
  // sealed. Environment failures are returned (the caller retries the whole call, which is
  // idempotent: versions stored before a failure are found by their claims and reused); data
  // refusals are set per item.
  Status seal_and_store(const std::string& region, std::span<Sealing*> items);

 private:
  // A claimed version: reuse its first blob if it holds the same content, else refuse.
  Status adopt_claim(const std::string& region, const crypto::MasterKey& key, Sealing& item,
                     const std::string& claimed_hash);

  ports::BlobStore& blobs_;
  MasterKeys master_keys_;
  std::unique_ptr<crypto::Sealer> sealer_;
};

// The context that binds a blob to its place (the AAD after the blob header): resource key,
// version (8 bytes, big endian), region, patient key, policy hash. Readers rebuild it.
Bytes seal_context(const ports::Hash32& resource_key, std::uint64_t version,
                   std::string_view region, const ports::Hash32& patient_key,
                   const ports::Hash32& policy_hash);

}  // namespace fl::gateway
