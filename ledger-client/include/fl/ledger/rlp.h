// Recursive Length Prefix, Ethereum's serialization for transactions. Encoding takes byte
// strings, unsigned integers (big-endian, no leading zeros) and lists of already encoded items;
// decoding is strict (canonical lengths only, as the yellow paper requires) and is used to read
// transactions back. Pure functions.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"

#include <cstdint>
#include <vector>

namespace fl::ledger::rlp {

Bytes encode_bytes(ByteView bytes);
Bytes encode_uint(std::uint64_t value);
// A big-endian unsigned integer of any size (e.g. uint256); leading zeros are dropped.
Bytes encode_big_uint(ByteView big_endian);
Bytes encode_list(const std::vector<Bytes>& encoded_items);

struct Item {
  bool is_list = false;
  Bytes bytes;              // when !is_list
  std::vector<Item> items;  // when is_list
};

// The whole input must be exactly one item.
Result<Item> decode(ByteView encoded);

}  // namespace fl::ledger::rlp
