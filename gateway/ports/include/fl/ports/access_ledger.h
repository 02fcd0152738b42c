// The ledger's access side as the access services need it: who is a registered participant,
// in which jurisdiction, whether a grant lets it read a patient's data for a purpose now, and
// the transactions that change access (grant, revoke, erasure mark), each sent, then waited for
// separately, so that a caller can tell "sent, not confirmed" from "failed".
// The EVM adapter implements it over the PointerRegistry contract (evm_access_ledger.h); the
// services are tested against a fake of it.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/pointer_ledger.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace fl::ports {

// A participant's ledger account: 20 bytes, as the contract names it.
using Address = std::array<std::uint8_t, 20>;

struct ParticipantState {
  std::string address;       // as the ledger writes it (EIP-55 checksummed on an EVM chain)
  std::string jurisdiction;  // ISO 3166-1 alpha-2 as registered; "" when never registered
  bool active = false;
};

class AccessLedger {
 public:
  virtual ~AccessLedger() = default;

  virtual Result<ParticipantState> participant(const Address& who) = 0;
  // The contract's canRead: an unexpired, unrevoked grant of the patient's data to `reader`
  // for `purpose`, and the patient not erased.
  virtual Result<bool> can_read(const Hash32& patient_key, const Address& reader,
                                std::string_view purpose) = 0;

  // Each sends one transaction (the gateway's account must be a writer) and answers its hash.
  // kInvalidInput for a code the contract cannot hold (purpose 1-32 ASCII characters).
  virtual Result<Hash32> send_grant(const Hash32& patient_key, const Address& grantee,
                                    std::string_view purpose, std::uint64_t expires_at) = 0;
  virtual Result<Hash32> send_revoke(const Hash32& patient_key, const Address& grantee,
                                     std::string_view purpose) = 0;
  virtual Result<Hash32> send_erasure(const Hash32& patient_key) = 0;
  // The block a sent transaction was mined in, once the configured confirmations are reached;
  // kUnavailable when it is not confirmed in time (its outcome then unknown), another code when
  // it failed (reverted).
  virtual Result<std::uint64_t> wait_mined(const Hash32& tx) = 0;
};

}  // namespace fl::ports
