// Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not FIPS-202 SHA3-256's 0x06,
// which OpenSSL 3.0 provides and which gives different digests). Pure function, any thread.
#pragma once

#include "fl/base/bytes.h"

#include <array>
#include <cstdint>

namespace fl::ledger {

using Hash32 = std::array<std::uint8_t, 32>;

Hash32 keccak256(ByteView data);

}  // namespace fl::ledger
