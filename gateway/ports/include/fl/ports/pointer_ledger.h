// The ledger as the pipeline sees it: anchor a batch of pointers in one transaction and wait
// for it to be confirmed. adapters/evm implements it on ledger-client; anchors are idempotent
// on chain (the same resource key, version and content hash anchored twice is one pointer and
// one event), which is what makes re-delivery after a crash safe. Pipeline thread only.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/types.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace fl::ports {

using Hash32 = std::array<std::uint8_t, 32>;

// What goes on chain: no PHI, no FHIR id.
struct Pointer {
  Hash32 resource_key{};  // HMAC-SHA256(pepper, "Type/id")
  std::uint64_t version = 0;
  Hash32 content_hash{};  // SHA-256 of the ciphertext
  Hash32 policy_hash{};   // SHA-256 of the canonical policy bundle that decided
};

struct AnchorTicket {
  std::string tx_hash;  // 0x-hex
};

struct AnchorConfirmation {
  std::string tx_hash;  // 0x-hex
  std::uint64_t block = 0;
  std::uint64_t gas_used = 0;
};

class PointerLedger {
 public:
  virtual ~PointerLedger() = default;

  // Sends one transaction holding all pointers. kUnavailable: node down, retry later.
  virtual Result<AnchorTicket> submit(std::span<const Pointer> batch) = 0;

  // Waits until the transaction is mined and has the configured confirmations. kConflict or
  // kPermissionDenied when it reverted.
  virtual Result<AnchorConfirmation> await(const AnchorTicket& ticket) = 0;
};

}  // namespace fl::ports
