// Ethereum transactions, built and signed locally. Legacy transactions are signed with EIP-155
// replay protection (v = recovery id + 35 + 2 * chain id); EIP-1559 (type 2) transactions carry
// a fee cap and a priority fee and sign 0x02 || rlp(fields). Access lists are decoded and
// checked, but the gateway sends none.
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

struct Eip1559Transaction {
  std::uint64_t chain_id = 0;
  std::uint64_t nonce = 0;
  Bytes max_priority_fee_per_gas;  // big-endian wei
  Bytes max_fee_per_gas;           // big-endian wei
  std::uint64_t gas_limit = 0;
  std::optional<Address> to;
  Bytes value;
  Bytes data;
};

// 0x02 || rlp([chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data, accessList]).
Bytes signing_payload(const Eip1559Transaction& tx);

Result<SignedTransaction> sign(const Eip1559Transaction& tx, const Signer& signer);

struct DecodedEip1559Transaction {
  Eip1559Transaction tx;
  Address sender{};
};

// Decodes a raw type-2 transaction (0x02 || rlp) and recovers its sender.
Result<DecodedEip1559Transaction> decode_eip1559(ByteView raw);

}  // namespace fl::ledger
