// The access side of the ledger (ports/access_ledger.h) over the PointerRegistry contract:
// participant registrations and canRead. Read-only; one thread per instance, like the registry.
#pragma once

#include "fl/ledger/pointer_registry.h"
#include "fl/ports/access_ledger.h"

#include <chrono>
#include <cstdint>
#include <memory>

namespace fl::evm {

// `registry` outlives the access ledger. Sent transactions are waited for until
// `confirmations` blocks are on top of theirs, for at most `timeout`.
std::unique_ptr<ports::AccessLedger> make_access_ledger(
    ledger::PointerRegistry& registry, std::uint64_t confirmations = 1,
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace fl::evm
