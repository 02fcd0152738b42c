// The verify use case (`fhir-ledger ledger verify`, and the auditors' GET /ledger of issue 15):
// one resource version checked end to end with nothing but its region's store and the chain.
// Blob -> content hash in the pointer record -> the pointer on chain (pointer mode: the
// contract's storage and its Anchored event; merkle mode: the inclusion proof -> the recorded
// root -> the root anchored on chain, and the contract's own verifyInclusion). Every mismatch
// is a kIntegrity error that says which link broke.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/ledger_reader.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fl::gateway {

struct Verification {
  std::uint64_t version = 0;
  std::string mode;  // "pointer" or "merkle"
  std::string region;
  bool deleted = false;
  std::string content_hash;         // 0x-hex
  std::string resource_key;         // 0x-hex: what an auditor asks the contract about
  std::string merkle_root;          // 0x-hex in merkle mode, else ""
  std::uint64_t merkle_leaves = 0;  // the leaves under that root
  std::string tx_hash;
  std::uint64_t block = 0;
  std::vector<std::string> checks;  // what was checked, in order, in words
};

// The latest version unless `version` is given, looked for in `regions`. kNotFound when no
// region holds a record for the resource key; kIntegrity when any link fails; kUnavailable
// when a service is down.
Result<Verification> verify_resource(ports::LedgerReader& ledger, ports::BlobStore& blobs,
                                     const std::vector<std::string>& regions,
                                     const ports::Hash32& resource_key,
                                     std::optional<std::uint64_t> version);

}  // namespace fl::gateway
