#include "fl/adapters/evm/evm_access_ledger.h"

namespace fl::evm {
namespace {

class EvmAccessLedger final : public ports::AccessLedger {
 public:
  explicit EvmAccessLedger(ledger::PointerRegistry& registry) : registry_(registry) {}

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

 private:
  ledger::PointerRegistry& registry_;
};

}  // namespace

std::unique_ptr<ports::AccessLedger> make_access_ledger(ledger::PointerRegistry& registry) {
  return std::make_unique<EvmAccessLedger>(registry);
}

}  // namespace fl::evm
