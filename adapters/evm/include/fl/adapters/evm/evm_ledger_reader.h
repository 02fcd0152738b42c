// The ledger, read-only (ports/ledger_reader.h), over the PointerRegistry contract: storage,
// Anchored and RootAnchored events, verifyInclusion, and merkle mode's leaf and root arithmetic
// (ledger-client's merkle.h). Used by the verify service; holds no signing key of its own
// beyond the registry's.
#pragma once

#include "fl/ledger/pointer_registry.h"
#include "fl/ports/ledger_reader.h"

#include <memory>

namespace fl::evm {

// The contract's view of a gateway pointer (the same fields; the mode is not on chain).
ledger::PointerRecord to_ledger_record(const ports::Pointer& pointer);

// `registry` outlives the reader.
std::unique_ptr<ports::LedgerReader> make_ledger_reader(ledger::PointerRegistry& registry);

}  // namespace fl::evm
