// ResourceReader: one stored resource version back to its canonical FHIR JSON, for the tools
// today and the read API later (which adds the grant and policy checks in front). The pointer
// record in the resource's region says where and under which patient it lies; then, in order:
// the ledger's erasure mark, the blob's SHA-256 against the recorded content hash, the patient's
// master key (gone once erased), and the AEAD tag over the blob and its place. Each failure is
// its own code: kNotFound (never stored), kErased (erased: the ciphertext may remain but cannot
// be opened), kIntegrity (altered), kUnavailable (a service is down). One thread per instance.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/crypto/envelope.h"
#include "fl/gateway/keys/master_keys.h"
#include "fl/gateway/pointer_record.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/master_key_store.h"
#include "fl/ports/pointer_ledger.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway {

struct ReadResource {
  PointerRecord record;  // what was anchored for this version
  std::string json;      // canonical FHIR JSON: PHI, for the caller to protect
};

class ResourceReader {
 public:
  ResourceReader(ports::KeyProvider& keys, ports::BlobStore& blobs,
                 ports::MasterKeyStore& master_keys, ports::PointerLedger& ledger,
                 std::vector<std::string> regions);
  ~ResourceReader();

  // `reference` is "Type/id" in the id space of `source`; the latest stored version unless
  // `version` is given.
  Result<ReadResource> read(std::string_view source, std::string_view reference,
                            std::optional<std::uint64_t> version);

  // The same for a resource key (the pseudonym), when the reference is not known.
  Result<ReadResource> read_key(const ports::Hash32& resource_key,
                                std::optional<std::uint64_t> version);

 private:
  ports::KeyProvider& keys_;
  ports::BlobStore& blobs_;
  ports::PointerLedger& ledger_;
  std::vector<std::string> regions_;
  MasterKeys master_keys_;
  std::unique_ptr<crypto::Sealer> sealer_;
};

}  // namespace fl::gateway
