// A typed client for contracts/PointerRegistry.sol: deploy it, anchor a batch of pointers in
// one signed transaction, wait for the receipt with a confirmation depth, read the latest
// pointer of a resource key. Nonces are kept locally (several transactions may be in flight)
// and re-read from the node when it reports a nonce it has already seen. One thread at a time.
#pragma once

#include "fl/base/result.h"
#include "fl/ledger/abi.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/keccak.h"
#include "fl/ledger/signer.h"
#include "fl/ledger/transaction.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fl::ledger {

// The contract's Pointer struct. `region` (1-16) and `key_id` (1-32) are printable ASCII,
// stored left-aligned; `patient_key` is zero for a resource without a patient.
struct PointerRecord {
  Hash32 resource_key{};
  Hash32 patient_key{};
  std::uint64_t version = 0;
  Hash32 content_hash{};  // kTombstone for a FHIR delete
  Hash32 policy_hash{};
  Hash32 mapping_hash{};
  std::string region;
  std::string key_id;

  friend bool operator==(const PointerRecord&, const PointerRecord&) = default;
};

// The content hash a delete anchors: all ones, which no blob hashes to.
inline constexpr Hash32 kTombstone = [] {
  Hash32 h{};
  for (auto& b : h) b = 0xff;
  return h;
}();

inline constexpr std::string_view kPointerTuple =
    "(bytes32,bytes32,uint64,bytes32,bytes32,bytes32,bytes16,bytes32)";
inline constexpr std::string_view kAnchoredEvent =
    "Anchored(bytes32,bytes32,uint64,bytes32,bytes16,bytes32)";
inline constexpr std::string_view kBatchAnchoredEvent = "BatchAnchored(bytes32,bytes32,uint32)";
inline constexpr std::string_view kAnchorConflictEvent =
    "AnchorConflict(bytes32,uint64,bytes32,bytes32)";
inline constexpr std::string_view kRootAnchoredEvent = "RootAnchored(bytes32,uint32)";
inline constexpr std::string_view kParticipantChangedEvent =
    "ParticipantChanged(address,bytes8,bool)";
inline constexpr std::string_view kGrantChangedEvent =
    "GrantChanged(bytes32,address,bytes32,uint64)";

// The pointer's ABI words in struct order; kInvalidInput when region or key id do not fit.
Result<std::vector<abi::Word>> pointer_words(const PointerRecord& pointer);
// The Merkle leaf of a pointer: keccak256(0x00 || abi.encode(pointer)), as the contract's
// pointerLeaf computes it.
Result<Hash32> pointer_leaf(const PointerRecord& pointer);
// The pointers a transaction's logs anchored, in order: each Anchored event completed with the
// policy and mapping hashes of the BatchAnchored event that closes its batch. Logs of other
// events and contracts are skipped; kInvalidInput for a malformed Anchored or BatchAnchored
// log or Anchored events without their BatchAnchored.
Result<std::vector<PointerRecord>> decode_anchored(std::span<const LogEntry> logs);

// A pointer the contract refused because its version is anchored with another content hash.
struct AnchorConflict {
  Hash32 resource_key{};
  std::uint64_t version = 0;
  Hash32 existing{};  // what the chain keeps
  Hash32 offered{};   // what this transaction brought

  friend bool operator==(const AnchorConflict&, const AnchorConflict&) = default;
};
// The AnchorConflict events among a transaction's logs, in order (other logs are skipped);
// kInvalidInput for a malformed one.
Result<std::vector<AnchorConflict>> decode_conflicts(std::span<const LogEntry> logs);

// A Merkle root as anchored: the block it went into and the number of leaves under it.
struct RootInfo {
  std::uint64_t block_number = 0;
  std::uint32_t leaf_count = 0;
};

