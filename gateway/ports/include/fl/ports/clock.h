// Time as a port: the steady clock for timeouts, backoffs and rates, the wall clock for what is
// recorded (AuditEvent.recorded, directory timestamps), and sleeping, so the core is tested with
// a simulated clock instead of waiting. Nothing in the core reads std::time, system_clock or
// sleeps on its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

namespace fl::ports {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() const = 0;
  virtual std::chrono::system_clock::time_point wall() const = 0;
  // Waits `d` (a backoff, a poll interval); a simulated clock moves on by `d` instead.
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
};

class SteadyClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::now();
  }
  void sleep_for(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
};

// The process's real clock, for owners that are not given one.
inline Clock& real_clock() {
  static SteadyClock clock;
  return clock;
}

// Unix seconds of a wall time.
inline std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace fl::ports
