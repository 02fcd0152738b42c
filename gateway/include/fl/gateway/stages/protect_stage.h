// Stage 5 of the pipeline: pseudonymize and encrypt one resource version. The resource key on
// the ledger is HMAC-SHA256(pepper, "Type/id"), so no FHIR id is enumerable on chain. The
// canonical JSON is sealed with AES-256-GCM under a data key derived from the active key, with
// the resource key, version, region and policy hash bound as associated data; the content hash
// is SHA-256 of the sealed blob. Sealing is deterministic for the same input, so re-delivery
// after a crash produces the same blob and the same content hash. Pipeline thread only.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/crypto/sealer.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/pointer_ledger.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fl::gateway {

struct SealedResource {
  ports::Hash32 resource_key{};
  std::uint64_t version = 0;
  std::string region;
  std::string key_id;
  ports::Hash32 content_hash{};
  Bytes blob;
};

class ProtectStage {
 public:
  explicit ProtectStage(ports::KeyProvider& keys);

  // HMAC-SHA256(pepper, reference); the pseudonym used on the ledger and in receipts.
  Result<ports::Hash32> resource_key(std::string_view reference);
  // HMAC-SHA256(pepper, "patient:" + "Patient/<id>"): the patient's pseudonym for grants and
  // erasure, domain-separated from the Patient resource's own resource key.
  Result<ports::Hash32> patient_key(std::string_view patient_reference);

  Result<SealedResource> run(std::string_view reference, std::uint64_t version,
                             const std::string& region, const ports::Hash32& policy_hash,
                             std::string_view canonical_json);

 private:
  ports::KeyProvider& keys_;
  std::unique_ptr<crypto::Sealer> sealer_;
};

// The associated data that binds a blob to its place: resource key, version (8 bytes, big
// endian), region, policy hash. Reading code rebuilds it to open the blob.
Bytes seal_context(const ports::Hash32& resource_key, std::uint64_t version,
                   std::string_view region, const ports::Hash32& policy_hash);

}  // namespace fl::gateway