// Gas of anchoring transactions. A transaction whose gas limit is above the block gas limit
// is refused outright, so a batch too large for one transaction is split into several.
//
// The most gas one transaction may ask for on any chain: EIP-7825 (Osaka) caps it at 2^24
// whatever the block takes. Chains without that rule take more, but staying under it everywhere
// costs only a few more transactions for very large batches.
inline constexpr std::uint64_t kMaxTransactionGas = std::uint64_t{1} << 24;
// The share of the latest block gas limit one anchoring transaction may ask for, in percent.
// Not all of it: a transaction that needs a whole block waits for an empty one, other writers
// and replicas share the blocks, and proof-of-stake chains move the limit by up to 1/1024 a
// block, so a limit read a moment ago may be a little lower when the transaction arrives.
inline constexpr std::uint64_t kBlockGasSharePercent = 90;
// The gas limit an anchoring transaction may have on a chain whose latest block gas limit is
// `block_gas_limit`: kBlockGasSharePercent of it, never above kMaxTransactionGas.
std::uint64_t transaction_gas_cap(std::uint64_t block_gas_limit);
// The gas limit of an anchorBatch of `pointers` pointers under
// PointerRegistry::use_gas_bound_for_anchors, and the most pointers one anchorBatch may carry
// under a gas cap (0 when not even one fits). An estimated limit (without the bound) is lower.
std::uint64_t anchor_batch_gas(std::size_t pointers);
std::size_t anchor_batch_capacity(std::uint64_t gas_cap);
// The gas limit of an anchorRoot under the bound, whatever the size of the tree.
inline constexpr std::uint64_t kAnchorRootGas = 90000;

// Which transaction type to send: legacy (EIP-155), which every EVM chain takes, or EIP-1559
// with maxFee = 2 * base fee + priority fee (0 on a zero-gas permissioned network).
enum class TxType { kLegacy, kEip1559 };

// How fees are offered and raised. An EIP-1559 transaction offers the node's suggested tip
// (eth_maxPriorityFeePerGas) and maxFeePerGas = 2 * the next block's base fee (eth_feeHistory)
// + tip: room for the base fee to rise for a few full blocks. A legacy one pays eth_gasPrice.
// On a chain whose base fee moves (a real pool, not anvil's automine), a transaction can still
// fall behind it; wait_for_receipt then sends it again with the same nonce and fees raised.
struct FeePolicy {
  // The most wei per gas any of our transactions may offer (maxFeePerGas, or a legacy gas
  // price), replacements included: a bound on what a fee spike can cost. nullopt: none.
  std::optional<std::uint64_t> max_fee_per_gas_wei;
  // A transaction still pending this many blocks after wait_for_receipt first saw it pending
  // is replaced (same nonce, fees raised by at least 10%, geth's and Besu's replacement rule,
  // or to the current estimate if that is higher). 0: never replace.
  std::uint64_t replace_after_blocks = 3;
};
// The fees of a replacement: each of `tip` and `max_fee` raised by more than 10% (at least 1
// wei), or to `fresh_tip`/`fresh_max_fee` when higher; nothing above `ceiling`, and the tip never
// above the fee cap. A result that is not strictly higher than `max_fee` cannot replace.
struct Fees {
  std::uint64_t tip = 0;      // maxPriorityFeePerGas (unused for legacy)
  std::uint64_t max_fee = 0;  // maxFeePerGas, or the gas price of a legacy transaction
  friend bool operator==(const Fees&, const Fees&) = default;
};
Fees bumped_fees(const Fees& sent, const Fees& fresh, std::optional<std::uint64_t> ceiling);

class PointerRegistry {
 public:
  PointerRegistry(JsonRpcClient& rpc, const Signer& signer, std::uint64_t chain_id,
                  Address contract, TxType tx_type = TxType::kLegacy);

  // Deploys the embedded contract from `signer`'s account and waits for it to be mined.
  static Result<Address> deploy(JsonRpcClient& rpc, const Signer& signer, std::uint64_t chain_id,
                                std::chrono::milliseconds timeout);

  // Sends one anchorBatch transaction; returns its hash. All pointers must share one policy
  // hash and one mapping hash (kInvalidInput otherwise): the contract takes them once.
  // kPermissionDenied when the node refuses it (not a writer, no funds, an erased patient),
  // kInvalidInput (is_gas_limit_error) when its gas limit is more than the chain takes: the
  // caller sizes batches with anchor_batch_capacity. kUnavailable when the node is unreachable.
  Result<Hash32> anchor_batch(std::span<const PointerRecord> pointers);
  // Sends one anchorRoot transaction for a Merkle tree of `leaf_count` pointers.
  Result<Hash32> anchor_root(const Hash32& root, std::uint32_t leaf_count);
  // Where a root was anchored, if it was.
  Result<std::optional<RootInfo>> root_info(const Hash32& root);
  // The transaction (and block) whose RootAnchored event anchored a root, if any.
  Result<std::optional<std::pair<Hash32, std::uint64_t>>> root_anchoring_tx(const Hash32& root);
  // The contract's own inclusion check (verifyInclusion), a second opinion to merkle::root_of.
  Result<bool> verify_inclusion(const PointerRecord& pointer, std::uint32_t index,
                                std::span<const Hash32> proof, const Hash32& root);
  // For each patient key, whether it is erased (one call for a whole batch).
  Result<std::vector<bool>> erased_among(std::span<const Hash32> patient_keys);

