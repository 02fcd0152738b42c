#include "fl/ledger/transaction.h"

#include "fl/ledger/rlp.h"

#include <algorithm>

namespace fl::ledger {
namespace {

std::vector<Bytes> body(const LegacyTransaction& tx) {
  return {rlp::encode_uint(tx.nonce),     rlp::encode_big_uint(tx.gas_price),
          rlp::encode_uint(tx.gas_limit), tx.to ? rlp::encode_bytes(*tx.to) : rlp::encode_bytes({}),
          rlp::encode_big_uint(tx.value), rlp::encode_bytes(tx.data)};
}

Error invalid(const std::string& what) {
  return Error{ErrorCode::kInvalidInput, "transaction: " + what, "tx"};
}

// RLP integers are canonical: no leading zero byte, at most 8 bytes for a uint64 field.
Result<std::uint64_t> to_uint64(const rlp::Item& item, const char* field) {
  if (item.is_list) return invalid(std::string(field) + " is a list");
  if (item.bytes.size() > 8) return invalid(std::string(field) + " overflows 64 bits");
  if (!item.bytes.empty() && item.bytes[0] == 0) {
    return invalid(std::string(field) + " has a leading zero");
  }
  std::uint64_t v = 0;
  for (auto b : item.bytes) v = (v << 8) | b;
  return v;
}

Result<Bytes> to_big(const rlp::Item& item, const char* field, std::size_t max_bytes) {
  if (item.is_list) return invalid(std::string(field) + " is a list");
  if (item.bytes.size() > max_bytes) return invalid(std::string(field) + " is too large");
  if (!item.bytes.empty() && item.bytes[0] == 0) {
    return invalid(std::string(field) + " has a leading zero");
  }
  return item.bytes;
}

// Half the secp256k1 group order: EIP-2 refuses signatures whose s is above it.
constexpr Hash32 kHalfOrder = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                               0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

Hash32 to_word(const Bytes& be) {
  Hash32 out{};
  std::copy(be.begin(), be.end(), out.begin() + static_cast<std::ptrdiff_t>(32 - be.size()));
  return out;
}

}  // namespace

Bytes big_endian(std::uint64_t value) {
  Bytes out;
  for (std::uint64_t v = value; v > 0; v >>= 8) {
    out.insert(out.begin(), static_cast<std::uint8_t>(v));
  }
  return out;
}

Bytes signing_payload(const LegacyTransaction& tx, std::uint64_t chain_id) {
  auto items = body(tx);
  items.push_back(rlp::encode_uint(chain_id));
  items.push_back(rlp::encode_uint(0));
  items.push_back(rlp::encode_uint(0));
  return rlp::encode_list(items);
}

Result<SignedTransaction> sign(const LegacyTransaction& tx, std::uint64_t chain_id,
                               const Signer& signer) {
  const Hash32 digest = keccak256(signing_payload(tx, chain_id));
  auto signature = signer.sign(digest);
  if (!signature) return signature.error();
  auto items = body(tx);
  items.push_back(
      rlp::encode_uint(static_cast<std::uint64_t>(signature->recovery_id) + 35 + 2 * chain_id));
  items.push_back(rlp::encode_big_uint(signature->r));
  items.push_back(rlp::encode_big_uint(signature->s));
  SignedTransaction out;
  out.raw = rlp::encode_list(items);
  out.hash = keccak256(out.raw);
  return out;
}

Result<DecodedTransaction> decode_legacy(ByteView raw) {
  auto item = rlp::decode(raw);
  if (!item) return item.error();
  if (!item->is_list || item->items.size() != 9) return invalid("expected a list of 9 fields");
  const auto& f = item->items;
  DecodedTransaction out;
  auto nonce = to_uint64(f[0], "nonce");
  if (!nonce) return nonce.error();
  // EIP-2681: the nonce must stay below 2^64 - 1 so that it can still be incremented.
  if (*nonce == UINT64_MAX) return invalid("nonce must be below 2^64 - 1 (EIP-2681)");
  out.tx.nonce = *nonce;
  auto gas_price = to_big(f[1], "gasPrice", 32);
  if (!gas_price) return gas_price.error();
  out.tx.gas_price = *gas_price;
  auto gas = to_uint64(f[2], "gasLimit");
  if (!gas) return gas.error();
  out.tx.gas_limit = *gas;
  if (f[3].is_list) return invalid("to is a list");
  if (f[3].bytes.size() == 20) {
    Address to;
    std::copy(f[3].bytes.begin(), f[3].bytes.end(), to.begin());
    out.tx.to = to;
  } else if (!f[3].bytes.empty()) {
    return invalid("to must be 20 bytes or empty");
  }
  auto value = to_big(f[4], "value", 32);
  if (!value) return value.error();
  out.tx.value = *value;
  if (f[5].is_list) return invalid("data is a list");
  out.tx.data = f[5].bytes;
  auto v = to_uint64(f[6], "v");
  if (!v) return v.error();
  auto r = to_big(f[7], "r", 32);
  if (!r) return r.error();
  auto s = to_big(f[8], "s", 32);
  if (!s) return s.error();
  if (r->empty() || s->empty()) return invalid("r and s must not be zero");

  Signature sig{.r = to_word(*r), .s = to_word(*s)};
  Bytes payload;
  if (*v == 27 || *v == 28) {
    sig.recovery_id = static_cast<int>(*v - 27);
    std::vector<Bytes> items = body(out.tx);
    payload = rlp::encode_list(items);
  } else if (*v >= 35) {
    out.chain_id = (*v - 35) / 2;
    sig.recovery_id = static_cast<int>((*v - 35) % 2);
    payload = signing_payload(out.tx, *out.chain_id);
  } else {
    return invalid("v is neither 27/28 nor EIP-155");
  }
  if (sig.s > kHalfOrder) return invalid("s is not in the lower half of the curve order (EIP-2)");
  auto sender = recover_address(keccak256(payload), sig);
  if (!sender) return invalid("signature does not recover a sender");
  out.sender = *sender;
  return out;
}

namespace {

std::vector<Bytes> eip1559_body(const Eip1559Transaction& tx) {
  return {rlp::encode_uint(tx.chain_id),
          rlp::encode_uint(tx.nonce),
          rlp::encode_big_uint(tx.max_priority_fee_per_gas),
          rlp::encode_big_uint(tx.max_fee_per_gas),
          rlp::encode_uint(tx.gas_limit),
          tx.to ? rlp::encode_bytes(*tx.to) : rlp::encode_bytes({}),
          rlp::encode_big_uint(tx.value),
          rlp::encode_bytes(tx.data),
          rlp::encode_list({})};  // empty access list
}

Bytes typed(std::uint8_t type, const Bytes& payload) {
  Bytes out(payload.size() + 1);
  out[0] = type;
  std::copy(payload.begin(), payload.end(), out.begin() + 1);
  return out;
}

// [[address(20), [storageKey(32), ...]], ...]; re-encoded for the signing payload.
Result<Bytes> checked_access_list(const rlp::Item& list) {
  if (!list.is_list) return invalid("access list is not a list");
  std::vector<Bytes> entries;
  for (const auto& entry : list.items) {
    if (!entry.is_list || entry.items.size() != 2) return invalid("access list entry malformed");
    const auto& address = entry.items[0];
    const auto& keys = entry.items[1];
    if (address.is_list || address.bytes.size() != 20) {
      return invalid("access list address must be 20 bytes");
    }
    if (!keys.is_list) return invalid("access list storage keys are not a list");
    std::vector<Bytes> encoded_keys;
    for (const auto& key : keys.items) {
      if (key.is_list || key.bytes.size() != 32) {
        return invalid("access list storage key must be 32 bytes");
      }
      encoded_keys.push_back(rlp::encode_bytes(key.bytes));
    }
    entries.push_back(
        rlp::encode_list({rlp::encode_bytes(address.bytes), rlp::encode_list(encoded_keys)}));
  }
  return rlp::encode_list(entries);
}

}  // namespace

Bytes signing_payload(const Eip1559Transaction& tx) {
  return typed(0x02, rlp::encode_list(eip1559_body(tx)));
}

Result<SignedTransaction> sign(const Eip1559Transaction& tx, const Signer& signer) {
  auto signature = signer.sign(keccak256(signing_payload(tx)));
  if (!signature) return signature.error();
  auto items = eip1559_body(tx);
  items.push_back(rlp::encode_uint(static_cast<std::uint64_t>(signature->recovery_id)));
  items.push_back(rlp::encode_big_uint(signature->r));
  items.push_back(rlp::encode_big_uint(signature->s));
  SignedTransaction out;
  out.raw = typed(0x02, rlp::encode_list(items));
  out.hash = keccak256(out.raw);
  return out;
}

Result<DecodedEip1559Transaction> decode_eip1559(ByteView raw) {
  if (raw.empty() || raw[0] != 0x02) return invalid("not a type-2 transaction");
  auto item = rlp::decode(raw.subspan(1));
  if (!item) return item.error();
  if (!item->is_list || item->items.size() != 12) return invalid("expected a list of 12 fields");
  const auto& f = item->items;
  DecodedEip1559Transaction out;
  auto& tx = out.tx;
  auto chain_id = to_uint64(f[0], "chainId");
  if (!chain_id) return chain_id.error();
  tx.chain_id = *chain_id;
  auto nonce = to_uint64(f[1], "nonce");
  if (!nonce) return nonce.error();
  if (*nonce == UINT64_MAX) return invalid("nonce must be below 2^64 - 1 (EIP-2681)");
  tx.nonce = *nonce;
  auto priority = to_big(f[2], "maxPriorityFeePerGas", 32);
  if (!priority) return priority.error();
  tx.max_priority_fee_per_gas = *priority;
  auto max_fee = to_big(f[3], "maxFeePerGas", 32);
  if (!max_fee) return max_fee.error();
  tx.max_fee_per_gas = *max_fee;
  // Both are canonical (no leading zeros), so a longer one is larger.
  if (std::make_pair(priority->size(), *priority) > std::make_pair(max_fee->size(), *max_fee)) {
    return invalid("maxPriorityFeePerGas exceeds maxFeePerGas");
  }
  auto gas = to_uint64(f[4], "gasLimit");
  if (!gas) return gas.error();
  tx.gas_limit = *gas;
  if (f[5].is_list || (!f[5].bytes.empty() && f[5].bytes.size() != 20)) {
    return invalid("to must be 20 bytes or empty");
  }
  if (!f[5].bytes.empty()) {
    Address to;
    std::copy(f[5].bytes.begin(), f[5].bytes.end(), to.begin());
    tx.to = to;
  }
  auto value = to_big(f[6], "value", 32);
  if (!value) return value.error();
  tx.value = *value;
  if (f[7].is_list) return invalid("data is a list");
  tx.data = f[7].bytes;
  auto access_list = checked_access_list(f[8]);
  if (!access_list) return access_list.error();
  auto parity = to_uint64(f[9], "yParity");
  if (!parity) return parity.error();
  if (*parity > 1) return invalid("yParity must be 0 or 1");
  auto r = to_big(f[10], "r", 32);
  if (!r) return r.error();
  auto s = to_big(f[11], "s", 32);
  if (!s) return s.error();
  if (r->empty() || s->empty()) return invalid("r and s must not be zero");

  // The signed payload is the first nine fields exactly as sent (access list included).
  std::vector<Bytes> fields = eip1559_body(tx);
  fields[8] = *access_list;
  const Bytes payload = typed(0x02, rlp::encode_list(fields));
  const Signature sig{.r = to_word(*r), .s = to_word(*s), .recovery_id = static_cast<int>(*parity)};
  if (sig.s > kHalfOrder) return invalid("s is not in the lower half of the curve order (EIP-2)");
  auto sender = recover_address(keccak256(payload), sig);
  if (!sender) return invalid("signature does not recover a sender");
  out.sender = *sender;
  return out;
}

}  // namespace fl::ledger
