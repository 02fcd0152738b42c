// The ledger, read-only, as an auditor's verification needs it (`ledger verify`, the verify
// service): what the chain holds for a pointer or a Merkle root. The EVM adapter implements it
// over the PointerRegistry contract; the leaf and root arithmetic of merkle mode is the
// ledger's, so it is asked here rather than done in the gateway.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/pointer_ledger.h"

#include <cstdint>
#include <optional>

namespace fl::ports {

struct AnchoredRoot {
  std::uint64_t block = 0;
  std::uint32_t leaf_count = 0;
};

class LedgerReader {
 public:
  virtual ~LedgerReader() = default;

  // The content hash the contract's storage holds for a version; all zeros when none.
  virtual Result<Hash32> content_hash_of(const Hash32& resource_key, std::uint64_t version) = 0;
  // Whether an Anchored event carries every field of `pointer`.
  virtual Result<bool> anchored_with(const Pointer& pointer) = 0;
  // The root `proof` leads to from `pointer`'s leaf; kInvalidInput when it is malformed.
  virtual Result<Hash32> proof_root(const Pointer& pointer, const InclusionProof& proof) = 0;
  // The root as anchored on chain, if it is.
  virtual Result<std::optional<AnchoredRoot>> anchored_root(const Hash32& root) = 0;
  // The contract's own inclusion check, a second opinion to proof_root.
  virtual Result<bool> contract_verifies(const Pointer& pointer, const InclusionProof& proof) = 0;
};

}  // namespace fl::ports
