// A typed client for contracts/PointerRegistry.sol: deploy it, anchor a batch of pointers in
// one signed transaction, wait for the receipt with a confirmation depth, read the latest
// pointer of a resource key. Nonces are kept locally (several transactions may be in flight)
// and re-read from the node when it reports a nonce it has already seen. One thread at a time.
#pragma once

#include "fl/base/result.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/keccak.h"
#include "fl/ledger/signer.h"
#include "fl/ledger/transaction.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

namespace fl::ledger {

struct PointerRecord {
  Hash32 resource_key{};
  std::uint64_t version = 0;
  Hash32 content_hash{};
  Hash32 policy_hash{};
};

inline constexpr std::string_view kAnchoredEvent = "Anchored(bytes32,uint64,bytes32,bytes32)";
inline constexpr std::string_view kAnchorConflictEvent =
    "AnchorConflict(bytes32,uint64,bytes32,bytes32)";

// Which transaction type to send: legacy (EIP-155), which every EVM chain takes, or EIP-1559
// with maxFee = 2 * base fee + priority fee (0 on a zero-gas permissioned network).
enum class TxType { kLegacy, kEip1559 };

class PointerRegistry {
 public:
  PointerRegistry(JsonRpcClient& rpc, const Signer& signer, std::uint64_t chain_id,
                  Address contract, TxType tx_type = TxType::kLegacy);

  // Deploys the embedded contract from `signer`'s account and waits for it to be mined.
  static Result<Address> deploy(JsonRpcClient& rpc, const Signer& signer, std::uint64_t chain_id,
                                std::chrono::milliseconds timeout);

  // Sends one anchorBatch transaction; returns its hash. kPermissionDenied when the node
  // refuses it (not a writer, no funds), kUnavailable when the node is unreachable.
  Result<Hash32> anchor_batch(std::span<const PointerRecord> pointers);

  // Polls until mined and `confirmations` blocks deep; kPermissionDenied if it reverted,
  // kUnavailable on timeout.
  Result<TxReceipt> wait_for_receipt(const Hash32& tx_hash, std::uint64_t confirmations,
                                     std::chrono::milliseconds timeout);

  // Gateway writers (each replica signs with its own account). Admin only: allows or removes a
  // writer; the deployer is one from the start.
  Result<Hash32> set_writer(const Address& writer, bool allowed);
  // kInvalidInput when the contract does not answer like a PointerRegistry.
  Result<bool> is_writer(const Address& account);

  // Access control. Each sends one transaction and returns its hash (wait_for_receipt to
  // confirm). Codes are short ASCII: a jurisdiction of 1-8 characters ("DE", "EU"), a purpose
  // of use of 1-32 ("TREAT", "ETREAT"); anything else is kInvalidInput before any call.
  // Admin only: registers, updates or deactivates a participant organisation.
  Result<Hash32> set_participant(const Address& participant, std::string_view jurisdiction,
                                 bool active);
  // Writers or admin: a grant until `expires_at` (unix seconds), its revocation, an erasure.
  Result<Hash32> grant(const Hash32& patient_key, const Address& grantee, std::string_view purpose,
                       std::uint64_t expires_at);
  Result<Hash32> revoke(const Hash32& patient_key, const Address& grantee,
                        std::string_view purpose);
  Result<Hash32> mark_erased(const Hash32& patient_key);
  // Whether the participant may read the patient's data for the purpose now.
  Result<bool> can_read(const Hash32& patient_key, const Address& participant,
                        std::string_view purpose);

  // The latest anchored (version, content hash) of a resource key, if any.
  Result<std::optional<std::pair<std::uint64_t, Hash32>>> latest(const Hash32& resource_key);

  const Address& contract() const { return contract_; }

 private:
  Result<Hash32> send(const std::optional<Address>& to, const Bytes& data);
  Result<SignedTransaction> build(std::uint64_t nonce, std::uint64_t gas_limit,
                                  const std::optional<Address>& to, const Bytes& data);

  JsonRpcClient& rpc_;
  const Signer& signer_;
  std::uint64_t chain_id_;
  Address contract_;
  TxType tx_type_;
  std::optional<std::uint64_t> next_nonce_;
};

}  // namespace fl::ledger
