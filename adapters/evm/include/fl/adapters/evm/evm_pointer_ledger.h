// PointerLedger over an EVM node (anvil here, Besu in production), built on ledger-client: one
// anchorBatch transaction per submit, await polls the receipt to the configured depth.
// Pipeline thread only.
#pragma once

#include "fl/base/result.h"
#include "fl/base/secret_bytes.h"
#include "fl/ports/pointer_ledger.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace fl::evm {

struct EvmConfig {
  std::string rpc_url;
  std::string contract_address;  // 0x-hex
  SecretBytes private_key;
  std::uint64_t confirmations = 1;
  std::chrono::milliseconds receipt_timeout{30000};
  bool eip1559 = false;  // send type-2 transactions instead of legacy EIP-155 ones
  // The most wei per gas a transaction may offer, replacements included (nullopt: no ceiling),
  // and how many blocks a transaction may stay pending before it is re-sent with higher fees.
  std::optional<std::uint64_t> max_fee_per_gas_wei;
  std::uint64_t replace_after_blocks = 3;
};

// Checks at start that the node answers and that the address holds contract code.
Result<std::unique_ptr<ports::PointerLedger>> make_pointer_ledger(EvmConfig config);

// Deploys the PointerRegistry from the key's account; returns the 0x-hex (EIP-55) address.
Result<std::string> deploy_pointer_registry(const std::string& rpc_url, SecretBytes private_key);

}  // namespace fl::evm
