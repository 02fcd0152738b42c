// Ethereum transactions, built and signed locally. Legacy transactions are signed with EIP-155
// replay protection (v = recovery id + 35 + 2 * chain id); this is what both anvil and a
// zero-gas-price Besu network accept. EIP-1559 (type 2) comes with the ledger issue.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/ledger/keccak.h"
#include "fl/ledger/signer.h"

#include <cstdint>
#include <optional>

namespace fl::ledger {

struct LegacyTransaction {
  std::uint64_t nonce = 0;
  Bytes gas_price;  // big-endian, any size (wei)
  std::uint64_t gas_limit = 0;
  std::optional<Address> to;  // empty: contract creation
  Bytes value;                // big-endian wei
  Bytes data;
};

struct SignedTransaction {
  Bytes raw;      // what eth_sendRawTransaction takes
  Hash32 hash{};  // keccak256(raw)
};

// RLP of [nonce, gasPrice, gas, to, value, data, chainId, 0, 0]: the EIP-155 signing payload.
Bytes signing_payload(const LegacyTransaction& tx, std::uint64_t chain_id);

Result<SignedTransaction> sign(const LegacyTransaction& tx, std::uint64_t chain_id,
                               const Signer& signer);

struct DecodedTransaction {
  LegacyTransaction tx;
  std::optional<std::uint64_t> chain_id;  // absent for pre-EIP-155 (v = 27/28)
  Address sender{};
};

// Decodes a raw legacy transaction and recovers its sender; kInvalidInput for malformed input.
Result<DecodedTransaction> decode_legacy(ByteView raw);

Bytes big_endian(std::uint64_t value);  // minimal big-endian bytes, empty for 0

}  // namespace fl::ledger
