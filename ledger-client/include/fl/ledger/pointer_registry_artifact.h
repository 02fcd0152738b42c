// The compiled PointerRegistry contract, embedded at build time by scripts/compile-contract.js
// (solc-js, evmVersion pinned to shanghai) from contracts/PointerRegistry.sol.
#pragma once

#include <string_view>

namespace fl::ledger {

extern const std::string_view kPointerRegistryBytecode;  // creation code, hex without 0x
extern const std::string_view kPointerRegistryAbi;       // JSON
extern const std::string_view kPointerRegistryCompilerVersion;

}  // namespace fl::ledger
