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
  // EIP-2: signatures with s in the upper half of the curve order are invalid.
  static constexpr Hash32 kHalfOrder = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d,
                                        0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};
  if (sig.s > kHalfOrder) return invalid("s is not in the lower half of the curve order (EIP-2)");
  auto sender = recover_address(keccak256(payload), sig);
  if (!sender) return invalid("signature does not recover a sender");
  out.sender = *sender;
  return out;
}

}  // namespace fl::ledger
