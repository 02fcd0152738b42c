#include "fl/adapters/evm/evm_access_ledger.h"

namespace fl::evm {
namespace {

class EvmAccessLedger final : public ports::AccessLedger {
 public:
  EvmAccessLedger(ledger::PointerRegistry& registry, std::uint64_t confirmations,
                  std::chrono::milliseconds timeout)
      : registry_(registry), confirmations_(confirmations), timeout_(timeout) {}

  Result<ports::ParticipantState> participant(const ports::Address& who) override {
    auto state = registry_.participant(who);
    if (!state) return state.error();
    return ports::ParticipantState{.address = ledger::to_checksum_hex(who),
                                   .jurisdiction = state->jurisdiction,
                                   .active = state->active};
  }

  Result<bool> can_read(const ports::Hash32& patient_key, const ports::Address& reader,
                        std::string_view purpose) override {
    return registry_.can_read(patient_key, reader, purpose);
  }

  Result<ports::Hash32> send_grant(const ports::Hash32& patient_key, const ports::Address& grantee,
                                   std::string_view purpose, std::uint64_t expires_at) override {
    return registry_.grant(patient_key, grantee, purpose, expires_at);
  }

  Result<ports::Hash32> send_revoke(const ports::Hash32& patient_key, const ports::Address& grantee,
                                    std::string_view purpose) override {
    return registry_.revoke(patient_key, grantee, purpose);
  }

  Result<ports::Hash32> send_erasure(const ports::Hash32& patient_key) override {
    return registry_.mark_erased(patient_key);
  }

  Result<std::uint64_t> wait_mined(const ports::Hash32& tx) override {
    auto receipt = registry_.wait_for_receipt(tx, confirmations_, timeout_);
    if (!receipt) return receipt.error();
    return receipt->block_number;
  }

 private:
  ledger::PointerRegistry& registry_;
  std::uint64_t confirmations_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<ports::AccessLedger> make_access_ledger(ledger::PointerRegistry& registry,
                                                        std::uint64_t confirmations,
                                                        std::chrono::milliseconds timeout) {
  return std::make_unique<EvmAccessLedger>(registry, confirmations, timeout);
}

}  // namespace fl::evm
