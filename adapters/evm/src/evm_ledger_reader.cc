#include "fl/adapters/evm/evm_ledger_reader.h"

#include "fl/ledger/merkle.h"

#include <algorithm>

namespace fl::evm {
namespace {

class EvmLedgerReader final : public ports::LedgerReader {
 public:
  explicit EvmLedgerReader(ledger::PointerRegistry& registry) : registry_(registry) {}

  Result<ports::Hash32> content_hash_of(const ports::Hash32& resource_key,
                                        std::uint64_t version) override {
    return registry_.content_hash_of(resource_key, version);
  }

  Result<bool> anchored_with(const ports::Pointer& pointer) override {
    auto events = registry_.anchored_versions(pointer.resource_key);
    if (!events) return events.error();
    const auto wanted = to_ledger_record(pointer);
    return std::any_of(events->begin(), events->end(),
                       [&](const ledger::PointerRecord& e) { return e == wanted; });
  }

  Result<ports::Hash32> proof_root(const ports::Pointer& pointer,
                                   const ports::InclusionProof& proof) override {
    auto leaf = ledger::pointer_leaf(to_ledger_record(pointer));
    if (!leaf) {
      return Error{ErrorCode::kInvalidInput,
                   "the pointer record cannot be a leaf: " + leaf.error().message, ""};
    }
    const ledger::merkle::Proof merkle_proof{
        .index = proof.index, .leaf_count = proof.leaf_count, .siblings = proof.siblings};
    auto root = ledger::merkle::root_of(*leaf, merkle_proof);
    if (!root) return Error{ErrorCode::kInvalidInput, root.error().message, root.error().where};
    return *root;
  }

  Result<std::optional<ports::AnchoredRoot>> anchored_root(const ports::Hash32& root) override {
    auto info = registry_.root_info(root);
    if (!info) return info.error();
    if (!info->has_value()) return std::optional<ports::AnchoredRoot>{};
    return std::optional<ports::AnchoredRoot>(
        ports::AnchoredRoot{.block = (*info)->block_number, .leaf_count = (*info)->leaf_count});
  }

  Result<bool> contract_verifies(const ports::Pointer& pointer,
                                 const ports::InclusionProof& proof) override {
    return registry_.verify_inclusion(to_ledger_record(pointer), proof.index, proof.siblings,
                                      proof.root);
  }

 private:
  ledger::PointerRegistry& registry_;
};

}  // namespace

ledger::PointerRecord to_ledger_record(const ports::Pointer& p) {
  return {.resource_key = p.resource_key,
          .patient_key = p.patient_key,
          .version = p.version,
          .content_hash = p.content_hash,
          .policy_hash = p.policy_hash,
          .mapping_hash = p.mapping_hash,
          .region = p.region,
          .key_id = p.key_id};
}

std::unique_ptr<ports::LedgerReader> make_ledger_reader(ledger::PointerRegistry& registry) {
  return std::make_unique<EvmLedgerReader>(registry);
}

}  // namespace fl::evm
