// The readiness probe "ledger": the EVM node answers eth_blockNumber within the timeout.
#pragma once

#include "fl/ports/dependency_probe.h"

#include <memory>
#include <string>

namespace fl::evm {

std::unique_ptr<ports::DependencyProbe> make_node_probe(std::string rpc_url);

}  // namespace fl::evm
