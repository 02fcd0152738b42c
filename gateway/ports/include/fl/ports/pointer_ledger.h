// The ledger as the pipeline sees it: anchor a batch of pointers and wait for the anchoring to
// be confirmed. adapters/evm implements it on ledger-client. Two modes per pointer: `kPointer`
// keeps each pointer in contract storage; `kMerkle` anchors only the root of a Merkle tree over
// the batch's merkle-mode pointers and hands back each one's inclusion proof, which the pipeline
// keeps with its receipt and beside its blob. Anchors are idempotent on chain, which is what
// makes re-delivery after a crash safe. Pipeline thread only.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/types.h"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fl::ports {

using Hash32 = std::array<std::uint8_t, 32>;

enum class AnchorMode { kPointer, kMerkle };

// What goes on chain: no PHI, no FHIR id.
struct Pointer {
  Hash32 resource_key{};  // HMAC-SHA256(pepper, "Type/id")
  Hash32 patient_key{};   // HMAC-SHA256(pepper, "patient:Patient/id"); zero without a patient
  std::uint64_t version = 0;
  Hash32 content_hash{};  // SHA-256 of the ciphertext; all ones for a delete (tombstone)
  Hash32 policy_hash{};   // SHA-256 of the canonical policy bundle that decided
  Hash32 mapping_hash{};  // SHA-256 of the canonical mapping set that normalized it
  std::string region;     // storage region of the blob (1-16 characters)
  std::string key_id;     // the key the blob is sealed under (1-32 characters)
  AnchorMode mode = AnchorMode::kPointer;
};

struct InclusionProof {
  Hash32 root{};
  std::uint32_t index = 0;
  std::uint32_t leaf_count = 0;
  std::vector<Hash32> siblings;  // bottom up
};

// Where one pointer of a batch went: which of the batch's transactions, and for a merkle-mode
// pointer its proof.
struct Placement {
  std::size_t tx = 0;  // meaningless when `refused`
  std::optional<InclusionProof> proof;
  // Set when the ledger refused the pointer because its version is already anchored with
  // another content hash (the one given here, which the ledger keeps). Storage mode only: a
  // Merkle root cannot know what other roots hold.
  std::optional<Hash32> conflict;
  // Set when the ledger sent nothing for the pointer because no transaction the chain takes can
  // carry it (its block gas limit is too small for even one pointer): why, in a sentence for
  // the user who reads the dead letter. Sending it again would be refused again.
  std::optional<std::string> refused;
};

struct AnchorTicket {
  std::vector<std::string> tx_hashes;  // 0x-hex, one per anchoring transaction
  std::vector<Placement> placements;   // one per pointer, in batch order
  std::vector<Pointer> batch;          // what was sent, for the confirmation to account for
};

struct TxConfirmation {
  std::string tx_hash;  // 0x-hex
  std::uint64_t block = 0;
  std::uint64_t gas_used = 0;
};

struct AnchorConfirmation {
  std::vector<TxConfirmation> transactions;
  std::vector<Placement> placements;  // as in the ticket

  std::uint64_t gas_used() const {
    std::uint64_t total = 0;
    for (const auto& t : transactions) total += t.gas_used;
    return total;
  }
};

// Where a Merkle root went on chain.
struct RootAnchor {
  std::string tx_hash;  // 0x-hex
  std::uint64_t block = 0;
};

// Called by submit() once each merkle-mode pointer's proof is known and before any transaction
// is sent (`tx_hashes` still empty): what it records survives a crash right after the send.
// An error stops submit() with nothing sent.
using BeforeSend = std::function<Status(const AnchorTicket&)>;

class PointerLedger {
 public:
  virtual ~PointerLedger() = default;

  // Sends the transactions that anchor all pointers, as many as the chain's gas limit needs;
  // a pointer none can carry is not sent and its placement says why (`refused`). The same
  // merkle-mode pointers in the same order always make the same root. `before_send` may be
  // empty. kUnavailable: node down, retry later.
  virtual Result<AnchorTicket> submit(std::span<const Pointer> batch,
                                      const BeforeSend& before_send) = 0;

  // The transaction and block that anchored a Merkle root, if one did.
  virtual Result<std::optional<RootAnchor>> root_anchor(const Hash32& root) = 0;

  // The account this ledger sends from (0x-hex). A pending anchor names it, so that whoever
  // picks the anchor up (this gateway after a restart, or another that took its partitions)
  // knows whose transactions to wait for.
  virtual std::string sender() const = 0;

  // Waits until every transaction `account` (0x-hex) had waiting in the node's pool when asked
  // is mined, as far as the node knows: a root that account sent before it crashed or lost its
  // partitions is then on chain or never will be, whichever of its transactions (the one first
  // sent, or one that replaced it with higher fees) carried it. kUnavailable when some still
  // wait after the receipt timeout.
  virtual Status settle(const std::string& account) = 0;

  // Waits until every transaction is mined and has the configured confirmations; refused
  // placements stay as they are.
  // kPermissionDenied when one reverted.
  virtual Result<AnchorConfirmation> await(const AnchorTicket& ticket) = 0;

  // For each resource key, the version anchored last (0 when none): what a delete that names
  // no version (R4 allows it) makes its tombstone follow.
  virtual Result<std::vector<std::uint64_t>> latest_versions(
      std::span<const Hash32> resource_keys) = 0;

  // For each patient key, whether the patient was erased; anchors for them are refused.
  virtual Result<std::vector<bool>> erased(std::span<const Hash32> patient_keys) = 0;
};

}  // namespace fl::ports
