// Distinct 32-byte keys (resource keys, patient keys, policy hashes) for tests that need many:
// the domain in the first byte, so keys of different kinds never collide, and n in the next two.
#pragma once

#include "fl/ports/types.h"

#include <cstddef>
#include <cstdint>

namespace fl::testing {

inline ports::Hash32 numbered_hash(std::uint8_t domain, std::size_t n) {
  ports::Hash32 out{};
  out[0] = domain;
  out[1] = static_cast<std::uint8_t>(n >> 8);
  out[2] = static_cast<std::uint8_t>(n);
  return out;
}

}  // namespace fl::testing
