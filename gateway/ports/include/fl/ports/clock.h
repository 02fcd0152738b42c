// Time as a port, so timeouts and rates can be tested without sleeping.
#pragma once

#include <chrono>

namespace fl::ports {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace fl::ports
