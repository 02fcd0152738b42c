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
#include "fl/ports/clock.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/master_key_store.h"
#include "fl/ports/pointer_ledger.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway {

struct ReadResource {
  PointerRecord record;  // what was anchored for this version
  std::string json;      // canonical FHIR JSON: PHI, for the caller to protect
};

// The region in which each resource's pointer records were last found, so that a read asks that
// region instead of every one (the API's readers share one). A hint is only where to look first:
// when that region does not hold the asked version, every region is asked. What it can hide is a
// newer version stored in another region (the patient's residency changed since) while the hint
// is fresh: for at most `ttl`, the latest version read is the newest one of the hinted region.
// Thread-safe; at most `max_entries` are kept (then all are dropped and learnt again).
class RegionHints {
 public:
  RegionHints(ports::Clock& clock, std::chrono::milliseconds ttl, std::size_t max_entries = 200000);

  std::optional<std::string> find(const ports::Hash32& resource_key) const;
  void remember(const ports::Hash32& resource_key, const std::string& region);

 private:
  struct Hint {
    std::string region;
    std::chrono::steady_clock::time_point learnt;
  };
  ports::Clock& clock_;
  const std::chrono::milliseconds ttl_;
  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::map<ports::Hash32, Hint> hints_;
};

class ResourceReader {
 public:
  // `hints`: where to look first (null: every region, every time); it outlives the reader.
  ResourceReader(ports::KeyProvider& keys, ports::BlobStore& blobs,
                 ports::MasterKeyStore& master_keys, ports::PointerLedger& ledger,
                 std::vector<std::string> regions, RegionHints* hints = nullptr);
  ~ResourceReader();

  // `reference` is "Type/id" in the id space of `source`; the latest stored version unless
  // `version` is given.
  Result<ReadResource> read(std::string_view source, std::string_view reference,
                            std::optional<std::uint64_t> version);

  // The same for a resource key (the pseudonym), when the reference is not known.
  Result<ReadResource> read_key(const ports::Hash32& resource_key,
                                std::optional<std::uint64_t> version);

 private:
  // The record of the asked (or latest) version among `regions`; nullopt when none holds it.
  Result<std::optional<PointerRecord>> find_record(std::span<const std::string> regions,
                                                   const std::string& key_hex,
                                                   std::optional<std::uint64_t> version);

  ports::KeyProvider& keys_;
  ports::BlobStore& blobs_;
  ports::PointerLedger& ledger_;
  std::vector<std::string> regions_;
  RegionHints* hints_;
  MasterKeys master_keys_;
  std::unique_ptr<crypto::Sealer> sealer_;
};

}  // namespace fl::gateway
