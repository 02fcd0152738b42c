// Values that cross the ports: where an event came from, and the byte type. Kept tiny so
// that adapters and fakes share one vocabulary and no library type leaks through a port.
#pragma once

#include "fl/base/bytes.h"

#include <cstdint>
#include <string>

namespace fl::ports {

using Bytes = fl::Bytes;

// The coordinates of a Kafka message: enough to find it again, never its content.
struct Origin {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;

  friend bool operator==(const Origin&, const Origin&) = default;
};

}  // namespace fl::ports