  // Polls until mined and `confirmations` blocks deep (head - block + 1 >= confirmations);
  // kPermissionDenied if it reverted, kUnavailable on timeout. A transaction of this registry
  // that stays pending for FeePolicy::replace_after_blocks blocks is replaced with higher fees
  // (same nonce): the receipt is then the replacement's (its tx_hash differs from `tx_hash`).
  // One that cannot be raised further (the ceiling) and times out says so in the error.
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

  // The content hash anchored in storage for one version (zero if none).
  Result<Hash32> content_hash_of(const Hash32& resource_key, std::uint64_t version);
  // Every pointer-mode version of a resource key as its Anchored events tell it, in order.
  Result<std::vector<PointerRecord>> anchored_versions(const Hash32& resource_key);
  // The transaction (and block) whose Anchored event anchored this exact pointer, if any: for
  // a batch re-sent after a crash, whose own transaction anchored nothing new.
  Result<std::optional<std::pair<Hash32, std::uint64_t>>> anchoring_tx(const Hash32& resource_key,
                                                                       std::uint64_t version,
                                                                       const Hash32& content_hash);
  // Participants as registered now (from ParticipantChanged events and the current state).
  struct ParticipantState {
    Address address{};
    std::string jurisdiction;
    bool active = false;
  };
  Result<std::vector<ParticipantState>> participants();
  // One participant's state (one call); jurisdiction "" when it was never registered.
  Result<ParticipantState> participant(const Address& address);
  Result<Address> admin();

  // The latest anchored (version, content hash) of a resource key, if any.
  Result<std::optional<std::pair<std::uint64_t, Hash32>>> latest(const Hash32& resource_key);

  const Address& contract() const { return contract_; }

  // Anchoring transactions normally get their gas from eth_estimateGas, which runs each one an
  // extra time on the node and names a revert (NotWriter, PatientIsErased) before sending. With
  // a bound, they get a gas limit computed from the contract's dearest path instead: a third of
  // the node's work per batch. For callers that checked the account's role at start (the
  // gateway does); a revert then shows only in the receipt. Unused gas is not charged.
  void use_gas_bound_for_anchors(bool on) { bounded_anchor_gas_ = on; }

  void set_fee_policy(const FeePolicy& policy) { fee_policy_ = policy; }
  // Test hook: the next transaction offers exactly `max_fee_wei` (tip at most that), as if the
  // base fee had jumped right after it was priced, so that replacement can be tested.
  void offer_next_max_fee_for_testing(std::uint64_t max_fee_wei) {
    next_max_fee_override_ = max_fee_wei;
  }

 private:
  // What is needed to send a transaction again with the same nonce, and every hash it was sent
  // under (the first, then each replacement; any of them may be the one mined).
  struct InFlight {
    std::uint64_t nonce = 0;
    std::uint64_t gas_limit = 0;
    std::optional<Address> to;
    Bytes data;
    Fees fees;
    std::vector<Hash32> hashes;
    std::optional<std::uint64_t> pending_since_block;  // head when last seen pending, unreplaced
  };
  // The fees a transaction would offer now (the ceiling applied).
  Result<Fees> current_fees();
  Result<SignedTransaction> sign_with(const InFlight& tx);
  // Called while none of `tx.hashes` is mined: replaces it when it has waited long enough.
  // Returns a note for the timeout error when it is stuck (at the ceiling, refused).
  std::optional<std::string> replace_if_stuck(InFlight& tx);
  Result<TxReceipt> await(const Hash32& tx_hash, std::uint64_t confirmations,
                          std::chrono::milliseconds timeout);

  Result<Hash32> send(const std::optional<Address>& to, const Bytes& data,
                      std::optional<std::uint64_t> gas_limit = std::nullopt);
  JsonRpcClient& rpc_;
  const Signer& signer_;
  std::uint64_t chain_id_;
  Address contract_;
  TxType tx_type_;
  std::optional<std::uint64_t> next_nonce_;
  bool bounded_anchor_gas_ = false;
  FeePolicy fee_policy_;
  std::optional<std::uint64_t> next_max_fee_override_;
  // Sent and not yet awaited, by hash; an entry leaves when wait_for_receipt returns. Bounded
  // (kMaxInFlight): a caller that never waits loses only the ability to replace the oldest.
  std::map<Hash32, InFlight> in_flight_;  // by the first hash
};

}  // namespace fl::ledger
