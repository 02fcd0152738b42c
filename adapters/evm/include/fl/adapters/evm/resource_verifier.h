// `fhir-ledger ledger verify`: checks one resource version end to end with nothing but its
// region's store and the chain. Blob -> content hash in the pointer record -> the pointer on
// chain (pointer mode: the contract's storage and its Anchored event; merkle mode: the
// inclusion proof -> the recorded root -> the root anchored on chain, and the contract's own
// verifyInclusion). Every mismatch is a kIntegrity error that says which link broke.
#pragma once

#include "fl/base/result.h"
#include "fl/ledger/pointer_registry.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/pointer_ledger.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fl::evm {

struct Verification {
  std::uint64_t version = 0;
  std::string mode;  // "pointer" or "merkle"
  std::string region;
  bool deleted = false;
  std::string content_hash;  // 0x-hex
  std::string tx_hash;
  std::uint64_t block = 0;
  std::vector<std::string> checks;  // what was checked, in order, in words
};

// The contract's view of a gateway pointer (the same fields; the mode is not on chain).
ledger::PointerRecord to_ledger_record(const ports::Pointer& pointer);

// The latest version unless `version` is given. kNotFound when no region holds a record for
// the resource key; kIntegrity when any link fails; kUnavailable when a service is down.
Result<Verification> verify_resource(ledger::PointerRegistry& registry, ports::BlobStore& blobs,
                                     const std::vector<std::string>& regions,
                                     const ledger::Hash32& resource_key,
                                     std::optional<std::uint64_t> version);

}  // namespace fl::evm
