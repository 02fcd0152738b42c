// Byte strings and their hex spelling, shared by the crypto, ledger and storage code.
// Hex is lower case; parse_hex accepts an optional 0x prefix and either case.
#pragma once

#include "fl/base/result.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fl {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

std::string to_hex(ByteView bytes);
std::string to_0x_hex(ByteView bytes);
// Appends "0x" and the digits to `out`, without a string of their own.
void append_0x_hex(std::string& out, ByteView bytes);
Result<Bytes> parse_hex(std::string_view text);

inline ByteView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline std::string_view as_chars(ByteView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace fl
