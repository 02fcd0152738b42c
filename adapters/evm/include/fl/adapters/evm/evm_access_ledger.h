// The access side of the ledger (ports/access_ledger.h) over the PointerRegistry contract:
// participant registrations and canRead. Read-only; one thread per instance, like the registry.
#pragma once

#include "fl/ledger/pointer_registry.h"
#include "fl/ports/access_ledger.h"

#include <memory>

namespace fl::evm {

// `registry` outlives the access ledger.
std::unique_ptr<ports::AccessLedger> make_access_ledger(ledger::PointerRegistry& registry);

}  // namespace fl::evm
